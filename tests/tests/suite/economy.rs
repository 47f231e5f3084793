//! Salesforce API economy: bookings of one tenant that are mapped or committed at the same time
//! share requests — finds as one `IN` query, commits as one Composite Graph request — and each
//! still gets exactly its own answer, all-or-nothing.

use super::salesforce::{booking, client, emulator, map};
use portico_host::salesforce::{SalesforceClient, SalesforceError};
use portico_model::staging::{Unit, WriteMode};
use portico_model::{Crm, FindQuery, Value};
use std::sync::Arc;
use std::time::Duration;

/// lead-event's unit (a Lead, then an Event whose `WhoId` refers to it) for a new attendee.
async fn lead_event_unit(client: &Arc<SalesforceClient>) -> Unit {
    let unit = map(client, "lead-event", booking("lead-event", "new-lead")).await.unwrap();
    let sobjects: Vec<&str> = unit.records.iter().map(|r| r.reference.sobject.as_str()).collect();
    assert_eq!(sobjects, ["Lead", "Event"]);
    unit
}

/// Runs `op` on each item at once, as concurrent jobs of one tenant would; the answers in order.
async fn together<T, R, F>(
    client: &Arc<SalesforceClient>,
    items: &[T],
    op: impl Fn(Arc<SalesforceClient>, T) -> F,
) -> Vec<R>
where
    T: Clone + Send + 'static,
    R: Send + 'static,
    F: Future<Output = R> + Send + 'static,
{
    let tasks: Vec<_> = items.iter().cloned().map(|item| tokio::spawn(op(client.clone(), item))).collect();
    let mut answers = Vec::new();
    for t in tasks {
        answers.push(t.await.unwrap());
    }
    answers
}

/// The unit for another booking: its Lead with `email`, its Event keyed by `booking_id`.
fn unit_for(template: &Unit, email: &str, booking_id: &str) -> Unit {
    let mut unit = template.clone();
    for record in &mut unit.records {
        let old_key = match &mut record.mode {
            WriteMode::Upsert { key, .. } => Some(std::mem::replace(key, booking_id.to_owned())),
            WriteMode::Create => None,
        };
        for field in &mut record.fields {
            if field.name == "Email" {
                field.value = Value::Text(email.to_owned());
            } else if old_key.as_ref().is_some_and(|k| field.value == Value::Text(k.clone())) {
                field.value = Value::Text(booking_id.to_owned());
            }
        }
    }
    unit
}

/// A find of Leads by email, as lead-event asks it.
fn by_email(email: &str, limit: u32) -> FindQuery {
    FindQuery {
        sobject: "Lead".into(),
        field: "Email".into(),
        value: Value::Text(email.into()),
        fields: vec!["Email".into(), "LastName".into()],
        limit,
        oldest_first: true,
        max_bytes: 1 << 20,
    }
}

#[tokio::test]
async fn commits_arriving_together_share_a_graph_request_and_a_refused_one_fails_alone() {
    let emu = emulator().await;
    let client = Arc::new(client(&emu));
    let template = lead_event_unit(&client).await;
    let units: Vec<Unit> = (0..10)
        .map(|i| {
            // The sixth booking's attendee address is not one: Salesforce refuses its Lead.
            let email = if i == 5 { "not an address".to_owned() } else { format!("eco-{i}@attendee.example") };
            unit_for(&template, &email, &format!("bk-eco-{i}"))
        })
        .collect();
    // A distant org: commits that arrive while one is in flight queue up behind it.
    emu.org.with(|s| s.faults.latency = Duration::from_millis(150));
    let calls = emu.org.api_calls();
    let results = together(&client, &units, |client, unit| async move { client.commit(&unit).await }).await;
    let used = emu.org.api_calls() - calls;
    assert!(used <= 3, "10 commits in {used} requests (the first alone, the rest in a graph request)");
    assert!(emu.org.calls("graph") >= 1, "a Composite Graph request was sent");

    for (i, result) in results.iter().enumerate() {
        let events = emu.org.records("Event");
        let event = events.iter().find(|e| e["Booking_Id__c"] == format!("bk-eco-{i}").as_str());
        if i == 5 {
            let Err(SalesforceError::Record { reference_id, sobject, code, .. }) = result else {
                panic!("the refused booking fails with its own error: {result:?}")
            };
            assert_eq!((sobject.as_str(), code.as_str()), ("Lead", "INVALID_EMAIL_ADDRESS"), "{reference_id}");
            assert!(event.is_none(), "nothing of the refused booking was written");
            assert!(!emu.org.records("Lead").iter().any(|l| l["Email"] == "not an address"));
        } else {
            let committed = result.as_ref().unwrap_or_else(|e| panic!("booking {i} commits: {e}"));
            let lead = &committed.records[0];
            assert!(lead.created && lead.sobject == "Lead");
            let event = event.unwrap_or_else(|| panic!("booking {i}'s Event is in the org"));
            assert_eq!(event["WhoId"], lead.id.as_str(), "booking {i}'s Event refers to its own Lead");
        }
    }
}

