//! The plugin manifest and the tenant's grant: what a plugin asks for and what it may use.
//!
//! A plugin declares, per sObject, the operations it performs and the fields it reads and
//! writes. The manifest travels inside the component (a `portico-manifest` custom section the
//! guest SDK writes), so the artifact a tenant uploads describes itself. A tenant admin approves
//! the manifest, or a narrower subset of it; that approved subset is the [`Grant`] every import
//! call is checked against before any I/O.

use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

/// The name of the custom section holding the manifest (UTF-8 TOML).
pub const MANIFEST_SECTION: &str = "portico-manifest";

/// An operation a plugin performs on an sObject.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Operation {
    /// `describe.sobject`.
    Describe,
    /// `records.find`.
    Find,
    /// `records.create`.
    Create,
    /// `records.upsert`.
    Upsert,
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Operation::Describe => "describe",
            Operation::Find => "find",
            Operation::Create => "create",
            Operation::Upsert => "upsert",
        })
    }
}

/// What a plugin may do with one sObject.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ObjectGrant {
    /// Operations allowed.
    pub operations: BTreeSet<Operation>,
    /// Fields `find` may filter on and return.
    #[serde(default)]
    pub read: BTreeSet<String>,
    /// Fields `create` and `upsert` may set (including upsert keys).
    #[serde(default)]
    pub write: BTreeSet<String>,
}

impl ObjectGrant {
    /// Whether `field` may be read (written fields are readable too).
    pub fn can_read(&self, field: &str) -> bool {
        contains_ci(&self.read, field) || contains_ci(&self.write, field) || field.eq_ignore_ascii_case("Id")
    }

    /// Whether `field` may be written.
    pub fn can_write(&self, field: &str) -> bool {
        contains_ci(&self.write, field)
    }
}

fn contains_ci(set: &BTreeSet<String>, name: &str) -> bool {
    set.contains(name) || set.iter().any(|s| s.eq_ignore_ascii_case(name))
}

/// The sObjects a plugin may use: a manifest's request, or a tenant's approval of it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Grant {
    /// Per sObject API name.
    pub objects: BTreeMap<String, ObjectGrant>,
}

impl Grant {
    /// The Salesforce permissions the integration user needs for what this grant allows.
    pub fn permissions(&self) -> Vec<ObjectPermission> {
        self.objects
            .iter()
            .map(|(name, g)| {
                let ops = &g.operations;
                let create = ops.contains(&Operation::Create) || ops.contains(&Operation::Upsert);
                let edit = ops.contains(&Operation::Upsert);
                let fields: BTreeSet<&String> = g.read.iter().chain(&g.write).collect();
                ObjectPermission {
                    sobject: name.clone(),
                    read: true,
                    create,
                    edit,
                    fields: fields
                        .into_iter()
                        .filter(|f| !f.eq_ignore_ascii_case("Id"))
                        .map(|f| FieldPermission { field: f.clone(), read: true, edit: g.can_write(f) })
                        .collect(),
                }
            })
            .collect()
    }

    /// The grant for an sObject, matched case-insensitively, with its canonical name.
    pub fn object(&self, sobject: &str) -> Option<(&str, &ObjectGrant)> {
        self.objects
            .get_key_value(sobject)
            .or_else(|| self.objects.iter().find(|(k, _)| k.eq_ignore_ascii_case(sobject)))
            .map(|(k, v)| (k.as_str(), v))
    }

    /// Everything in `self` that `requested` does not ask for; empty when `self` is a subset.
    pub fn excess_over(&self, requested: &Grant) -> Vec<String> {
        let mut excess = Vec::new();
        for (name, grant) in &self.objects {
            let Some((_, asked)) = requested.object(name) else {
                excess.push(format!("sObject {name}"));
                continue;
            };
            for op in grant.operations.difference(&asked.operations) {
                excess.push(format!("{op} on {name}"));
            }
            for f in grant.read.iter().filter(|f| !asked.can_read(f)) {
                excess.push(format!("read {name}.{f}"));
            }
            for f in grant.write.iter().filter(|f| !asked.can_write(f)) {
                excess.push(format!("write {name}.{f}"));
            }
        }
        excess
    }
}

/// Who the plugin is.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PluginInfo {
    /// A short name, e.g. `lead-event`.
    pub name: String,
    /// The plugin's own version.
    pub version: String,
    /// One sentence on what it does.
    #[serde(default)]
    pub description: String,
    /// The config key whose value decides which objects and fields the plugin uses (a
    /// no-code mapping). Then `[objects]` is only a suggestion: the tenant admin approves a
    /// grant derived from that setting, which may name any object and field, and that grant —
    /// checked before any I/O, as always — is the limit.
    #[serde(default)]
    pub objects_from_config: Option<String>,
}

/// One setting the plugin reads through `config.get`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigKey {
    /// What the setting means, for the tenant admin.
    pub description: String,
    /// The value used when the tenant sets none.
    #[serde(default)]
    pub default: Option<String>,
    /// Whether the tenant must set it before the plugin can run.
    #[serde(default)]
    pub required: bool,
}

/// A plugin's declaration of itself and the access it needs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// Name, version, description.
    pub plugin: PluginInfo,
    /// Requested access per sObject.
    #[serde(default)]
    pub objects: Grant,
    /// Settings the plugin reads.
    #[serde(default)]
    pub config: BTreeMap<String, ConfigKey>,
}

