//! The emulated org's schema: real describe responses, served per connected user.
//!
//! Loaded from a recorded org folder (`<Object>.describe.json`, `<Object>.fields.json`; see
//! `portico_model::local`). The raw JSON is served back with the user's field-level security
//! applied and `urls` rewritten to the emulator and the requested API version; the parsed form
//! drives validation.

use crate::profile::Profile;
use portico_model::describe::SObjectDescribe;
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

/// One sObject of the schema.
#[derive(Debug)]
pub struct ObjectSchema {
    /// The parsed describe.
    pub describe: SObjectDescribe,
    /// The describe body as captured (plus added fields).
    pub raw: Value,
    /// The 3-character id prefix.
    pub key_prefix: String,
}

/// Known id prefixes for objects whose capture lacks one.
const KEY_PREFIXES: &[(&str, &str)] = &[
    ("Account", "001"),
    ("Contact", "003"),
    ("Lead", "00Q"),
    ("Event", "00U"),
    ("Task", "00T"),
    ("User", "005"),
    ("Opportunity", "006"),
];

/// The schema of the org.
#[derive(Debug, Default)]
pub struct Schema {
    objects: BTreeMap<String, Arc<ObjectSchema>>,
    /// The top-level keys of a global describe (`encoding`, `maxBatchSize`) and entry template.
    global_template: Option<Value>,
}

impl Schema {
    /// Loads a recorded org folder.
    pub fn load(dir: &Path) -> anyhow::Result<Schema> {
        let mut schema = Schema::default();
        let mut paths: Vec<_> = std::fs::read_dir(dir)?.filter_map(|e| e.ok().map(|e| e.path())).collect();
        paths.sort();
        for path in &paths {
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default();
            if name.ends_with(".describe.json") {
                let raw: Value = serde_json::from_str(&std::fs::read_to_string(path)?)?;
                schema.add(raw)?;
            } else if name == "global.sobjects.json" {
                schema.global_template = Some(serde_json::from_str(&std::fs::read_to_string(path)?)?);
            }
        }
        for path in &paths {
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default();
            if let Some(object) = name.strip_suffix(".fields.json") {
                let fields: Vec<Value> = serde_json::from_str(&std::fs::read_to_string(path)?)?;
                schema.add_fields(object, fields)?;
            }
        }
        Ok(schema)
    }

    fn add(&mut self, raw: Value) -> anyhow::Result<()> {
        let describe: SObjectDescribe = serde_json::from_value(raw.clone())?;
        let key_prefix = raw
            .get("keyPrefix")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .or_else(|| KEY_PREFIXES.iter().find(|(n, _)| *n == describe.name).map(|(_, p)| (*p).to_owned()))
            .unwrap_or_else(|| "a0E".to_owned());
        self.objects.insert(describe.name.to_ascii_lowercase(), Arc::new(ObjectSchema { describe, raw, key_prefix }));
        Ok(())
    }

    fn add_fields(&mut self, object: &str, fields: Vec<Value>) -> anyhow::Result<()> {
        let Some(existing) = self.objects.get(&object.to_ascii_lowercase()) else { return Ok(()) };
        let mut raw = existing.raw.clone();
        let list = raw
            .get_mut("fields")
            .and_then(Value::as_array_mut)
            .ok_or_else(|| anyhow::anyhow!("{object}: no fields"))?;
        for f in fields {
            let name = f.get("name").and_then(Value::as_str).unwrap_or_default().to_owned();
            list.retain(|g| g.get("name").and_then(Value::as_str) != Some(name.as_str()));
            list.push(f);
        }
        self.add(raw)
    }

    /// An object by name, case-insensitively.
    pub fn object(&self, name: &str) -> Option<&Arc<ObjectSchema>> {
        self.objects.get(&name.to_ascii_lowercase())
    }

    /// The object an id belongs to, by its key prefix.
    pub fn object_of_id(&self, id: &str) -> Option<&Arc<ObjectSchema>> {
        self.objects.values().find(|o| id.starts_with(&o.key_prefix))
    }

    /// All objects.
    pub fn objects(&self) -> impl Iterator<Item = &Arc<ObjectSchema>> {
        self.objects.values()
    }

    /// The global describe (`GET /sobjects`) as `profile` sees it.
    pub fn global(&self, profile: &Profile, base: &str, version: &str) -> Value {
        let template = self
            .global_template
            .clone()
            .unwrap_or_else(|| serde_json::json!({"encoding": "UTF-8", "maxBatchSize": 200}));
        let sobjects: Vec<Value> = self
            .objects()
            .filter(|o| profile.object(&o.describe.name).read)
            .map(|o| self.global_entry(o, profile, version))
            .collect();
        let _ = base;
        let mut out = Map::new();
        out.insert("encoding".into(), template.get("encoding").cloned().unwrap_or_else(|| "UTF-8".into()));
        out.insert("maxBatchSize".into(), template.get("maxBatchSize").cloned().unwrap_or_else(|| 200.into()));
        out.insert("sobjects".into(), Value::Array(sobjects));
        Value::Object(out)
    }