#[tokio::test]
async fn finds_arriving_together_share_one_query_and_each_gets_its_own_answer() {
    let emu = emulator().await;
    let client = Arc::new(client(&emu));
    let template = lead_event_unit(&client).await;
    // Three Leads share an address (created in this order), two have their own.
    for (i, email) in
        ["dup@x.example", "dup@x.example", "dup@x.example", "Solo@X.example", "o'brien@x.example"].iter().enumerate()
    {
        let mut unit = unit_for(&template, email, &format!("bk-seed-{i}"));
        unit.records.truncate(1);
        client.commit(&unit).await.unwrap();
    }
    let finds = [
        by_email("dup@x.example", 1),
        by_email("solo@x.example", 1), // text compares case-insensitively
        by_email("dup@x.example", 5),
        by_email("nobody@x.example", 1),
        by_email("o'brien@x.example", 2),
        by_email("x' OR Email != '", 1), // still a literal when combined
        by_email("SOLO@x.example", 3),
        by_email("linus@kernel.example", 1),
    ];
    // Each find alone, one at a time: what each must get.
    let mut expected = Vec::new();
    for q in &finds {
        expected.push(client.find(q).await.unwrap());
    }
    assert_eq!(expected[0].len(), 1);
    assert_eq!(expected[2].len(), 3);
    assert_eq!(expected[1].len(), 1);
    assert!(expected[3].is_empty() && expected[5].is_empty());

    emu.org.with(|s| s.faults.latency = Duration::from_millis(150));
    let queries = emu.org.calls("query");
    let answers = together(&client, &finds, |client, q| async move { client.find(&q).await }).await;
    for (i, (answer, expected)) in answers.into_iter().zip(&expected).enumerate() {
        assert_eq!(&answer.unwrap(), expected, "find {i} gets what its own query returns");
    }
    let used = emu.org.calls("query") - queries;
    assert!(used <= 2, "8 finds in {used} queries (the first alone, the rest combined)");

    // A combined query that comes back full: `dup` and `solo` ask for one record each, so it
    // asks for two, and the three older duplicates may fill it. `solo`, crowded out, is asked
    // again on its own and still gets its Lead.
    let finds = [by_email("nobody@x.example", 1), by_email("dup@x.example", 1), by_email("solo@x.example", 1)];
    let answers: Vec<_> = together(&client, &finds, |client, q| async move { client.find(&q).await })
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    assert!(answers[0].is_empty());
    assert_eq!(answers[1], expected[0], "the oldest duplicate");
    assert_eq!(answers[2], expected[1], "solo's Lead, though the combined query was full");
}

#[tokio::test]
async fn a_find_answer_is_reused_but_never_across_a_commit_of_its_sobject() {
    let emu = emulator().await;
    let client = Arc::new(client(&emu).with_find_cache(Duration::from_secs(60)));
    let template = lead_event_unit(&client).await;
    let contact = FindQuery { sobject: "Contact".into(), ..by_email("kept@x.example", 1) };
    let lead = by_email("kept@x.example", 1);
    let queries = emu.org.calls("query");
    let asked = || emu.org.calls("query") - queries;

    assert!(client.find(&lead).await.unwrap().is_empty());
    assert!(client.find(&contact).await.unwrap().is_empty());
    assert!(client.find(&lead).await.unwrap().is_empty());
    assert!(client.find(&contact).await.unwrap().is_empty());
    assert_eq!(asked(), 2, "the second finds are answered from the first ones");

    // The booking's commit creates the Lead: the Lead's answer is asked again and sees it; the
    // Contact's, which no commit wrote, still comes from the first query.
    let committed = client.commit(&unit_for(&template, "kept@x.example", "bk-kept")).await.unwrap();
    let found = client.find(&lead).await.unwrap();
    assert_eq!(found.iter().map(|f| f.id.as_str()).collect::<Vec<_>>(), [committed.records[0].id.as_str()]);
    assert!(client.find(&contact).await.unwrap().is_empty());
    assert_eq!(asked(), 3);
    assert_eq!(client.find(&lead).await.unwrap(), found, "kept again once the commit ended");
    assert_eq!(asked(), 3);

    // A refused commit may have written nothing, but the answers about it are asked again all
    // the same (an unknown outcome could have written).
    let refused = unit_for(&template, "not an address", "bk-refused");
    assert!(client.commit(&refused).await.is_err());
    assert_eq!(client.find(&lead).await.unwrap(), found);
    assert_eq!(asked(), 4);
}

#[tokio::test]
async fn a_commit_its_caller_gave_up_on_still_keeps_the_answers_it_changes_out_of_the_cache() {
    let emu = emulator().await;
    let client = Arc::new(client(&emu).with_find_cache(Duration::from_secs(60)));
    let template = lead_event_unit(&client).await;
    let late = by_email("late@x.example", 1);
    // A distant org: a second commit queues behind the first and goes in a later request.
    emu.org.with(|s| s.faults.latency = Duration::from_millis(150));
    let sent = || emu.org.calls("composite") + emu.org.calls("graph");
    let before = sent();
    let first = {
        let (client, unit) = (client.clone(), unit_for(&template, "first@x.example", "bk-first"));
        tokio::spawn(async move { client.commit(&unit).await })
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while sent() == before {
        assert!(std::time::Instant::now() < deadline, "the first commit was sent");
        tokio::task::yield_now().await;
    }
    let given_up = {
        let (client, unit) = (client.clone(), unit_for(&template, "late@x.example", "bk-late"));
        tokio::spawn(async move { client.commit(&unit).await })
    };
    // Its caller stops waiting (a lost lease) once its commit has begun: the unit stays
    // queued and is still committed.
    for _ in 0..10 {
        tokio::task::yield_now().await;
    }
    given_up.abort();
    assert!(client.find(&late).await.unwrap().is_empty(), "not written yet");
    first.await.unwrap().unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !emu.org.records("Lead").iter().any(|l| l["Email"] == "late@x.example") {
        assert!(std::time::Instant::now() < deadline, "the queued commit landed");
        tokio::task::yield_now().await;
    }
    let found = client.find(&late).await.unwrap();
    assert_eq!(found.len(), 1, "the answer from before it landed was not kept");
}
