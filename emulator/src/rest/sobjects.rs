//! `/sobjects`: the global and per-object describe, basic information, and rows — create,
//! get (`?fields=`), update, delete by id; get, upsert and delete by external id.

use super::{Answer, Env, Request, json_error, method_not_allowed, not_found, param};
use crate::State;
use crate::error::SfError;
use crate::schema::ObjectSchema;
use crate::store::{self, Record};
use serde_json::{Map, Value, json};
use std::time::{Duration, SystemTime};

/// When the schema last changed, for `If-Modified-Since` (fixed: the schema never changes).
fn schema_modified() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_767_225_600)
}

/// Routes `/sobjects/…` (`rest` is what follows `sobjects`).
pub fn route(env: Env<'_>, st: &mut State, req: &Request<'_>, rest: &[&str]) -> Answer {
    let m = req.method;
    match rest {
        [] => match m {
            "GET" => Answer::json(200, env.org.schema.global(&st.profile, env.base, env.version)),
            _ => method_not_allowed(m, "GET,HEAD"),
        },
        [object] => match m {
            "GET" => basic_info(env, st, object),
            "POST" => create(env, st, object, req.body),
            _ => method_not_allowed(m, "GET,HEAD,POST"),
        },
        [object, "describe"] => match m {
            "GET" => describe(env, st, req, object),
            _ => method_not_allowed(m, "GET,HEAD"),
        },
        [object, id] => match m {
            "GET" => get(env, st, object, id, req.query),
            "PATCH" => update(env, st, object, id, req.body),
            "DELETE" => delete(env, st, object, id),
            _ => method_not_allowed(m, "GET,HEAD,PATCH,DELETE"),
        },
        [object, field, value] => match m {
            "GET" | "DELETE" => {
                let profile = st.profile.clone();
                match st.store.by_external_id(&env.org.schema, &profile, object, field, value) {
                    Ok(Some(id)) if m == "GET" => get(env, st, object, &id, req.query),
                    Ok(Some(id)) => delete(env, st, object, &id),
                    Ok(None) => not_found(),
                    Err(e) => Answer::errors(e),
                }
            }
            "PATCH" => upsert(env, st, object, field, value, req.body),
            _ => method_not_allowed(m, "GET,HEAD,PATCH,DELETE"),
        },
        _ => not_found(),
    }
}

/// The object, if the user can read it.
pub fn readable<'a>(env: Env<'a>, st: &State, object: &str) -> Option<&'a ObjectSchema> {
    env.org.schema.object(object).filter(|o| st.profile.object(&o.describe.name).read).map(|o| &**o)
}

fn basic_info(env: Env<'_>, st: &State, object: &str) -> Answer {
    let Some(o) = readable(env, st, object) else { return not_found() };
    Answer::json(
        200,
        json!({ "objectDescribe": env.org.schema.global_entry(o, &st.profile, env.version), "recentItems": [] }),
    )
}

fn describe(env: Env<'_>, st: &State, req: &Request<'_>, object: &str) -> Answer {
    let Some(o) = readable(env, st, object) else { return not_found() };
    let modified = schema_modified();
    let last_modified = httpdate::fmt_http_date(modified);
    if req.headers.if_modified_since.is_some_and(|t| t >= modified) {
        return Answer::empty(304).with("Last-Modified", last_modified);
    }
    Answer::json(200, env.org.schema.describe(o, &st.profile, env.base, env.version))
        .with("Last-Modified", last_modified)
}

fn body_map(body: Option<&Value>) -> Result<&Map<String, Value>, Answer> {
    match body {
        Some(Value::Object(map)) => Ok(map),
        Some(other) => Err(json_error(&format!("expected an object, found {other}"))),
        None => Err(json_error("no body")),
    }
}

/// The URL of a record.
pub fn record_url(version: &str, object: &str, id: &str) -> String {
    format!("/services/data/{version}/sobjects/{object}/{id}")
}

fn canonical(env: Env<'_>, object: &str) -> String {
    env.org.schema.object(object).map_or_else(|| object.to_owned(), |o| o.describe.name.clone())
}

fn create(env: Env<'_>, st: &mut State, object: &str, body: Option<&Value>) -> Answer {
    let body = match body_map(body) {
        Ok(b) => b,
        Err(a) => return a,
    };
    let profile = st.profile.clone();
    match st.store.insert(&env.org.schema, &profile, object, body) {
        Ok(w) => Answer::json(201, json!({ "id": w.id, "success": true, "errors": [] }))
            .with("Location", record_url(env.version, &canonical(env, object), &w.id)),
        Err(e) => Answer::errors(e),
    }
}

