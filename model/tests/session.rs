//! The capability policy without Wasm: a session over the recorded org, called directly.
//! Each staging rule has a case here that names its error kind, sObject and field.

use portico_model::session::CallError;
use portico_model::{
    Date, DateTime, ErrorKind, Grant, HostError, Limits, LocalOrg, Manifest, NewRecord, RecordRef, Session, Value,
};
use std::collections::BTreeMap;
use std::future::Future;
use std::path::Path;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

fn now<F: Future>(f: F) -> F::Output {
    match pin!(f).poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(v) => v,
        Poll::Pending => unreachable!("the recorded org answers at once"),
    }
}

const MANIFEST: &str = r#"
[plugin]
name = "policy-test"
version = "1"

[objects.Lead]
operations = ["describe", "find", "create"]
read = ["Email", "Name", "Title"]
write = ["FirstName", "LastName", "Company", "Email", "LeadSource", "NumberOfEmployees", "Id", "CreatedDate"]

[objects.Event]
operations = ["create", "upsert"]
write = ["Subject", "StartDateTime", "EndDateTime", "DurationInMinutes", "WhoId", "WhatId", "IsAllDayEvent", "ActivityDate", "Booking_Id__c", "Booking_Status__c"]

[objects.Task]
operations = ["create"]
write = ["Subject", "Status", "ActivityDate"]
"#;

fn org() -> LocalOrg {
    LocalOrg::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/salesforce/describe")).unwrap()
}

fn session_with(limits: Limits) -> Session {
    let grant: Grant = Manifest::from_toml(MANIFEST).unwrap().objects;
    Session::new(Arc::new(grant), Arc::new(BTreeMap::new()), limits)
}

fn session() -> Session {
    session_with(Limits::default())
}

fn lead() -> NewRecord {
    NewRecord::new("Lead").set("LastName", "Lovelace").set("Company", "Engines")
}

fn t(s: &str) -> DateTime {
    DateTime::parse_rfc3339(s).unwrap()
}

