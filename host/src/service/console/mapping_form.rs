//! The mapping editor's form: reading the posted fields back into a [`Mapping`] (bounded: at
//! most [`MAX_RECORDS`] records of [`MAX_FIELDS`] fields, whatever indices a request names),
//! applying the editor's buttons, and rendering the records with type-aware inputs.

use crate::service::ops::mapping_spec::{BOOKING_PATHS, EditableObject, Mapping, Problem, RecordSpec, Source};
use maud::{Markup, html};
use portico_model::Grant;
use portico_model::describe::{FieldDescribe, FieldType};
use portico_model::manifest::ObjectGrant;
use std::collections::BTreeMap;

/// The most records a mapping holds.
pub const MAX_RECORDS: usize = 20;
/// The most fields one record sets.
pub const MAX_FIELDS: usize = 100;

/// A button of the editor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// Re-render (a choice changed what the inputs should be).
    Refresh,
    /// Append a record.
    AddRecord,
    /// Remove record `i`.
    RemoveRecord(usize),
    /// Add a field to record `i`.
    AddField(usize),
    /// Remove field `j` of record `i`.
    RemoveField(usize, usize),
}

/// What the form posted.
#[derive(Debug, Default)]
pub struct Posted {
    /// The mapping as edited.
    pub mapping: Mapping,
    /// The button pressed.
    pub action: Option<Action>,
    /// `sample` or a job id.
    pub preview_booking: String,
    /// Each record's object as the form was rendered (a changed object starts afresh).
    pub was: Vec<String>,
}

/// Reads the form (`r.0.sobject`, `r.0.f.2.value`, …). Indices only order records and fields;
/// entries beyond the limits are dropped.
pub fn parse(body: &[u8]) -> Posted {
    #[derive(Default)]
    struct Rec {
        values: BTreeMap<String, String>,
        fields: BTreeMap<usize, BTreeMap<String, String>>,
    }
    let mut records: BTreeMap<usize, Rec> = BTreeMap::new();
    let mut posted = Posted::default();
    for (key, value) in url::form_urlencoded::parse(body) {
        let value = value.into_owned();
        match key.as_ref() {
            "action" => posted.action = parse_action(&value),
            "preview_booking" => posted.preview_booking = value,
            k => {
                let mut parts = k.split('.');
                let (Some("r"), Some(Ok(i))) = (parts.next(), parts.next().map(str::parse::<usize>)) else { continue };
                if records.len() >= MAX_RECORDS && !records.contains_key(&i) {
                    continue;
                }
                let rec = records.entry(i).or_default();
                match (parts.next(), parts.next(), parts.next()) {
                    (Some("f"), Some(j), Some(name)) => {
                        let Ok(j) = j.parse::<usize>() else { continue };
                        if rec.fields.len() >= MAX_FIELDS && !rec.fields.contains_key(&j) {
                            continue;
                        }
                        rec.fields.entry(j).or_default().insert(name.to_owned(), value);
                    }
                    (Some(name), None, None) => {
                        rec.values.insert(name.to_owned(), value);
                    }
                    _ => {}
                }
            }
        }
    }
    posted.was = records.values().map(|r| r.values.get("was").cloned().unwrap_or_default()).collect();
    posted.mapping.records = records
        .into_values()
        .map(|r| {
            let get = |k: &str| r.values.get(k).cloned().unwrap_or_default();
            let upsert = (get("mode") == "upsert").then(|| (get("upsert_field"), get("upsert_key")));
            let find = (get("find") == "on").then(|| (get("find_field"), get("find_value")));
            let fields = r
                .fields
                .into_values()
                .filter_map(|f| {
                    let name = f.get("name").filter(|n| !n.is_empty())?.clone();
                    let kind = f.get("kind").map(String::as_str).unwrap_or("constant");
                    Some((name, Source::of_kind(kind, f.get("value").cloned().unwrap_or_default())))
                })
                .collect();
            RecordSpec { sobject: get("sobject"), reference: get("ref").trim().to_owned(), find, upsert, fields }
        })
        .collect();
    posted
}

fn parse_action(value: &str) -> Option<Action> {
    let mut parts = value.split('.');
    let name = parts.next()?;
    let mut index = || parts.next().and_then(|i| i.parse::<usize>().ok());
    Some(match name {
        "refresh" => Action::Refresh,
        "add-record" => Action::AddRecord,
        "remove-record" => Action::RemoveRecord(index()?),
        "add-field" => Action::AddField(index()?),
        "remove-field" => {
            let i = index()?;
            Action::RemoveField(i, index()?)
        }
        _ => return None,
    })
}