fn update(env: Env<'_>, st: &mut State, object: &str, id: &str, body: Option<&Value>) -> Answer {
    let body = match body_map(body) {
        Ok(b) => b,
        Err(a) => return a,
    };
    let profile = st.profile.clone();
    match st.store.update(&env.org.schema, &profile, object, id, body) {
        Ok(_) => Answer::empty(204),
        Err(e) => Answer::errors(e),
    }
}

fn delete(env: Env<'_>, st: &mut State, object: &str, id: &str) -> Answer {
    let profile = st.profile.clone();
    match st.store.delete(&env.org.schema, &profile, object, id) {
        Ok(_) => Answer::empty(204),
        Err(e) => Answer::errors(e),
    }
}

fn upsert(env: Env<'_>, st: &mut State, object: &str, field: &str, value: &str, body: Option<&Value>) -> Answer {
    let body = match body_map(body) {
        Ok(b) => b,
        Err(a) => return a,
    };
    let profile = st.profile.clone();
    match st.store.upsert(&env.org.schema, &profile, object, field, value, body) {
        Ok(w) => {
            let location = record_url(env.version, &canonical(env, object), &w.id);
            // From v46.0 an update answers 200 with the body; before, 204 with none.
            let body = json!({ "id": w.id, "success": true, "errors": [], "created": w.created });
            if w.created {
                Answer::json(201, body).with("Location", location)
            } else if super::version_number(env.version).is_some_and(|n| n >= 46) {
                Answer::json(200, body).with("Location", location)
            } else {
                Answer::empty(204)
            }
        }
        Err(e) => Answer::errors(e),
    }
}

fn get(env: Env<'_>, st: &State, object: &str, id: &str, query: &str) -> Answer {
    let Some(o) = readable(env, st, object) else { return not_found() };
    let Some(record) = st.store.get(&o.describe.name, id) else { return not_found() };
    let fields: Option<Vec<String>> =
        param(query, "fields").map(|f| f.split(',').map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()).collect());
    match view(env, st, o, record, fields.as_deref()) {
        Ok(v) => Answer::json(200, v),
        Err(e) => Answer::errors(e),
    }
}

/// `INVALID_FIELD` for a field the user cannot see or that does not exist.
pub fn no_such_column(field: &str, object: &str) -> SfError {
    SfError::new(
        "INVALID_FIELD",
        format!(
            "No such column '{field}' on entity '{object}'. If you are attempting to use a custom field, be sure to append the '__c' after the custom field name. Please reference your WSDL or the describe call for the appropriate names."
        ),
    )
}

/// A record as `GET` answers it: `attributes`, then `fields` (all the user can see when
/// `None`), each stored value or `null`.
pub fn view(
    env: Env<'_>,
    st: &State,
    o: &ObjectSchema,
    record: &Record,
    fields: Option<&[String]>,
) -> Result<Value, Vec<SfError>> {
    let name = &o.describe.name;
    let visible = |f: &str| st.profile.field_visible(name, f);
    let names: Vec<String> = match fields {
        None => o.describe.fields.iter().map(|f| f.name.clone()).filter(|f| visible(f)).collect(),
        Some(list) => list
            .iter()
            .map(|f| {
                o.describe
                    .field(f)
                    .filter(|d| visible(&d.name))
                    .map(|d| d.name.clone())
                    .ok_or_else(|| vec![no_such_column(f, name)])
            })
            .collect::<Result<_, _>>()?,
    };
    let id = record.get("Id").and_then(Value::as_str).unwrap_or_default();
    let mut out = Map::new();
    out.insert("attributes".into(), json!({ "type": name, "url": record_url(env.version, name, id) }));
    for f in names {
        let v = value(o, record, &f);
        out.insert(f, v);
    }
    if fields.is_some() {
        out.insert("Id".into(), Value::String(id.to_owned()));
    }
    Ok(Value::Object(out))
}

/// A field's value as Salesforce reads it: stored, or derived (`IsDeleted`, a person's `Name`).
pub fn value(o: &ObjectSchema, record: &Record, field: &str) -> Value {
    if let Some(v) = record.get(field) {
        return v.clone();
    }
    match field {
        "IsDeleted" => Value::Bool(store::is_deleted(record)),
        "Name" if o.describe.field("LastName").is_some() => {
            let part = |k: &str| record.get(k).and_then(Value::as_str).filter(|s| !s.is_empty());
            let joined: Vec<&str> = [part("FirstName"), part("LastName")].into_iter().flatten().collect();
            if joined.is_empty() { Value::Null } else { Value::String(joined.join(" ")) }
        }
        _ => Value::Null,
    }
}