fn refused(r: Result<RecordRef, CallError>) -> HostError {
    match r {
        Err(CallError::Refused(e)) => e,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

fn assert_refused(r: Result<RecordRef, CallError>, kind: ErrorKind, field: Option<&str>) -> HostError {
    let e = refused(r);
    assert_eq!(e.kind, kind, "{e}");
    assert_eq!(e.field.as_deref(), field, "{e}");
    e
}

#[test]
fn an_sobject_or_operation_outside_the_grant_is_refused_before_any_io() {
    let (org, mut s) = (org(), session());
    let e =
        assert_refused(now(s.create(&org, NewRecord::new("Account").set("Name", "x"))), ErrorKind::NotGranted, None);
    assert_eq!(e.message, "sObject Account is not granted to this plugin");
    let e = assert_refused(now(s.upsert(&org, lead(), "Email".into(), "a@b.c".into())), ErrorKind::NotGranted, None);
    assert_eq!(e.message, "`upsert` on Lead is not granted to this plugin");
    let found = now(s.find(&org, "Event", "Subject", Value::Text("x".into()), vec![], 1));
    assert!(matches!(found, Err(CallError::Refused(e)) if e.kind == ErrorKind::NotGranted));
}

#[test]
fn describe_shows_only_granted_and_visible_fields() {
    let (org, mut s) = (org(), session());
    let info = now(s.describe(&org, "lead")).unwrap().info();
    assert_eq!(info.name, "Lead");
    let names: Vec<&str> = info.fields.iter().map(|f| f.name.as_str()).collect();
    assert!(names.contains(&"LastName") && names.contains(&"Name") && names.contains(&"Id"));
    assert!(!names.contains(&"Phone"), "Phone is not granted");
    assert!(info.field("LastName").unwrap().required);
    assert!(!info.field("Name").unwrap().createable, "read-only grant");
    assert!(info.picklist_values("LeadSource").contains(&"Web"));
}

#[test]
fn unknown_ungranted_and_read_only_fields_are_told_apart() {
    let (org, mut s) = (org(), session());
    let e = assert_refused(
        now(s.create(&org, lead().set("Shoe_Size__c", 42))),
        ErrorKind::UnknownField,
        Some("Shoe_Size__c"),
    );
    assert!(e.message.contains("no field `Shoe_Size__c`"));
    assert_refused(now(s.create(&org, lead().set("Phone", "1"))), ErrorKind::NotGranted, Some("Phone"));
    assert_refused(now(s.create(&org, lead().set("Title", "CTO"))), ErrorKind::NotGranted, Some("Title"));
    assert_refused(now(s.create(&org, lead().set("Name", "x"))), ErrorKind::NotCreateable, Some("Name"));
    assert_refused(now(s.create(&org, lead().set("Id", "00QDn00000XyZaBMAV"))), ErrorKind::NotCreateable, Some("Id"));
    assert_refused(
        now(s.create(&org, lead().set("CreatedDate", t("2026-01-01T00:00:00Z")))),
        ErrorKind::NotCreateable,
        Some("CreatedDate"),
    );
}

#[test]
fn types_lengths_and_picklists_are_checked() {
    let (org, mut s) = (org(), session());
    let e = assert_refused(
        now(s.create(&org, lead().set("NumberOfEmployees", "many"))),
        ErrorKind::WrongType,
        Some("NumberOfEmployees"),
    );
    assert_eq!(e.message, "field Lead.NumberOfEmployees is a int field and does not take a text value");
    assert_refused(
        now(s.create(&org, lead().set("NumberOfEmployees", 2.5))),
        ErrorKind::WrongType,
        Some("NumberOfEmployees"),
    );
    let e = assert_refused(
        now(s.create(&org, NewRecord::new("Lead").set("LastName", "x".repeat(81)))),
        ErrorKind::TooLong,
        Some("LastName"),
    );
    assert!(e.message.contains("at most 80 characters; the value has 81"));
    let event = NewRecord::new("Event").set("StartDateTime", t("2026-12-01T10:00:00Z")).set("DurationInMinutes", 30);
    let e = assert_refused(
        now(s.create(&org, event.clone().set("Booking_Status__c", "Maybe"))),
        ErrorKind::BadPicklistValue,
        Some("Booking_Status__c"),
    );
    assert!(e.message.contains("allowed: Booked, Rescheduled, Cancelled"));
    assert_refused(
        now(s.create(&org, NewRecord::new("Event").set("StartDateTime", Date::new(2026, 12, 1).unwrap()))),
        ErrorKind::WrongType,
        Some("StartDateTime"),
    );
    let e = assert_refused(
        now(s.create(&org, NewRecord::new("Lead").set("LastName", Value::Null))),
        ErrorKind::RequiredFieldMissing,
        Some("LastName"),
    );
    assert_eq!(e.message, "field Lead.LastName cannot be null");
}

#[test]
fn references_must_point_at_earlier_records_of_an_allowed_type_or_be_ids() {
    let (org, mut s) = (org(), session());
    let event = || NewRecord::new("Event").set("StartDateTime", t("2026-12-01T10:00:00Z")).set("DurationInMinutes", 30);
    let ghost = RecordRef { reference_id: "Lead_9".into(), sobject: "Lead".into() };
    let e = assert_refused(now(s.create(&org, event().set("WhoId", ghost))), ErrorKind::BadReference, Some("WhoId"));
    assert!(e.message.contains("`Lead_9` names no record staged earlier"));
    assert_refused(now(s.create(&org, event().set("WhoId", "not-an-id"))), ErrorKind::MalformedId, Some("WhoId"));
    let task = now(s.create(&org, NewRecord::new("Task").set("Subject", "t"))).unwrap();
    let e = assert_refused(now(s.create(&org, event().set("WhoId", &task))), ErrorKind::BadReference, Some("WhoId"));
    assert!(e.message.contains("can point at Contact or Lead, not at Task"), "{}", e.message);
    let lead = now(s.create(&org, lead())).unwrap();
    assert_eq!(lead.reference_id, "Lead_1");
    now(s.create(&org, event().set("WhoId", &lead).set("WhatId", "001Dn00000QrStUIAZ"))).unwrap();
    let request = s.finish().unwrap().composite_request();
    assert_eq!(request["compositeRequest"][2]["body"]["WhoId"], "@{Lead_1.id}");
    assert_eq!(request["allOrNone"], true);
}

#[test]
fn required_fields_and_event_rules_are_checked_when_staging_ends() {
    let (org, mut s) = (org(), session());
    now(s.create(&org, NewRecord::new("Lead").set("LastName", "Only"))).unwrap();
    let e = s.finish().unwrap_err();
    assert_eq!((e.kind, e.field.as_deref()), (ErrorKind::RequiredFieldMissing, Some("Company")));
    assert_eq!(e.message, "Lead_1 (Lead) is missing required field Company");

    let mut s = session();
    now(s.create(&org, NewRecord::new("Event").set("StartDateTime", t("2026-12-01T10:00:00Z")))).unwrap();
    let e = s.finish().unwrap_err();
    assert!(e.message.contains("EndDateTime (or DurationInMinutes)"), "{}", e.message);

    let mut s = session();
    let all_day =
        NewRecord::new("Event").set("IsAllDayEvent", true).set("ActivityDate", Date::new(2026, 12, 1).unwrap());
    now(s.create(&org, all_day)).unwrap();
    s.finish().unwrap();
}

#[test]
fn upserts_need_an_external_id_key_given_apart_from_the_fields() {
    let (org, mut s) = (org(), session());
    let event = || NewRecord::new("Event").set("StartDateTime", t("2026-12-01T10:00:00Z")).set("DurationInMinutes", 30);
    let e = assert_refused(
        now(s.upsert(&org, event(), "Subject".into(), "x".into())),
        ErrorKind::InvalidArgument,
        Some("Subject"),
    );
    assert!(e.message.contains("not an external id"));
    let twice = event().set("Booking_Id__c", "bk_1");
    assert_refused(
        now(s.upsert(&org, twice, "Booking_Id__c".into(), "bk_1".into())),
        ErrorKind::InvalidArgument,
        Some("Booking_Id__c"),
    );
    now(s.upsert(&org, event(), "booking_id__c".into(), "bk 1/2".into())).unwrap();
    let request = s.finish().unwrap().composite_request();
    assert_eq!(request["compositeRequest"][0]["method"], "PATCH");
    assert_eq!(request["compositeRequest"][0]["url"], "/services/data/v62.0/sobjects/Event/Booking_Id__c/bk%201%2F2");
    assert!(request["compositeRequest"][0]["body"].get("Booking_Id__c").is_none());
}

#[test]
fn a_field_given_twice_is_refused() {
    let (org, mut s) = (org(), session());
    assert_refused(now(s.create(&org, lead().set("lastname", "again"))), ErrorKind::InvalidArgument, Some("LastName"));
}

#[test]
fn find_is_exact_case_insensitive_bounded_and_only_returns_granted_fields() {
    let (org, mut s) = (org(), session());
    let found =
        now(s.find(&org, "Lead", "Email", Value::Text("LINUS@kernel.example".into()), vec!["Name".into()], 5)).unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].id, "00QDn00000XyZaBMAV");
    let injection = Value::Text("x' OR Email != '".into());
    assert!(now(s.find(&org, "Lead", "Email", injection, vec![], 5)).unwrap().is_empty());
    let e = now(s.find(&org, "Lead", "Email", Value::Text("a".into()), vec!["Phone".into()], 5)).unwrap_err();
    assert!(matches!(e, CallError::Refused(ref e) if e.kind == ErrorKind::NotGranted), "{e:?}");
    let e = now(s.find(&org, "Lead", "Email", Value::Text("a".into()), vec![], 500)).unwrap_err();
    assert!(e.to_string().contains("find limit must be 1 to 200"));
}

