//! The console in a real browser: Debian's headless Chromium driven over WebDriver
//! (chromedriver), against the real service on port 0 and the emulated org.
//!
//! Without `/usr/bin/chromedriver` (or `PORTICO_CHROMEDRIVER`) these tests print `*** SKIPPED`
//! and pass, like the PostgreSQL ones; `.ci/run` installs the browser and sets
//! `PORTICO_REQUIRE_BROWSER=1`, which turns a missing browser into a failure.

mod forms;
mod journey;

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long any one wait in the browser may take.
const DEADLINE: Duration = Duration::from_secs(20);

/// A headless Chromium with its own chromedriver (both stopped on drop).
pub struct Browser {
    pub client: Client,
    pub base: String,
    driver: Child,
    _profile: tempfile::TempDir,
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

fn driver_path() -> Option<PathBuf> {
    let path =
        std::env::var_os("PORTICO_CHROMEDRIVER").map(PathBuf::from).unwrap_or_else(|| "/usr/bin/chromedriver".into());
    path.exists().then_some(path)
}

impl Browser {
    /// A browser at 1280×800 for the console at `base`, or `None` (skipped) without one.
    pub async fn open(base: &str, test: &str) -> Option<Browser> {
        let Some(driver) = driver_path() else {
            assert!(
                std::env::var_os("PORTICO_REQUIRE_BROWSER").is_none(),
                "PORTICO_REQUIRE_BROWSER is set but chromedriver is missing (apt-get install chromium chromium-driver)"
            );
            eprintln!("*** SKIPPED {test}: no chromedriver (install Debian's chromium and chromium-driver)");
            return None;
        };
        // chromedriver picks a free port and says which, and that it is ready, on stdout.
        let mut child = Command::new(driver)
            .arg("--port=0")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            use std::io::BufRead;
            for line in std::io::BufReader::new(stdout).lines().map_while(Result::ok) {
                // "ChromeDriver was started successfully on port 40887."
                let port = line
                    .split("started successfully on port ")
                    .nth(1)
                    .and_then(|p| p.trim().trim_end_matches('.').parse::<u16>().ok());
                if let Some(port) = port {
                    let _ = tx.send(port);
                }
            }
        });
        let port = rx.recv_timeout(DEADLINE).expect("chromedriver did not say it started");
        let profile = tempfile::tempdir().unwrap();
        let mut caps = serde_json::Map::new();
        let binary = std::env::var("PORTICO_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
        caps.insert(
            "goog:chromeOptions".into(),
            json!({
                "binary": binary,
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                         "--window-size=1280,800", format!("--user-data-dir={}", profile.path().display())]
            }),
        );
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        let client = ClientBuilder::new(connector)
            .capabilities(caps)
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
            .expect("a browser session");
        Some(Browser { client, base: base.trim_end_matches('/').to_owned(), driver: child, _profile: profile })
    }

    /// Opens a console path.
    pub async fn go(&self, path: &str) {
        self.client.goto(&format!("{}{path}", self.base)).await.unwrap();
    }

    /// The current path (with the query).
    pub async fn path(&self) -> String {
        let url = self.client.current_url().await.unwrap();
        format!("{}{}", url.path(), url.query().map(|q| format!("?{q}")).unwrap_or_default())
    }

    /// Waits for an element and returns it.
    pub async fn find(&self, css: &str) -> fantoccini::elements::Element {
        self.client
            .wait()
            .at_most(DEADLINE)
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("no `{css}` on the page: {e}"))
    }

    /// Replaces an input's text.
    /// (An htmx swap may replace the element between finding and typing: then the swap is
    /// waited for and the element found again.)
    pub async fn fill(&self, css: &str, text: &str) {
        let started = Instant::now();
        loop {
            let e = self.find(css).await;
            let typed = async {
                e.clear().await?;
                e.send_keys(text).await?;
                e.prop("value").await
            };
            match typed.await {
                Ok(Some(v)) if v == text => return,
                other if started.elapsed() > DEADLINE => panic!("typing into `{css}`: {other:?}"),
                _ => self.settle().await,
            }
        }
    }

    /// Clicks.
    /// (Retried, after the swap, when an htmx swap replaced the element in between.)
    pub async fn click(&self, css: &str) {
        let started = Instant::now();
        loop {
            match self.find(css).await.click().await {
                Ok(()) => return,
                Err(e) if started.elapsed() > DEADLINE => panic!("clicking `{css}`: {e}"),
                Err(_) => self.settle().await,
            }
        }
    }

    /// Clicks a button that asks "are you sure?" and answers yes. The dialog opens while the
    /// click is handled, so it is there when the click returns.
    pub async fn click_confirm(&self, css: &str) {
        self.click(css).await;
        if let Err(e) = self.client.accept_alert().await {
            panic!("no confirmation asked after clicking `{css}`: {e}");
        }
    }

    /// Chooses an option of a select (firing `change`, as a person's choice does).
    pub async fn select(&self, css: &str, value: &str) {
        let started = Instant::now();
        loop {
            match self.find(css).await.select_by_value(value).await {
                // A choice may render the form again: wait for it.
                Ok(()) => return self.settle().await,
                Err(e) if started.elapsed() > DEADLINE => panic!("choosing {value} in `{css}`: {e}"),
                Err(_) => self.settle().await,
            }
        }
    }

    /// Runs a script in the page.
    pub async fn js(&self, script: &str, args: Vec<Value>) -> Value {
        self.client.execute(script, args).await.unwrap()
    }

    /// Waits until `check` (a script body returning a boolean) holds. The page itself polls it
    /// with the deadline; a navigation ends the script, and the wait goes on in the new page.
    pub async fn until(&self, what: &str, check: &str) {
        let started = Instant::now();
        loop {
            let left = DEADLINE.saturating_sub(started.elapsed()).as_millis();
            let script = format!(
                "const done = arguments[arguments.length - 1]; const end = Date.now() + {left};
                 const check = () => {{ {check} }};
                 const tick = () => {{ let ok = false; try {{ ok = check(); }} catch (e) {{}}
                   if (ok) done(true); else if (Date.now() > end) done(false); else setTimeout(tick, 25); }};
                 tick();"
            );
            match self.client.execute_async(&script, vec![]).await {
                Ok(Value::Bool(true)) => return,
                Err(_) if started.elapsed() < DEADLINE => continue,
                _ => {}
            }
            self.shot("failure").await;
            let body = self.client.find(Locator::Css("body")).await.unwrap().text().await.unwrap_or_default();
            panic!(
                "waited {DEADLINE:?} for {what} (screenshot: target/screenshots/failure.png); the page says:\n{body}"
            );
        }
    }

    /// Waits until an element's text contains `text`; returns the text.
    pub async fn wait_text(&self, css: &str, text: &str) -> String {
        let (css_js, text_js) = (json!(css), json!(text));
        let check =
            format!("const e = document.querySelector({css_js}); return !!e && e.innerText.includes({text_js});");
        // The text is read in the page, in one script: an element found first and read after
        // could have been swapped out in between (the job list refreshes itself).
        let read = format!("const e = document.querySelector({css_js}); return e ? e.innerText : null;");
        loop {
            self.until(&format!("`{text}` in `{css}`"), &check).await;
            if let Value::String(found) = self.js(&read, vec![]).await
                && found.contains(text)
            {
                return found;
            }
        }
    }

    /// Waits until no htmx request is in flight.
    pub async fn settle(&self) {
        self.until("htmx to settle", "return document.querySelector('.htmx-request') === null").await;
    }

    /// Saves a screenshot to `target/screenshots/<name>.png`.
    pub async fn shot(&self, name: &str) {
        let png = self.client.screenshot().await.unwrap();
        let dir = super::root().join("target/screenshots");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(format!("{name}.png")), png).unwrap();
    }

    /// Runs axe-core (from `tests/node_modules`, installed by `.ci/run`) on the page and fails
    /// on any serious or critical violation. Skipped with a note when axe is not installed.
    pub async fn axe(&self, page: &str) {
        let path = super::root().join("tests/node_modules/axe-core/axe.min.js");
        let Ok(source) = std::fs::read_to_string(&path) else {
            assert!(std::env::var_os("PORTICO_REQUIRE_BROWSER").is_none(), "axe-core missing at {}", path.display());
            eprintln!("*** SKIPPED the accessibility check of {page}: no {}", path.display());
            return;
        };
        self.js(&source, vec![]).await;
        let result = self
            .client
            .execute_async(
                "const done = arguments[arguments.length - 1];
                 axe.run(document, { resultTypes: ['violations'] }).then(r => done(r.violations
                   .filter(v => v.impact === 'serious' || v.impact === 'critical')
                   .map(v => v.id + ': ' + v.help + ' — ' + v.nodes.map(n => n.target.join(' ')).join(', '))));",
                vec![],
            )
            .await
            .unwrap();
        assert_eq!(result, json!([]), "accessibility violations on {page}");
    }
}
