//! The filtered describe: an sObject as one plugin may see it under one grant.
//!
//! Field-level security is already applied by Salesforce (describe omits fields the connected
//! user cannot see); the view further keeps only fields the grant names. Staging validates
//! against the same view the plugin sees, so a field is either visible and usable or absent.

use crate::describe::{FieldDescribe, SObjectDescribe};
use crate::error::{ErrorKind, HostError};
use crate::manifest::{ObjectGrant, Operation};
use std::sync::Arc;

/// One field the plugin may use.
#[derive(Clone, Debug, PartialEq)]
pub struct FieldView {
    /// The field as described.
    pub describe: Arc<FieldDescribe>,
    /// Granted for writing and createable by the connected user.
    pub createable: bool,
    /// Granted for writing and updateable by the connected user.
    pub updateable: bool,
}

/// An sObject as the plugin may see it.
#[derive(Clone, Debug, PartialEq)]
pub struct SObjectView {
    /// The canonical sObject name.
    pub name: String,
    /// The full describe (for required-field checks the plugin cannot see past).
    pub describe: Arc<SObjectDescribe>,
    /// Records may be created under the grant and object permissions.
    pub createable: bool,
    /// Records may be updated (upsert) under the grant and object permissions.
    pub updateable: bool,
    /// The fields granted and visible.
    pub fields: Vec<FieldView>,
}

impl SObjectView {
    /// The view of `describe` under `grant`.
    pub fn new(describe: Arc<SObjectDescribe>, grant: &ObjectGrant) -> SObjectView {
        let ops = &grant.operations;
        let fields = describe
            .fields
            .iter()
            .filter(|f| grant.can_read(&f.name))
            .map(|f| FieldView {
                describe: f.clone(),
                createable: f.createable && grant.can_write(&f.name),
                updateable: f.updateable && grant.can_write(&f.name),
            })
            .collect();
        SObjectView {
            name: describe.name.clone(),
            createable: describe.createable && (ops.contains(&Operation::Create) || ops.contains(&Operation::Upsert)),
            updateable: describe.updateable && ops.contains(&Operation::Upsert),
            fields,
            describe,
        }
    }

    /// A visible field by name (case-insensitive).
    pub fn field(&self, name: &str) -> Option<&FieldView> {
        self.fields.iter().find(|f| f.describe.name.eq_ignore_ascii_case(name))
    }

    /// A visible field, or the precise reason it cannot be used.
    pub fn require_field(&self, name: &str, purpose: &str) -> Result<&FieldView, HostError> {
        if let Some(f) = self.field(name) {
            return Ok(f);
        }
        let (kind, why) = if self.describe.field(name).is_some() {
            (ErrorKind::NotGranted, format!("field {}.{name} is not granted to this plugin for {purpose}", self.name))
        } else {
            (ErrorKind::UnknownField, format!("{} has no field `{name}` visible to the connected user", self.name))
        };
        Err(HostError::field(kind, &self.name, name, why))
    }
}

/// An sObject as the plugin receives it from `describe.sobject` (the WIT `sobject-info`).
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct SObjectInfo {
    /// API name.
    pub name: String,
    /// Label.
    pub label: String,
    /// Records may be created.
    pub createable: bool,
    /// Fields granted and visible.
    pub fields: Vec<FieldInfo>,
}

/// A field as the plugin receives it (the WIT `field-info`).
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct FieldInfo {
    /// API name.
    pub name: String,
    /// Label.
    pub label: String,
    /// Type.
    pub field_type: crate::describe::FieldType,
    /// Maximum text length; 0 when not applicable.
    pub length: u32,
    /// May be set on create.
    pub createable: bool,
    /// May be set on update.
    pub updateable: bool,
    /// Required on create.
    pub required: bool,
    /// An external id.
    pub external_id: bool,
    /// Values must come from the picklist.
    pub restricted_picklist: bool,
    /// Active picklist values.
    pub picklist_values: Vec<crate::describe::PicklistValue>,
    /// Targets of a reference.
    pub reference_to: Vec<String>,
}

impl SObjectView {
    /// About how many bytes the plugin's copy of this view takes: its text plus a fixed cost per
    /// field and picklist entry. Checked against the `result_bytes` limit before [`Self::info`]
    /// builds that copy.
    pub fn answer_bytes(&self) -> u64 {
        let text = |s: &str| s.len() as u64;
        let fields: u64 = self
            .fields
            .iter()
            .map(|f| {
                let d = &f.describe;
                let picklist: u64 = d
                    .picklist_values
                    .iter()
                    .filter(|p| p.active)
                    .map(|p| 16 + text(&p.value) + p.label.as_deref().map_or(text(&p.value), text))
                    .sum();
                let references: u64 = d.reference_to.iter().map(|r| 8 + text(r)).sum();
                32 + text(&d.name) + text(&d.label) + picklist + references
            })
            .sum();
        32 + text(&self.name) + text(&self.describe.label) + fields
    }

    /// The plain-data form handed to plugins.
    pub fn info(&self) -> SObjectInfo {
        SObjectInfo {
            name: self.name.clone(),
            label: self.describe.label.clone(),
            createable: self.createable,
            fields: self
                .fields
                .iter()
                .map(|f| FieldInfo {
                    name: f.describe.name.clone(),
                    label: f.describe.label.clone(),
                    field_type: f.describe.field_type,
                    length: f.describe.length,
                    createable: f.createable,
                    updateable: f.updateable,
                    required: f.describe.required_on_create(),
                    external_id: f.describe.external_id,
                    restricted_picklist: f.describe.restricted_picklist,
                    picklist_values: f.describe.picklist_values.iter().filter(|p| p.active).cloned().collect(),
                    reference_to: f.describe.reference_to.clone(),
                })
                .collect(),
        }
    }
}

impl SObjectInfo {
    /// A field by name (case-insensitive).
    pub fn field(&self, name: &str) -> Option<&FieldInfo> {
        self.fields.iter().find(|f| f.name.eq_ignore_ascii_case(name))
    }

    /// The fields Salesforce requires on create.
    pub fn required_fields(&self) -> impl Iterator<Item = &FieldInfo> {
        self.fields.iter().filter(|f| f.required)
    }

    /// The active values of a picklist field (empty for other fields).
    pub fn picklist_values(&self, field: &str) -> Vec<&str> {
        self.field(field).map(|f| f.picklist_values.iter().map(|p| p.value.as_str()).collect()).unwrap_or_default()
    }
}