#[test]
fn limits_stop_the_session_with_the_limit_named() {
    let org = org();
    let mut s = session_with(Limits { staged_records: 2, host_calls: 4, log_bytes: 10, ..Limits::default() });
    now(s.create(&org, lead())).unwrap();
    now(s.create(&org, lead())).unwrap();
    let err = now(s.create(&org, lead())).unwrap_err();
    assert_eq!(err.to_string(), "limit exceeded: staged_records (max 2)");
    assert!(
        s.log(portico_model::session::LogLevel::Info, "more than ten bytes".into())
            .unwrap_err()
            .to_string()
            .contains("log_bytes")
    );
    let err = s.config("x").unwrap_err();
    assert_eq!(err.to_string(), "limit exceeded: host_calls (max 4)");
}

#[test]
fn find_refuses_repeated_fields_and_more_fields_than_the_object_has_before_any_io() {
    let (org, mut s) = (org(), session());
    // One granted name repeated millions of times costs the guest 8 bytes an entry.
    let many = vec!["Email".to_owned(); 2_000_000];
    let e = now(s.find(&org, "Lead", "Email", Value::Text("a@b.c".into()), many, 200)).unwrap_err();
    assert!(matches!(&e, CallError::Limit(l) if l.limit == portico_model::Limit::FindFields), "{e:?}");
    assert!(e.to_string().starts_with("limit exceeded: find_fields (max "), "{e}");
    let twice = vec!["Email".to_owned(), "email".to_owned()];
    let e = now(s.find(&org, "Lead", "Email", Value::Text("a@b.c".into()), twice, 5)).unwrap_err();
    assert!(e.to_string().contains("find asks for Lead.Email twice"), "{e}");
    assert_eq!(s.salesforce_calls, 1, "only the describe reached the org");
}

