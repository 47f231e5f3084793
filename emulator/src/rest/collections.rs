//! sObject Collections (`/composite/sobjects`): create, update, upsert and delete up to 200
//! records in one call, each answered by a save result (`{id, success, errors}`, errors with
//! `statusCode`), with `allOrNone` rolling all back (`ALL_OR_NONE_OPERATION_ROLLED_BACK` for
//! the records that were valid); and retrieve by ids (`null` for an id that is not there).

use super::sobjects::{readable, view};
use super::{Answer, Env, Request, json_error, method_not_allowed, not_found, param};
use crate::State;
use crate::error::SfError;
use serde_json::{Map, Value, json};

/// The most records one create, update, upsert or delete may carry.
pub const MAX_RECORDS: usize = 200;
/// The most ids one retrieve may ask for (`POST`; a `GET` is bounded by the URI length).
pub const MAX_RETRIEVE: usize = 2000;

/// Routes `/composite/sobjects/…` (`rest` is what follows `sobjects`).
pub fn route(env: Env<'_>, st: &mut State, req: &Request<'_>, rest: &[&str]) -> Answer {
    let m = req.method;
    match (m, rest) {
        ("POST", []) => write(env, st, req.body, Op::Create),
        ("PATCH", []) => write(env, st, req.body, Op::Update),
        ("DELETE", []) => delete(env, st, req.query),
        (_, []) => method_not_allowed(m, "POST,PATCH,DELETE"),
        ("GET", [object]) => {
            let ids = param(req.query, "ids").unwrap_or_default();
            let fields = param(req.query, "fields").unwrap_or_default();
            retrieve(env, st, object, split(&ids), split(&fields))
        }
        ("POST", [object]) => {
            let Some(Value::Object(body)) = req.body else { return json_error("expected {ids, fields}") };
            let strings = |k: &str| -> Vec<String> {
                body.get(k)
                    .and_then(Value::as_array)
                    .map_or_else(Vec::new, |a| a.iter().filter_map(Value::as_str).map(str::to_owned).collect())
            };
            retrieve(env, st, object, strings("ids"), strings("fields"))
        }
        (_, [_]) => method_not_allowed(m, "GET,POST"),
        ("PATCH", [object, field]) => write(env, st, req.body, Op::Upsert { object, field }),
        (_, [_, _]) => method_not_allowed(m, "PATCH"),
        _ => not_found(),
    }
}

fn split(list: &str) -> Vec<String> {
    list.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect()
}

#[derive(Clone, Copy)]
enum Op<'a> {
    Create,
    Update,
    Upsert { object: &'a str, field: &'a str },
}

fn too_many() -> Answer {
    Answer::errors(vec![SfError::new(
        "EXCEEDED_ID_LIMIT",
        "record limit reached. cannot submit more than 200 records into this call",
    )])
}

/// A record-level error: Salesforce names its code `statusCode` here.
fn record_errors(errors: &[SfError]) -> Value {
    Value::Array(
        errors
            .iter()
            .map(|e| json!({ "statusCode": e.error_code, "message": e.message, "fields": e.fields.clone().unwrap_or_default() }))
            .collect(),
    )
}

fn failure(id: Option<&str>, errors: &[SfError]) -> Value {
    let mut out = json!({ "success": false, "errors": record_errors(errors) });
    if let Some(id) = id {
        out["id"] = json!(id);
    }
    out
}

fn rolled_back() -> SfError {
    SfError::fields(
        "ALL_OR_NONE_OPERATION_ROLLED_BACK",
        "Record rolled back because not all records were valid and the request was using AllOrNone header",
        &[],
    )
}

/// Runs each record's write; with `all_or_none`, undoes them all when one failed.
fn run_all(
    st: &mut State,
    all_or_none: bool,
    n: usize,
    mut one: impl FnMut(&mut State, usize) -> Result<Value, (Option<String>, Vec<SfError>)>,
) -> Vec<Value> {
    let savepoint = st.store.begin();
    let outcomes: Vec<_> = (0..n).map(|i| one(st, i)).collect();
    let failed = outcomes.iter().any(Result::is_err);
    if failed && all_or_none {
        st.store.rollback(savepoint);
        outcomes
            .into_iter()
            .map(|o| match o {
                Ok(done) => failure(done.get("id").and_then(Value::as_str), &[rolled_back()]),
                Err((id, errors)) => failure(id.as_deref(), &errors),
            })
            .collect()
    } else {
        st.store.commit(savepoint);
        outcomes.into_iter().map(|o| o.unwrap_or_else(|(id, errors)| failure(id.as_deref(), &errors))).collect()
    }
}

