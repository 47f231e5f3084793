//! Reading a plugin without running it: what it is, what it imports, what it needs.

use crate::runtime::{Plugin, RuntimeConfig};
use portico_model::Manifest;
use std::fmt::Write;

fn yes(b: bool) -> &'static str {
    if b { "yes" } else { "-" }
}

/// The Salesforce permissions the integration user needs, as a table an admin can act on.
pub fn permissions_table(manifest: &Manifest) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "System permission: API Enabled\n");
    let _ = writeln!(out, "{:<28} {:<6} {:<6} {:<6}", "Object", "Read", "Create", "Edit");
    let perms = manifest.permissions();
    for p in &perms {
        let _ = writeln!(out, "{:<28} {:<6} {:<6} {:<6}", p.sobject, yes(p.read), yes(p.create), yes(p.edit));
    }
    let _ = writeln!(out, "\n{:<48} {:<6} {:<6}", "Field", "Read", "Edit");
    for p in &perms {
        for f in &p.fields {
            let _ = writeln!(out, "{:<48} {:<6} {:<6}", format!("{}.{}", p.sobject, f.field), yes(f.read), yes(f.edit));
        }
    }
    out
}

/// The report of `portico plugin check`.
pub fn report(plugin: &Plugin, config: &RuntimeConfig) -> String {
    let m = &plugin.manifest;
    let mut out = String::new();
    let _ = writeln!(out, "Plugin      {} {}", m.plugin.name, m.plugin.version);
    if !m.plugin.description.is_empty() {
        let _ = writeln!(out, "            {}", m.plugin.description);
    }
    let _ = writeln!(out, "World       portico:mapper@0.1.0 (exports map)");
    let _ = writeln!(out, "Digest      {}", plugin.digest);
    let _ = writeln!(out, "Size        {} bytes (limit {})", plugin.size, config.limits.component_bytes);
    let _ = writeln!(out, "Imports     {} (all offered by the host)", plugin.imports.len());
    for i in &plugin.imports {
        let _ = writeln!(out, "              {i}");
    }
    let _ = writeln!(out, "\nRequested access");
    for (name, g) in &m.objects.objects {
        let ops: Vec<String> = g.operations.iter().map(|o| o.to_string()).collect();
        let _ = writeln!(out, "  {name}: {}", ops.join(", "));
        if !g.read.is_empty() {
            let _ = writeln!(out, "    read:  {}", g.read.iter().cloned().collect::<Vec<_>>().join(", "));
        }
        if !g.write.is_empty() {
            let _ = writeln!(out, "    write: {}", g.write.iter().cloned().collect::<Vec<_>>().join(", "));
        }
    }
    if !m.config.is_empty() {
        let _ = writeln!(out, "\nConfig");
        for (key, c) in &m.config {
            let default = c.default.as_deref().map(|d| format!(" (default `{d}`)")).unwrap_or_default();
            let required = if c.required { " [required]" } else { "" };
            let _ = writeln!(out, "  {key}{default}{required}: {}", c.description);
        }
    }
    let l = &config.limits;
    let _ = writeln!(out, "\nLimits (host defaults)");
    let _ = writeln!(
        out,
        "  memory {} MiB, cpu {} ms, wall clock {} ms, fuel {}, staged records {}, host calls {}, log {} KiB, booking {} KiB",
        l.memory_bytes >> 20,
        l.cpu_ms,
        l.wall_clock_ms,
        l.fuel.map_or("off".to_owned(), |f| f.to_string()),
        l.staged_records,
        l.host_calls,
        l.log_bytes >> 10,
        l.booking_bytes >> 10
    );
    let _ = writeln!(out, "\nSalesforce permissions the integration user needs\n");
    out.push_str(&permissions_table(m));
    out
}