/// Applies a button to the mapping.
pub fn apply(mapping: &mut Mapping, action: Action, objects: &[EditableObject]) {
    match action {
        Action::Refresh => {}
        Action::AddRecord if mapping.records.len() < MAX_RECORDS => {
            let Some(o) = objects.first() else { return };
            mapping.records.push(new_record(o));
        }
        Action::AddRecord => {}
        Action::RemoveRecord(i) if i < mapping.records.len() => {
            mapping.records.remove(i);
        }
        Action::AddField(i) => {
            let Some(r) = mapping.records.get_mut(i) else { return };
            let Some(o) = objects.iter().find(|o| o.name == r.sobject) else { return };
            let unmapped = |f: &&FieldDescribe| !r.fields.iter().any(|(n, _)| n == &f.name);
            let next = o
                .fields
                .iter()
                .filter(unmapped)
                .find(|f| f.required_on_create())
                .or_else(|| o.fields.iter().find(unmapped));
            if let Some(f) = next
                && r.fields.len() < MAX_FIELDS
            {
                r.fields.push((f.name.clone(), Source::Constant(String::new())));
            }
        }
        Action::RemoveField(i, j) => {
            if let Some(r) = mapping.records.get_mut(i)
                && j < r.fields.len()
            {
                r.fields.remove(j);
            }
        }
        Action::RemoveRecord(_) => {}
    }
}

/// A record whose object was changed starts afresh: that object's required fields, the same
/// name. A find just turned on gets a field to match on.
pub fn reconcile(posted: &mut Posted, objects: &[EditableObject]) {
    // A find just ticked matches on Email when the object has it (what people find by).
    for r in &mut posted.mapping.records {
        if let Some((field, _)) = r.find.as_mut().filter(|(f, _)| f.is_empty())
            && let Some(o) = objects.iter().find(|o| o.name == r.sobject)
        {
            *field =
                o.find_fields.iter().find(|f| *f == "Email").or(o.find_fields.first()).cloned().unwrap_or_default();
        }
    }
    for (r, was) in posted.mapping.records.iter_mut().zip(&posted.was) {
        if !was.is_empty()
            && *was != r.sobject
            && let Some(o) = objects.iter().find(|o| o.name == r.sobject)
        {
            *r = RecordSpec { reference: std::mem::take(&mut r.reference), ..new_record(o) };
        }
    }
}

/// A new record of `o`, with its required fields listed to fill in.
fn new_record(o: &EditableObject) -> RecordSpec {
    let upsert =
        (!o.can_create).then(|| (o.upsert_fields.first().cloned().unwrap_or_default(), "{booking.id}".to_owned()));
    let fields = o
        .fields
        .iter()
        .filter(|f| f.required_on_create() && f.field_type != FieldType::Boolean)
        .map(|f| (f.name.clone(), Source::Constant(String::new())))
        .collect();
    RecordSpec { sobject: o.name.clone(), upsert, fields, ..RecordSpec::default() }
}