    /// One object's entry of the global describe (also `objectDescribe` of `GET /sobjects/{T}`).
    pub fn global_entry(&self, o: &ObjectSchema, profile: &Profile, version: &str) -> Value {
        let perms = profile.object(&o.describe.name);
        let mut entry = Map::new();
        for key in GLOBAL_ENTRY_KEYS {
            // Trimmed captures lack some keys: Salesforce always sends them all.
            let default = if key.starts_with("associate") { Value::Null } else { Value::Bool(false) };
            entry.insert((*key).to_owned(), o.raw.get(*key).cloned().unwrap_or(default));
        }
        entry.insert("keyPrefix".into(), Value::String(o.key_prefix.clone()));
        entry.insert("createable".into(), Value::Bool(o.describe.createable && perms.create));
        entry.insert("updateable".into(), Value::Bool(o.describe.updateable && perms.edit));
        let name = &o.describe.name;
        entry.insert(
            "urls".into(),
            serde_json::json!({
                "sobject": format!("/services/data/{version}/sobjects/{name}"),
                "describe": format!("/services/data/{version}/sobjects/{name}/describe"),
                "rowTemplate": format!("/services/data/{version}/sobjects/{name}/{{ID}}"),
            }),
        );
        Value::Object(entry)
    }

    /// An sObject describe as `profile` sees it: hidden fields removed, permissions applied,
    /// urls pointing at `base` and `version`.
    pub fn describe(&self, object: &ObjectSchema, profile: &Profile, base: &str, version: &str) -> Value {
        let name = &object.describe.name;
        let perms = profile.object(name);
        let mut raw = object.raw.clone();
        if let Some(map) = raw.as_object_mut() {
            map.insert("createable".into(), Value::Bool(object.describe.createable && perms.create));
            map.insert("updateable".into(), Value::Bool(object.describe.updateable && perms.edit));
            map.insert("keyPrefix".into(), Value::String(object.key_prefix.clone()));
            if let Some(fields) = map.get_mut("fields").and_then(Value::as_array_mut) {
                fields
                    .retain(|f| profile.field_visible(name, f.get("name").and_then(Value::as_str).unwrap_or_default()));
                for f in fields.iter_mut() {
                    let field = f.get("name").and_then(Value::as_str).unwrap_or_default().to_owned();
                    if !profile.field_editable(name, &field) || !perms.create {
                        f["createable"] = Value::Bool(false);
                    }
                    if !profile.field_editable(name, &field) || !perms.edit {
                        f["updateable"] = Value::Bool(false);
                    }
                }
            }
        }
        rewrite_urls(&mut raw, base, version);
        raw
    }
}

/// The keys of one entry of a global describe, in Salesforce's order.
const GLOBAL_ENTRY_KEYS: &[&str] = &[
    "activateable",
    "associateEntityType",
    "associateParentEntity",
    "createable",
    "custom",
    "customSetting",
    "deepCloneable",
    "deletable",
    "deprecatedAndHidden",
    "feedEnabled",
    "hasSubtypes",
    "isInterface",
    "isSubtype",
    "keyPrefix",
    "label",
    "labelPlural",
    "layoutable",
    "mergeable",
    "mruEnabled",
    "name",
    "queryable",
    "replicateable",
    "retrieveable",
    "searchable",
    "triggerable",
    "undeletable",
    "updateable",
];

/// Points `/services/data/vNN.0/` paths at `version` and absolute org URLs at `base`.
fn rewrite_urls(value: &mut Value, base: &str, version: &str) {
    match value {
        Value::String(s) => {
            if let Some(i) = s.find("/services/data/v") {
                let rest = &s[i + "/services/data/".len()..];
                if let Some(slash) = rest.find('/') {
                    *s = format!("{}/services/data/{version}{}", &s[..i], &rest[slash..]);
                }
            }
            if s.starts_with("https://")
                && (s.contains(".salesforce.com") || s.contains(".force.com"))
                && let Some(path_start) = s["https://".len()..].find('/')
            {
                *s = format!("{base}{}", &s["https://".len() + path_start..]);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| rewrite_urls(v, base, version)),
        Value::Object(map) => map.values_mut().for_each(|v| rewrite_urls(v, base, version)),
        _ => {}
    }
}