#[test]
fn a_record_with_more_fields_than_the_object_has_is_refused_before_checking_them() {
    let (org, mut s) = (org(), session());
    let mut record = lead();
    for i in 0..10_000 {
        record = record.set(format!("F{i}__c"), "x");
    }
    let e = refused(now(s.create(&org, record)));
    assert_eq!(e.kind, ErrorKind::InvalidArgument);
    assert!(e.message.contains("the record sets 10002 fields"), "{}", e.message);
}

#[test]
fn salesforce_round_trips_are_limited_per_invocation() {
    let org = org();
    let mut s = session_with(Limits { salesforce_calls: 3, ..Limits::default() });
    let find = |s: &mut Session| now(s.find(&org, "Lead", "Email", Value::Text("x@y.z".into()), vec![], 1));
    find(&mut s).unwrap(); // the describe and the query
    find(&mut s).unwrap(); // a query; the describe is this invocation's already
    let err = find(&mut s).unwrap_err();
    assert_eq!(err.to_string(), "limit exceeded: salesforce_calls (max 3)");
    assert!(matches!(err, CallError::Limit(_)));
}

#[test]
fn a_text_longer_than_the_field_matches_nothing_without_asking_the_org() {
    let (org, mut s) = (org(), session());
    now(s.describe(&org, "Lead")).unwrap();
    let long = Value::Text("x".repeat(100_000));
    assert!(now(s.find(&org, "Lead", "Email", long, vec![], 1)).unwrap().is_empty());
    assert_eq!(s.salesforce_calls, 1, "only the describe");
}

#[test]
fn answers_larger_than_result_bytes_stop_the_session_with_the_limit_named() {
    let org = org();
    let mut s = session_with(Limits { result_bytes: 500, ..Limits::default() });
    let err = now(s.describe(&org, "Lead")).unwrap_err();
    assert_eq!(err.to_string(), "limit exceeded: result_bytes (max 500)");
    let mut s = session_with(Limits { result_bytes: 60, ..Limits::default() });
    let err = now(s.find(&org, "Lead", "Email", Value::Text("linus@kernel.example".into()), vec!["Name".into()], 5))
        .unwrap_err();
    assert_eq!(err.to_string(), "limit exceeded: result_bytes (max 60)");
}

/// An org whose every call fails as `class`, and whose describes are all cached.
struct Failing(LocalOrg, portico_model::crm::FailureClass);

#[async_trait::async_trait]
impl portico_model::Crm for Failing {
    async fn describe(
        &self,
        sobject: &str,
    ) -> Result<Arc<portico_model::describe::SObjectDescribe>, portico_model::CrmError> {
        self.0.describe(sobject).await
    }
    fn cached_describe(&self, sobject: &str) -> Option<Arc<portico_model::describe::SObjectDescribe>> {
        self.0.describe_sync(sobject)
    }
    async fn sobjects(&self) -> Result<Vec<String>, portico_model::CrmError> {
        self.0.sobjects().await
    }
    async fn find(&self, _: &portico_model::FindQuery) -> Result<Vec<portico_model::Found>, portico_model::CrmError> {
        Err(portico_model::CrmError::Unavailable { class: self.1, message: "invalid_grant: expired".into() })
    }
}

#[test]
fn an_org_failure_keeps_its_class_whatever_the_plugin_does_with_it_and_cached_describes_are_free() {
    use portico_model::crm::FailureClass;
    let org = Failing(org(), FailureClass::ReconnectNeeded);
    let mut s = session();
    let e = now(s.find(&org, "Lead", "Email", Value::Text("x@y.z".into()), vec![], 1)).unwrap_err();
    assert!(matches!(&e, CallError::Refused(h) if h.kind == ErrorKind::Unavailable), "{e:?}");
    assert_eq!(s.crm_failure, Some((FailureClass::ReconnectNeeded, "invalid_grant: expired".into())));
    assert_eq!(s.salesforce_calls, 1, "the cached describe cost nothing, the query one");
}

#[test]
fn long_log_lines_are_kept_clipped() {
    let mut s = session();
    s.log(portico_model::session::LogLevel::Info, "y".repeat(10_000)).unwrap();
    assert!(s.logs[0].message.len() < 4_200);
    assert!(s.logs[0].message.ends_with("more bytes]"));
    assert_eq!(s.log_bytes(), 10_000, "charged as sent");
}
