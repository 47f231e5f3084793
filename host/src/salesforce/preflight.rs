//! Connection preflight: can the connected user do everything a plugin needs?

use super::{SalesforceClient, SalesforceError};
use portico_model::Manifest;
use serde::Serialize;

/// One permission the connected user lacks.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Missing {
    /// The permission, as an admin grants it: `API Enabled`, `Create`, `Edit`, `Read`, `Edit field`…
    pub permission: String,
    /// What it is on: an object or `Object.Field`.
    pub on: String,
}

/// The result of a preflight.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Preflight {
    /// The user can use the API at all.
    pub api_enabled: bool,
    /// Everything missing; empty when the plugin can run.
    pub missing: Vec<Missing>,
}

impl Preflight {
    /// The report as a table.
    pub fn table(&self) -> String {
        if self.missing.is_empty() {
            return "The connected user has every permission the plugin needs.\n".to_owned();
        }
        let mut out = format!("{:<14} {}\n", "Missing", "On");
        for m in &self.missing {
            out.push_str(&format!("{:<14} {}\n", m.permission, m.on));
        }
        out
    }
}

fn missing(permission: &str, on: impl Into<String>) -> Missing {
    Missing { permission: permission.to_owned(), on: on.into() }
}

/// Logs in, checks API access, and compares the manifest with what describe shows the user.
pub async fn preflight(client: &SalesforceClient, manifest: &Manifest) -> Result<Preflight, SalesforceError> {
    match client.limits().await {
        Ok(_) => {}
        Err(e) if matches!(e.code(), Some("API_DISABLED_FOR_ORG" | "API_CURRENTLY_DISABLED")) => {
            return Ok(Preflight { api_enabled: false, missing: vec![missing("API Enabled", "the connected user")] });
        }
        Err(e) => return Err(e),
    }
    let mut out = Vec::new();
    for p in manifest.permissions() {
        let describe = match client.describe_now(&p.sobject).await {
            Ok(d) => d,
            Err(SalesforceError::Api { status: 404, .. }) => {
                out.push(missing("Read", &p.sobject));
                continue;
            }
            Err(e) => return Err(e),
        };
        if p.create && !describe.createable {
            out.push(missing("Create", &p.sobject));
        }
        if p.edit && !describe.updateable {
            out.push(missing("Edit", &p.sobject));
        }
        // Without the object permission every field reads as not editable: report the cause once.
        let object_writable = describe.createable || describe.updateable;
        for f in &p.fields {
            let on = format!("{}.{}", p.sobject, f.field);
            match describe.field(&f.field) {
                None => out.push(missing("Read field", on)),
                Some(d) if f.edit && object_writable && !(d.createable || d.updateable) => {
                    out.push(missing("Edit field", on))
                }
                Some(_) => {}
            }
        }
    }
    Ok(Preflight { api_enabled: true, missing: out })
}