/// The editor: every record with its inputs and the problems beside them.
pub fn render(
    tenant: &str,
    mapping: &Mapping,
    objects: &[EditableObject],
    approved: &Grant,
    problems: &[Problem],
    editable: bool,
) -> Markup {
    let action = format!("/t/{tenant}/mapping");
    html! {
        div #records {
            @if mapping.records.is_empty() { p { "No records yet: add the first one a booking should create." } }
            @for (i, r) in mapping.records.iter().enumerate() {
                @let earlier: Vec<&str> = mapping.records[..i].iter().map(|r| r.reference.as_str()).filter(|r| !r.is_empty()).collect();
                (record(&action, i, r, objects, approved, problems, &earlier))
            }
        }
        @if editable {
            div.actions {
                button.secondary type="button" name="action" value="add-record" hx-post=(action) hx-target="#editor" hx-select="#editor" hx-swap="outerHTML" { "Add a record" }
            }
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn record(
    action: &str,
    i: usize,
    r: &RecordSpec,
    objects: &[EditableObject],
    approved: &Grant,
    problems: &[Problem],
    earlier: &[&str],
) -> Markup {
    let granted = approved.object(&r.sobject).map(|(_, g)| g);
    let object = objects.iter().find(|o| o.name == r.sobject);
    let id = |s: &str| format!("r{i}-{s}");
    let name = |s: &str| format!("r.{i}.{s}");
    html! {
        fieldset.card.record #(id("card")) {
            legend { h2 { "Record " (i + 1) @if let Some(o) = object { ": " (o.label) } } }
            @for p in problems.iter().filter(|p| p.record == i && p.field.is_none()) { p.error role="alert" { (p.message) } }
            input type="hidden" name=(name("was")) value=(r.sobject);
            div.record-head {
                div.field {
                    label for=(id("sobject")) { "Object" }
                    select #(id("sobject")) name=(name("sobject")) hx-post=(action) hx-trigger="change" hx-target="#editor" hx-select="#editor" hx-swap="outerHTML" {
                        @for o in objects { option value=(o.name) selected[o.name == r.sobject] { (o.label) " (" (o.name) ")" } }
                    }
                }
                div.field {
                    label for=(id("ref")) { "Name (for later records to point at)" }
                    input #(id("ref")) name=(name("ref")) value=(r.reference) placeholder="e.g. person" pattern="[A-Za-z0-9_\\-]*";
                }
                div.field {
                    label for=(id("mode")) { "Write" }
                    select #(id("mode")) name=(name("mode")) hx-post=(action) hx-trigger="change" hx-target="#editor" hx-select="#editor" hx-swap="outerHTML" {
                        option value="create" selected[r.upsert.is_none()] { "Create a new record" }
                        option value="upsert" selected[r.upsert.is_some()] { "Upsert by an external id" }
                    }
                }
            }
            @if let (Some(o), Some((field, key))) = (object, &r.upsert) {
                div.record-head {
                    div.field {
                        label for=(id("upsert_field")) { "External-id field" }
                        select #(id("upsert_field")) name=(name("upsert_field")) {
                            @for f in &o.upsert_fields { option value=(f) selected[f == field] { (f) } }
                        }
                    }
                    div.field {
                        label for=(id("upsert_key")) { "Key" }
                        input #(id("upsert_key")) name=(name("upsert_key")) value=(key) placeholder="{booking.id}";
                    }
                }
            }
            @if let Some(o) = object.filter(|o| o.can_find && !o.find_fields.is_empty()) {
                div.record-head {
                    div.field {
                        label { input #(id("find")) type="checkbox" name=(name("find")) checked[r.find.is_some()]
                            hx-post=(action) hx-trigger="change" hx-target="#editor" hx-select="#editor" hx-swap="outerHTML";
                            " Use an existing record when one matches (find or create)" }
                    }
                    @if let Some((field, value)) = &r.find {
                        div.field {
                            label for=(id("find_field")) { "Match on" }
                            select #(id("find_field")) name=(name("find_field")) {
                                @for f in &o.find_fields { option value=(f) selected[f == field] { (f) } }
                            }
                        }
                        div.field {
                            label for=(id("find_value")) { "Equal to" }
                            input #(id("find_value")) name=(name("find_value")) value=(value) placeholder="{attendee.email}";
                        }
                    }
                }
            }
            h3 { "Fields" }
            @if let Some(o) = object {
                @for (j, (field, source)) in r.fields.iter().enumerate() {
                    (field_row(action, i, j, o, granted, field, source, problems, earlier))
                }
                div.actions {
                    button.secondary.small type="button" name="action" value={ "add-field." (i) } hx-post=(action) hx-target="#editor" hx-select="#editor" hx-swap="outerHTML" { "Add a field" }
                    button.danger.small type="button" name="action" value={ "remove-record." (i) } hx-post=(action) hx-target="#editor" hx-select="#editor" hx-swap="outerHTML"
                        hx-confirm="Remove this record from the mapping?" { "Remove this record" }
                }
            }
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn field_row(
    action: &str,
    i: usize,
    j: usize,
    o: &EditableObject,
    granted: Option<&ObjectGrant>,
    field: &str,
    source: &Source,
    problems: &[Problem],
    earlier: &[&str],
) -> Markup {
    let id = |s: &str| format!("r{i}-f{j}-{s}");
    let name = |s: &str| format!("r.{i}.f.{j}.{s}");
    let describe = o.fields.iter().find(|f| f.name == field);
    let errors: Vec<&Problem> =
        problems.iter().filter(|p| p.record == i && p.field.as_deref() == Some(field)).collect();
    let err_id = id("error");
    let is_lookup = describe.is_some_and(|f| f.field_type == FieldType::Reference);
    html! {
        div.maprow {
            div.field {
                label for=(id("name")) { "Field" }
                select #(id("name")) name=(name("name")) aria-invalid=[(!errors.is_empty()).then_some("true")]
                    hx-post=(action) hx-trigger="change" hx-target="#editor" hx-select="#editor" hx-swap="outerHTML" {
                    @if describe.is_none() { option value=(field) selected { (field) " (not available)" } }
                    @for f in &o.fields {
                        option value=(f.name) selected[f.name == field] { (f.label) " (" (f.name) ")" @if f.required_on_create() { " *" }
                            @if !granted.is_some_and(|g| g.can_write(&f.name)) { " — needs approval" } }
                    }
                }
            }
            div.field {
                label for=(id("kind")) { "Value from" }
                select #(id("kind")) name=(name("kind")) hx-post=(action) hx-trigger="change" hx-target="#editor" hx-select="#editor" hx-swap="outerHTML" {
                    @for (k, label) in [("booking", "Booking"), ("answer", "Booking-form answer"), ("template", "Template"), ("constant", "Fixed value")] {
                        option value=(k) selected[source.kind() == k] { (label) }
                    }
                    @if is_lookup { option value="record" selected[source.kind() == "record"] { "An earlier record" } }
                }
                (value_input(action, &id("value"), &name("value"), describe, source, earlier, (!errors.is_empty()).then_some(err_id.as_str())))
            }
            div {
                button.link.small type="button" name="action" value={ "remove-field." (i) "." (j) } hx-post=(action) hx-target="#editor" hx-select="#editor" hx-swap="outerHTML"
                    aria-label={ "Remove " (field) } { "Remove" }
            }
            p.meta.hint {
                @if let Some(f) = describe { (type_label(f)) @if f.required_on_create() { " · " strong { "required" } } }
            }
            @for e in &errors { p.error.meta id=(err_id) role="alert" { (e.message) } }
        }
    }
}

