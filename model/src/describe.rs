//! Salesforce describe data: what an sObject and its fields look like to the connected user.
//!
//! Parsed from the JSON body of `GET /services/data/vXX.0/sobjects/{name}/describe`, keeping only
//! what mapping and validation need. Real describe responses omit fields the user cannot see
//! (field-level security), so "present here" means "visible to the integration user".

use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// A Salesforce field type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[allow(missing_docs)]
pub enum FieldType {
    Id,
    String,
    Textarea,
    Email,
    Phone,
    Url,
    Picklist,
    Multipicklist,
    Combobox,
    Reference,
    Boolean,
    Currency,
    Double,
    Percent,
    Int,
    Long,
    Date,
    Datetime,
    Time,
    Address,
    Location,
    Base64,
    Encryptedstring,
    Anytype,
    Complexvalue,
    /// A type this host does not know; never writable.
    #[serde(other)]
    Other,
}

impl FieldType {
    /// Whether values of this type are text.
    pub fn is_text(self) -> bool {
        use FieldType::*;
        matches!(
            self,
            String | Textarea | Email | Phone | Url | Picklist | Multipicklist | Combobox | Encryptedstring | Time
        )
    }

    /// Whether values of this type are numbers.
    pub fn is_number(self) -> bool {
        matches!(self, FieldType::Currency | FieldType::Double | FieldType::Percent | FieldType::Int | FieldType::Long)
    }
}

/// One picklist value.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PicklistValue {
    /// The API value.
    pub value: String,
    /// The label.
    #[serde(default)]
    pub label: Option<String>,
    /// Whether it may be chosen.
    pub active: bool,
    /// Whether it is the default.
    #[serde(default)]
    pub default_value: bool,
}

/// One field, as describe reports it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FieldDescribe {
    /// API name.
    pub name: String,
    /// Label.
    pub label: String,
    /// Type.
    #[serde(rename = "type")]
    pub field_type: FieldType,
    /// Maximum length of text.
    #[serde(default)]
    pub length: u32,
    /// Settable on create.
    pub createable: bool,
    /// Settable on update.
    pub updateable: bool,
    /// May be null.
    pub nillable: bool,
    /// Salesforce fills it when absent.
    #[serde(default)]
    pub defaulted_on_create: bool,
    /// An external id (upsert key).
    #[serde(default)]
    pub external_id: bool,
    /// Usable to identify a record (upsert key on standard objects, e.g. Email on User).
    #[serde(default)]
    pub id_lookup: bool,
    /// Whether usable in a SOQL `WHERE`.
    #[serde(default = "yes")]
    pub filterable: bool,
    /// Picklist values must come from `picklist_values`.
    #[serde(default)]
    pub restricted_picklist: bool,
    /// Picklist values.
    #[serde(default)]
    pub picklist_values: Vec<PicklistValue>,
    /// sObjects a reference can point at.
    #[serde(default)]
    pub reference_to: Vec<String>,
    /// Whether field-level security can be set on it (false for always-required fields).
    #[serde(default = "yes")]
    pub permissionable: bool,
}

fn yes() -> bool {
    true
}

impl FieldDescribe {
    /// Whether Salesforce requires a value when creating a record.
    pub fn required_on_create(&self) -> bool {
        self.createable && !self.nillable && !self.defaulted_on_create
    }

    /// The values a picklist accepts.
    pub fn active_picklist_values(&self) -> impl Iterator<Item = &str> {
        self.picklist_values.iter().filter(|p| p.active).map(|p| p.value.as_str())
    }
}

/// An sObject, as describe reports it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SObjectDescribe {
    /// API name.
    pub name: String,
    /// Singular label.
    pub label: String,
    /// Records may be created.
    pub createable: bool,
    /// Records may be updated.
    pub updateable: bool,
    /// Records may be queried.
    #[serde(default = "yes")]
    pub queryable: bool,
    /// The fields visible to the user (shared, so filtered views copy no field data).
    pub fields: Vec<Arc<FieldDescribe>>,
}

impl SObjectDescribe {
    /// Parses a describe response body.
    pub fn from_json(text: &str) -> Result<SObjectDescribe, serde_json::Error> {
        serde_json::from_str(text)
    }

    /// A field by API name; Salesforce names are case-insensitive.
    pub fn field(&self, name: &str) -> Option<&FieldDescribe> {
        self.fields.iter().find(|f| f.name.eq_ignore_ascii_case(name)).map(|f| &**f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_trimmed_describe_and_unknown_types() {
        let d = SObjectDescribe::from_json(
            r#"{"name":"Lead","label":"Lead","createable":true,"updateable":true,"extra":[1],
            "fields":[{"name":"LastName","label":"Last Name","type":"string","length":80,
            "createable":true,"updateable":true,"nillable":false,"defaultedOnCreate":false},
            {"name":"Geo","label":"Geo","type":"futuristic","createable":false,"updateable":false,"nillable":true}]}"#,
        )
        .unwrap();
        assert!(d.field("lastname").unwrap().required_on_create());
        assert_eq!(d.field("Geo").unwrap().field_type, FieldType::Other);
    }
}
