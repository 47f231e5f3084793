//! The connected user's permissions: API Enabled, object CRUD and field-level security.
//!
//! Everything is allowed unless the profile says otherwise, so tests take away exactly the
//! permission they are about.

use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// Object permissions of the user.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectPerms {
    /// Read.
    pub read: bool,
    /// Create.
    pub create: bool,
    /// Edit.
    pub edit: bool,
    /// Delete.
    #[serde(default = "yes")]
    pub delete: bool,
}

fn yes() -> bool {
    true
}

impl ObjectPerms {
    /// All of read, create, edit and delete.
    pub const ALL: ObjectPerms = ObjectPerms { read: true, create: true, edit: true, delete: true };
    /// Read only.
    pub const READ: ObjectPerms = ObjectPerms { read: true, create: false, edit: false, delete: false };
    /// Nothing: the object is invisible.
    pub const NONE: ObjectPerms = ObjectPerms { read: false, create: false, edit: false, delete: false };
}

/// The user's permission profile.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Profile {
    /// The "API Enabled" system permission.
    pub api_enabled: bool,
    /// Object permissions that differ from "all".
    pub objects: BTreeMap<String, ObjectPerms>,
    /// Fields the user cannot see, as `Object.Field`.
    pub hidden_fields: BTreeSet<String>,
    /// Fields the user can see but not edit, as `Object.Field`.
    pub read_only_fields: BTreeSet<String>,
}

impl Default for Profile {
    fn default() -> Self {
        Profile {
            api_enabled: true,
            objects: BTreeMap::new(),
            hidden_fields: BTreeSet::new(),
            read_only_fields: BTreeSet::new(),
        }
    }
}

fn key(object: &str, field: &str) -> String {
    format!("{}.{}", object.to_ascii_lowercase(), field.to_ascii_lowercase())
}

fn contains(set: &BTreeSet<String>, object: &str, field: &str) -> bool {
    let k = key(object, field);
    set.iter().any(|s| s.to_ascii_lowercase() == k)
}

impl Profile {
    /// The user's permissions on an object.
    pub fn object(&self, object: &str) -> ObjectPerms {
        self.objects.iter().find(|(k, _)| k.eq_ignore_ascii_case(object)).map_or(ObjectPerms::ALL, |(_, p)| *p)
    }

    /// Whether the user can see a field (field-level security: read).
    pub fn field_visible(&self, object: &str, field: &str) -> bool {
        !contains(&self.hidden_fields, object, field)
    }

    /// Whether the user can edit a field (field-level security: edit).
    pub fn field_editable(&self, object: &str, field: &str) -> bool {
        self.field_visible(object, field) && !contains(&self.read_only_fields, object, field)
    }

    /// Hides a field (builder for tests).
    pub fn hide(mut self, object: &str, field: &str) -> Profile {
        self.hidden_fields.insert(format!("{object}.{field}"));
        self
    }

    /// Makes a field read-only (builder for tests).
    pub fn read_only(mut self, object: &str, field: &str) -> Profile {
        self.read_only_fields.insert(format!("{object}.{field}"));
        self
    }

    /// Sets object permissions (builder for tests).
    pub fn with_object(mut self, object: &str, perms: ObjectPerms) -> Profile {
        self.objects.insert(object.to_owned(), perms);
        self
    }
}
