// The console's own script: times in the viewer's time zone, copy buttons and the plugin
// drop zone. Everything else is htmx (assets/htmx.min.js) driven by attributes in the pages.
(function () {
  "use strict";
  var format = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "medium" });

  function enhance(root) {
    root.querySelectorAll("time[datetime]").forEach(function (el) {
      var when = new Date(el.getAttribute("datetime"));
      if (!isNaN(when)) {
        el.textContent = format.format(when);
        el.title = el.getAttribute("datetime");
      }
    });
    root.querySelectorAll("[data-copy]").forEach(function (button) {
      if (button.dataset.bound) return;
      button.dataset.bound = "1";
      button.addEventListener("click", function () {
        navigator.clipboard.writeText(button.dataset.copy).then(function () {
          button.textContent = "Copied";
          setTimeout(function () { button.textContent = "Copy"; }, 1500);
        });
      });
    });
    root.querySelectorAll("[data-dropzone]").forEach(function (zone) {
      if (zone.dataset.bound) return;
      zone.dataset.bound = "1";
      var input = zone.querySelector("input[type=file]");
      var name = zone.querySelector("[data-file-name]");
      function show() { if (name) name.textContent = input.files.length ? input.files[0].name : ""; }
      input.addEventListener("change", show);
      zone.addEventListener("dragover", function (e) { e.preventDefault(); zone.classList.add("over"); });
      zone.addEventListener("dragleave", function () { zone.classList.remove("over"); });
      zone.addEventListener("drop", function (e) {
        e.preventDefault();
        zone.classList.remove("over");
        if (e.dataTransfer.files.length) { input.files = e.dataTransfer.files; show(); }
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    enhance(document);
    // Browsers' own time zone, for pages that ask for dates (the job filter).
    document.querySelectorAll("input[name=tz]").forEach(function (el) {
      el.value = Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
    });
    if (window.htmx) {
      htmx.onLoad(function (el) { enhance(el); });
    }
  });
})();