/// Why a manifest was refused.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    /// Not TOML of the manifest's shape.
    #[error("the plugin manifest is not valid TOML of the expected shape: {0}")]
    Syntax(#[from] toml::de::Error),
    /// Inconsistent declarations.
    #[error("the plugin manifest is inconsistent: {}", .0.join("; "))]
    Inconsistent(Vec<String>),
    /// Larger than a manifest needs to be; it is stored and shown with every version.
    #[error("the plugin manifest is {0} bytes; at most {MAX_MANIFEST_BYTES} are accepted")]
    TooLarge(usize),
}

/// The largest manifest accepted (64 KiB): a real one is a few hundred bytes, and the host keeps
/// and shows it with the plugin version.
pub const MAX_MANIFEST_BYTES: usize = 64 << 10;

impl Manifest {
    /// Parses and checks a manifest.
    pub fn from_toml(text: &str) -> Result<Manifest, ManifestError> {
        if text.len() > MAX_MANIFEST_BYTES {
            return Err(ManifestError::TooLarge(text.len()));
        }
        let manifest: Manifest = toml::from_str(text)?;
        let mut problems = Vec::new();
        if manifest.plugin.name.trim().is_empty() {
            problems.push("plugin.name is empty".to_owned());
        }
        if let Some(key) = &manifest.plugin.objects_from_config
            && !manifest.config.contains_key(key)
        {
            problems.push(format!("plugin.objects_from_config names `{key}`, which [config] does not declare"));
        }
        for (name, g) in &manifest.objects.objects {
            if g.operations.is_empty() {
                problems.push(format!("objects.{name} lists no operations"));
            }
            let writes = g.operations.contains(&Operation::Create) || g.operations.contains(&Operation::Upsert);
            if !g.write.is_empty() && !writes {
                problems.push(format!("objects.{name} lists write fields but neither create nor upsert"));
            }
            if writes && g.write.is_empty() {
                problems.push(format!("objects.{name} creates records but lists no write fields"));
            }
            if g.operations.contains(&Operation::Find) && g.read.is_empty() && g.write.is_empty() {
                problems.push(format!("objects.{name} finds records but lists no read fields"));
            }
            if g.read.iter().chain(&g.write).any(|f| f.trim().is_empty()) {
                problems.push(format!("objects.{name} lists an empty field name"));
            }
        }
        if problems.is_empty() { Ok(manifest) } else { Err(ManifestError::Inconsistent(problems)) }
    }

    /// Whether a grant beyond `[objects]` may be approved (the plugin's objects come from its
    /// configuration).
    pub fn grant_may_exceed_request(&self) -> bool {
        self.plugin.objects_from_config.is_some()
    }

    /// The Salesforce permissions the integration user needs for this plugin.
    pub fn permissions(&self) -> Vec<ObjectPermission> {
        self.objects.permissions()
    }
}

/// Object-level permissions (CRUD) the integration user needs on one sObject.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ObjectPermission {
    /// The sObject.
    pub sobject: String,
    /// Read.
    pub read: bool,
    /// Create.
    pub create: bool,
    /// Edit (upserts may update).
    pub edit: bool,
    /// Field-level security needed.
    pub fields: Vec<FieldPermission>,
}

/// Field-level security the integration user needs on one field.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FieldPermission {
    /// The field.
    pub field: String,
    /// Read access.
    pub read: bool,
    /// Edit access.
    pub edit: bool,
}

#[cfg(test)]
mod tests {

    #[test]
    fn a_huge_manifest_is_refused_before_parsing() {
        let text = format!("[plugin]\nname = \"x\"\nversion = \"1\"\n#{}", "x".repeat(MAX_MANIFEST_BYTES));
        assert!(matches!(Manifest::from_toml(&text), Err(ManifestError::TooLarge(_))));
    }

    use super::*;

    const MANIFEST: &str = r#"
        [plugin]
        name = "t"
        version = "1"
        [objects.Lead]
        operations = ["find", "create"]
        read = ["Email"]
        write = ["LastName", "Company"]
        [objects.Event]
        operations = ["upsert"]
        write = ["Subject", "Booking_Id__c"]
    "#;

    #[test]
    fn permissions_follow_operations_and_fields() {
        let m = Manifest::from_toml(MANIFEST).unwrap();
        let perms = m.permissions();
        let event = perms.iter().find(|p| p.sobject == "Event").unwrap();
        assert!(event.create && event.edit);
        let lead = perms.iter().find(|p| p.sobject == "Lead").unwrap();
        assert!(lead.create && !lead.edit);
        assert!(lead.fields.iter().any(|f| f.field == "Email" && f.read && !f.edit));
        assert!(lead.fields.iter().any(|f| f.field == "LastName" && f.edit));
    }

    #[test]
    fn a_grant_must_stay_within_the_manifest() {
        let m = Manifest::from_toml(MANIFEST).unwrap();
        let mut g = m.objects.clone();
        assert!(g.excess_over(&m.objects).is_empty());
        g.objects.get_mut("Lead").unwrap().write.insert("Phone".into());
        g.objects.insert("Task".into(), ObjectGrant::default());
        assert_eq!(g.excess_over(&m.objects), vec!["write Lead.Phone", "sObject Task"]);
    }

    #[test]
    fn refuses_unknown_keys_and_inconsistencies() {
        assert!(matches!(Manifest::from_toml("[plugin]\nname='x'\nversion='1'\nfoo=1"), Err(ManifestError::Syntax(_))));
        let bad = "[plugin]\nname='x'\nversion='1'\n[objects.Lead]\noperations=['find']\nwrite=['LastName']";
        assert!(Manifest::from_toml(bad).unwrap_err().to_string().contains("neither create nor upsert"));
    }
}