fn write(env: Env<'_>, st: &mut State, body: Option<&Value>, op: Op<'_>) -> Answer {
    let Some(Value::Object(body)) = body else { return json_error("expected {allOrNone, records}") };
    let all_or_none = body.get("allOrNone").and_then(Value::as_bool).unwrap_or(false);
    let Some(records) = body.get("records").and_then(Value::as_array) else {
        return json_error("records is required");
    };
    if records.len() > MAX_RECORDS {
        return too_many();
    }
    let schema = &env.org.schema;
    let profile = st.profile.clone();
    let results = run_all(st, all_or_none, records.len(), |st, i| {
        let Some(record) = records[i].as_object() else {
            return Err((None, vec![SfError::new("JSON_PARSER_ERROR", "each record must be an object")]));
        };
        let kind = record.get("attributes").and_then(|a| a.get("type")).and_then(Value::as_str);
        let mut fields: Map<String, Value> = record.clone();
        fields.remove("attributes");
        match op {
            Op::Create => {
                let Some(kind) = kind else { return Err((None, vec![missing_type()])) };
                let w = st.store.insert(schema, &profile, kind, &fields).map_err(|e| (None, e))?;
                Ok(json!({ "id": w.id, "success": true, "errors": [] }))
            }
            Op::Update => {
                let id = fields
                    .iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case("id"))
                    .and_then(|(_, v)| v.as_str())
                    .map(str::to_owned);
                let Some(id) = id else {
                    return Err((
                        None,
                        vec![SfError::fields("MISSING_ARGUMENT", "Id not specified in an update call", &[])],
                    ));
                };
                let Some(kind) =
                    kind.map(str::to_owned).or_else(|| schema.object_of_id(&id).map(|o| o.describe.name.clone()))
                else {
                    return Err((Some(id), vec![missing_type()]));
                };
                st.store.update(schema, &profile, &kind, &id, &fields).map_err(|e| (Some(id.clone()), e))?;
                Ok(json!({ "id": id, "success": true, "errors": [] }))
            }
            Op::Upsert { object, field } => {
                if kind.is_some_and(|k| !k.eq_ignore_ascii_case(object)) {
                    return Err((
                        None,
                        vec![SfError::fields("INVALID_TYPE", format!("Records must be of type {object}"), &[])],
                    ));
                }
                let key =
                    fields.iter().find(|(k, _)| k.eq_ignore_ascii_case(field)).map(|(k, v)| (k.clone(), v.clone()));
                let Some((key_name, key)) = key.filter(|(_, v)| !v.is_null()) else {
                    return Err((
                        None,
                        vec![SfError::fields("MISSING_ARGUMENT", format!("{field} not specified"), &[])],
                    ));
                };
                let key = key.as_str().map_or_else(|| key.to_string(), str::to_owned);
                fields.remove(&key_name);
                let w = st.store.upsert(schema, &profile, object, field, &key, &fields).map_err(|e| (None, e))?;
                Ok(json!({ "id": w.id, "success": true, "errors": [], "created": w.created }))
            }
        }
    });
    Answer::json(200, Value::Array(results))
}

fn missing_type() -> SfError {
    SfError::fields("INVALID_TYPE", "The record's attributes must name its sObject type", &[])
}

fn delete(env: Env<'_>, st: &mut State, query: &str) -> Answer {
    let ids = split(&param(query, "ids").unwrap_or_default());
    let all_or_none = param(query, "allOrNone").is_some_and(|v| v.eq_ignore_ascii_case("true"));
    if ids.len() > MAX_RECORDS {
        return too_many();
    }
    let schema = &env.org.schema;
    let profile = st.profile.clone();
    let results = run_all(st, all_or_none, ids.len(), |st, i| {
        let id = &ids[i];
        let Some(o) = schema.object_of_id(id) else {
            return Err((Some(id.clone()), vec![SfError::fields("MALFORMED_ID", format!("malformed id {id}"), &[])]));
        };
        st.store.delete(schema, &profile, &o.describe.name, id).map_err(|e| (Some(id.clone()), e))?;
        Ok(json!({ "id": id, "success": true, "errors": [] }))
    });
    Answer::json(200, Value::Array(results))
}

fn retrieve(env: Env<'_>, st: &State, object: &str, ids: Vec<String>, fields: Vec<String>) -> Answer {
    let Some(o) = readable(env, st, object) else { return not_found() };
    if ids.len() > MAX_RETRIEVE {
        return too_many();
    }
    if fields.is_empty() {
        return Answer::errors(vec![SfError::new("MISSING_ARGUMENT", "The fields parameter is required")]);
    }
    let mut out = Vec::with_capacity(ids.len());
    for id in &ids {
        match st.store.get(&o.describe.name, id) {
            Some(record) => match view(env, st, o, record, Some(&fields)) {
                Ok(v) => out.push(v),
                Err(e) => return Answer::errors(e),
            },
            None => out.push(Value::Null),
        }
    }
    Answer::json(200, Value::Array(out))
}