fn type_label(f: &FieldDescribe) -> String {
    let t = format!("{:?}", f.field_type).to_lowercase();
    match f.field_type {
        _ if f.field_type.is_text() && f.length > 0 => format!("{t}, up to {} characters", f.length),
        FieldType::Reference => format!("lookup to {}", f.reference_to.join(" or ")),
        _ => t,
    }
}

/// The value's input, by the source's kind and the field's type. Choices (selects) render the
/// editor again, so the problems beside each field stay current.
fn value_input(
    action: &str,
    id: &str,
    name: &str,
    f: Option<&FieldDescribe>,
    source: &Source,
    earlier: &[&str],
    error: Option<&str>,
) -> Markup {
    let value = source.value();
    let label = html! { label.visually-hidden for=(id) { "Value" } };
    match source {
        Source::Booking(_) => {
            html! { (label) select #(id) name=(name) aria-describedby=[error] hx-post=(action) hx-trigger="change" hx-target="#editor" hx-select="#editor" hx-swap="outerHTML" {
            // What the server holds shows as chosen, so choosing anything fires `change`.
            @if !BOOKING_PATHS.iter().any(|(p, _)| *p == value) { option value="" selected { "(choose)" } }
            @for (p, l) in BOOKING_PATHS { option value=(p) selected[*p == value] { (l) } } } }
        }
        Source::Record(_) => {
            html! { (label) select #(id) name=(name) aria-describedby=[error] hx-post=(action) hx-trigger="change" hx-target="#editor" hx-select="#editor" hx-swap="outerHTML" {
            @if earlier.is_empty() { option value="" { "(name an earlier record first)" } }
            @else if !earlier.contains(&value) { option value="" selected { "(choose)" } }
            @for r in earlier { option value=(r) selected[*r == value] { "@" (r) } } } }
        }
        Source::Answer(_) => {
            html! { (label) input #(id) name=(name) value=(value) placeholder="question key, e.g. team-size" aria-describedby=[error]; }
        }
        Source::Template(_) => {
            html! { (label) input #(id) name=(name) value=(value) placeholder="e.g. Intro: {booking.title} with {attendee.name}" aria-describedby=[error]; }
        }
        Source::Constant(_) => {
            let Some(f) = f else { return html! { (label) input #(id) name=(name) value=(value); } };
            match f.field_type {
                // A combobox takes any text: its values are suggestions.
                FieldType::Combobox => {
                    let list = format!("{id}-values");
                    html! { (label) input #(id) name=(name) value=(value) list=(list) aria-describedby=[error];
                    datalist #(list) { @for p in f.active_picklist_values() { option value=(p) {} } } }
                }
                FieldType::Picklist if !f.picklist_values.is_empty() => html! {
                    (label) select #(id) name=(name) aria-describedby=[error] hx-post=(action) hx-trigger="change" hx-target="#editor" hx-select="#editor" hx-swap="outerHTML" {
                        option value="" { "(choose)" }
                        @for p in f.active_picklist_values() { option value=(p) selected[p == value] { (p) } }
                    }
                },
                FieldType::Boolean => {
                    html! { (label) select #(id) name=(name) aria-describedby=[error] hx-post=(action) hx-trigger="change" hx-target="#editor" hx-select="#editor" hx-swap="outerHTML" {
                    option value="true" selected[value == "true"] { "true (checked)" }
                    option value="false" selected[value != "true"] { "false" } } }
                }
                FieldType::Date => {
                    html! { (label) input #(id) type="date" name=(name) value=(value) aria-describedby=[error]; }
                }
                t if t.is_number() => {
                    html! { (label) input #(id) type="number" step="any" name=(name) value=(value) aria-describedby=[error]; }
                }
                _ => {
                    let max = (f.length > 0).then_some(f.length);
                    html! { (label) input #(id) name=(name) value=(value) maxlength=[max] aria-describedby=[error]; }
                }
            }
        }
    }
}
