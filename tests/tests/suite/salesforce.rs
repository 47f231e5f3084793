//! The real Salesforce client against the emulator over HTTP: every example plugin end to end,
//! atomic commits, field-level security, injection, SSRF and every fault class.

use super::{root, runtime};
use portico_emulator::credentials::{CLIENT_ID, CLIENT_SECRET};
use portico_emulator::{Emulator, Org, Profile};
use portico_host::salesforce::{Auth, Connection, SalesforceClient, SalesforceError, Secret};
use portico_host::{Call, InvokeError};
use portico_model::staging::Unit;
use portico_model::{Booking, Crm, ErrorKind, FindQuery, Limits, MappingError, Value};
use std::collections::BTreeMap;
use std::sync::Arc;

pub(super) async fn emulator() -> Emulator {
    Emulator::start(Org::load(&root().join("tests/fixtures/salesforce/describe")).unwrap()).await.unwrap()
}

pub(super) fn client(emulator: &Emulator) -> SalesforceClient {
    let allow = vec![emulator.base_url.trim_start_matches("http://").to_owned()];
    let auth = Auth::ClientCredentials { client_id: CLIENT_ID.into(), client_secret: Secret::new(CLIENT_SECRET) };
    SalesforceClient::new(Connection::new(&emulator.base_url, &emulator.base_url, auth, &allow).unwrap()).unwrap()
}

pub(super) fn booking(example: &str, sample: &str) -> Booking {
    let path = root().join(format!("plugins/{example}/samples/{sample}.booking.json"));
    Booking::from_json(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn config(example: &str) -> BTreeMap<String, String> {
    std::fs::read_to_string(root().join(format!("plugins/{example}/samples/config.json")))
        .map(|t| serde_json::from_str(&t).unwrap())
        .unwrap_or_default()
}

/// Runs an example on a booking against the org; its unit, not committed.
pub(super) async fn map(client: &Arc<SalesforceClient>, example: &str, booking: Booking) -> Result<Unit, String> {
    let rt = runtime();
    let plugin = rt.load(portico_plugins::example(example).unwrap().wasm).unwrap();
    let call = Call {
        booking,
        grant: Arc::new(plugin.manifest.objects.clone()),
        config: Arc::new(config(example)),
        limits: Limits::default(),
        crm: client.clone(),
    };
    rt.invoke(&plugin, call).await.result.map_err(|e| e.to_string())
}

async fn map_and_commit(
    client: &Arc<SalesforceClient>,
    example: &str,
    booking: Booking,
) -> Result<portico_host::salesforce::Committed, String> {
    let unit = map(client, example, booking).await?;
    client.commit(&unit).await.map_err(|e| e.to_string())
}

#[tokio::test]
async fn every_example_lands_in_the_org_in_one_composite_call() {
    let cases = [
        ("lead-event", "new-lead", vec!["Lead", "Event"]),
        ("owner-routing", "organizer-is-a-user-contact-with-account", vec!["Event"]),
        ("followup-task", "lead", vec!["Task"]),
        ("configurable", "new-attendee", vec!["Lead", "Event", "Task"]),
    ];
    for (example, sample, objects) in cases {
        let emu = emulator().await;
        let client = Arc::new(client(&emu));
        let committed = map_and_commit(&client, example, booking(example, sample))
            .await
            .unwrap_or_else(|e| panic!("{example}: {e}"));
        let sobjects: Vec<&str> = committed.records.iter().map(|r| r.sobject.as_str()).collect();
        assert_eq!(sobjects, objects, "{example}");
        assert_eq!(emu.org.calls("composite"), 1, "{example}: one commit call");
        for r in &committed.records {
            let stored = emu.org.records(&r.sobject);
            assert!(stored.iter().any(|s| s["Id"] == r.id.as_str()), "{example}: {} {} is in the org", r.sobject, r.id);
        }
        // The same booking again: describes come from the cache, the upsert updates, no duplicates.
        let describes = emu.org.calls("describe");
        let again = map_and_commit(&client, example, booking(example, sample)).await.unwrap();
        assert_eq!(emu.org.calls("composite"), 2);
        assert_eq!(emu.org.calls("describe"), describes, "{example}: no describe calls once warm");
        if example != "configurable" && example != "lead-event" {
            assert!(again.records.iter().all(|r| !r.created), "{example}: a retry updates, never duplicates");
        }
    }
}

#[tokio::test]
async fn an_expired_describe_is_revalidated_and_kept_on_304() {
    let emu = emulator().await;
    let client = client(&emu).with_describe_ttl(std::time::Duration::ZERO);
    let first = client.describe_object("Lead").await.unwrap();
    let second = client.describe_object("Lead").await.unwrap();
    assert!(Arc::ptr_eq(&first, &second), "the 304 kept the cached describe");
    assert_eq!(emu.org.calls("describe"), 2);
}

#[tokio::test]
async fn a_retried_lead_event_booking_never_duplicates() {
    let emu = emulator().await;
    let client = Arc::new(client(&emu));
    map_and_commit(&client, "lead-event", booking("lead-event", "new-lead")).await.unwrap();
    map_and_commit(&client, "lead-event", booking("lead-event", "new-lead")).await.unwrap();
    let ada: Vec<_> = emu.org.records("Lead").into_iter().filter(|l| l["Email"] == "ada@analytical.example").collect();
    assert_eq!(ada.len(), 1, "the second run finds the Lead by email");
    assert_eq!(emu.org.records("Event").iter().filter(|e| e["Booking_Id__c"] == "bk_1001").count(), 1);
}

#[tokio::test]
async fn a_failed_commit_leaves_nothing_and_names_the_record() {
    let emu = emulator().await;
    let client = Arc::new(client(&emu));
    let unit = map(&client, "lead-event", booking("lead-event", "new-lead")).await.unwrap();
    // Between mapping and commit an admin makes the Event field read-only for the user.
    emu.org.with(|s| s.profile = Profile::default().read_only("Event", "Booking_Status__c"));
    let leads = emu.org.records("Lead").len();
    let err = client.commit(&unit).await.unwrap_err();
    let SalesforceError::Record { reference_id, sobject, code, .. } = &err else { panic!("{err}") };
    assert_eq!(
        (reference_id.as_str(), sobject.as_str(), code.as_str()),
        ("Event_1", "Event", "INVALID_FIELD_FOR_INSERT_UPDATE")
    );
    assert!(!err.is_transient());
    assert_eq!(emu.org.records("Lead").len(), leads, "allOrNone: the Lead was rolled back");
}

#[tokio::test]
async fn fields_hidden_by_field_level_security_are_neither_visible_nor_writable() {
    let emu = emulator().await;
    emu.org.with(|s| s.profile = Profile::default().hide("Lead", "Phone"));
    let client = Arc::new(client(&emu));
    let describe = client.describe("Lead").await.unwrap();
    assert!(describe.field("Phone").is_none());
    let err = map_and_commit(&client, "lead-event", booking("lead-event", "new-lead")).await.unwrap_err();
    assert!(err.contains("unknown-field") && err.contains("Phone"), "{err}");
    assert_eq!(emu.org.calls("composite"), 0, "refused before Salesforce saw a write");
}

#[tokio::test]
async fn find_values_stay_literals() {
    let emu = emulator().await;
    let client = client(&emu);
    let query = |v: &str| FindQuery {
        sobject: "Lead".into(),
        field: "Email".into(),
        value: Value::Text(v.into()),
        fields: vec!["Email".into()],
        limit: 10,
        oldest_first: true,
        max_bytes: 1 << 20,
    };
    assert_eq!(client.find(&query("linus@kernel.example")).await.unwrap().len(), 1);
    for attack in ["x' OR Email != '", "x\\' OR Email != \\'", "' OR Id != null OR Email = '"] {
        assert!(client.find(&query(attack)).await.unwrap().is_empty(), "{attack}");
    }
}

#[tokio::test]
async fn instance_urls_outside_salesforce_are_refused() {
    let auth = Auth::ClientCredentials { client_id: "x".into(), client_secret: Secret::new("y") };
    for url in
        ["http://127.0.0.1:8080", "https://10.0.0.5", "https://metadata.internal", "https://evil.example/services"]
    {
        let err = Connection::new(url, url, auth.clone(), &[]).unwrap_err();
        assert!(err.to_string().contains("refused"), "{url}: {err}");
    }
    assert!(Connection::new("https://acme.my.salesforce.com", "https://login.salesforce.com", auth, &[]).is_ok());
}

#[tokio::test]
async fn faults_are_classed_for_retry() {
    let emu = emulator().await;
    let client = client(&emu);
    emu.org.with(|s| s.faults.unavailable = 1);
    let err = client.describe_object("Lead").await.unwrap_err();
    assert!(err.is_transient() && err.code() == Some("SERVER_UNAVAILABLE"), "{err}");
    emu.org.with(|s| s.faults.request_limit_after = Some(0));
    let err = client.describe_object("Lead").await.unwrap_err();
    assert!(err.is_transient() && err.code() == Some("REQUEST_LIMIT_EXCEEDED"), "{err}");
    emu.org.with(|s| s.faults.request_limit_after = None);
    assert!(client.describe_object("Lead").await.is_ok());
    assert!(client.api_usage().is_some_and(|u| u.used >= 1 && u.max == 15_000));
    emu.org.with(|s| s.faults.drop_connections = 1);
    let err = client.limits().await.unwrap_err();
    // The request reached the org before the connection dropped: whether it took effect is unknown.
    assert!(matches!(err, SalesforceError::OutcomeUnknown(_)) && err.is_transient(), "a dropped connection: {err}");
    let dead = Emulator::start(Org::load(&root().join("tests/fixtures/salesforce/describe")).unwrap()).await.unwrap();
    let dead_client = self::client(&dead);
    drop(dead);
    let err = dead_client.describe_object("Lead").await.unwrap_err();
    assert!(matches!(err, SalesforceError::Network(_)) && err.is_transient(), "{err}");
}

#[tokio::test]
async fn an_expired_session_is_renewed_once_and_bad_credentials_need_a_reconnect() {
    let emu = emulator().await;
    let client = client(&emu);
    client.describe_object("Lead").await.unwrap();
    assert_eq!(emu.org.calls("token"), 1);
    emu.org.expire_sessions();
    client.describe_object("Event").await.unwrap();
    assert_eq!(emu.org.calls("token"), 2, "renewed after INVALID_SESSION_ID");

    let allow = vec![emu.base_url.trim_start_matches("http://").to_owned()];
    let bad = Auth::ClientCredentials { client_id: CLIENT_ID.into(), client_secret: Secret::new("wrong") };
    let bad = SalesforceClient::new(Connection::new(&emu.base_url, &emu.base_url, bad, &allow).unwrap()).unwrap();
    let err = bad.describe_object("Lead").await.unwrap_err();
    assert!(matches!(err, SalesforceError::ReconnectNeeded(_)), "{err}");
    let revoked = Auth::RefreshToken {
        client_id: CLIENT_ID.into(),
        client_secret: None,
        refresh_token: Secret::new("revoked-or-unknown"),
    };
    let revoked =
        SalesforceClient::new(Connection::new(&emu.base_url, &emu.base_url, revoked, &allow).unwrap()).unwrap();
    let err = revoked.describe_object("Lead").await.unwrap_err();
    assert!(err.to_string().starts_with("reconnect needed"), "{err}");
    assert!(!format!("{:?}", Secret::new("s3cr3t")).contains("s3cr3t"));
}

#[tokio::test]
async fn an_unreachable_org_during_mapping_is_a_precise_plugin_visible_error() {
    let emu = emulator().await;
    let client = Arc::new(client(&emu));
    emu.org.with(|s| s.faults.unavailable = 100);
    let err = map_and_commit(&client, "lead-event", booking("lead-event", "new-lead")).await.unwrap_err();
    assert!(err.contains("unavailable") && err.contains("SERVER_UNAVAILABLE"), "{err}");
    let _ = (ErrorKind::Unavailable, InvokeError::Config(String::new()), MappingError::Other(String::new()));
}

#[tokio::test]
async fn preflight_names_exactly_what_the_connected_user_lacks() {
    use portico_emulator::ObjectPerms;
    use portico_host::salesforce::preflight;
    let emu = emulator().await;
    let client = client(&emu);
    let manifest = runtime().load(portico_plugins::example("lead-event").unwrap().wasm).unwrap().manifest.clone();
    assert!(preflight(&client, &manifest).await.unwrap().missing.is_empty());

    emu.org.with(|s| {
        s.profile = Profile::default()
            .hide("Lead", "Phone")
            .read_only("Event", "Booking_Status__c")
            .with_object("Contact", ObjectPerms::NONE)
            .with_object("Lead", ObjectPerms::READ)
    });
    let client = self::client(&emu);
    let report = preflight(&client, &manifest).await.unwrap();
    let got: Vec<String> = report.missing.iter().map(|m| format!("{} {}", m.permission, m.on)).collect();
    assert_eq!(got, ["Read Contact", "Edit field Event.Booking_Status__c", "Create Lead", "Read field Lead.Phone"]);
    assert!(report.table().contains("Read field     Lead.Phone"));

    emu.org.with(|s| s.profile.api_enabled = false);
    let report = preflight(&self::client(&emu), &manifest).await.unwrap();
    assert!(!report.api_enabled);
    assert_eq!(report.missing[0].permission, "API Enabled");
}

#[tokio::test]
async fn the_jwt_bearer_flow_signs_in_the_integration_user() {
    use portico_emulator::auth::TEST_CONSUMER_PRIVATE_KEY;
    let emu = emulator().await;
    let allow = vec![emu.base_url.trim_start_matches("http://").to_owned()];
    let jwt = |username: &str, key: &str| {
        let auth =
            Auth::JwtBearer { client_id: CLIENT_ID.into(), username: username.into(), private_key: Secret::new(key) };
        SalesforceClient::new(Connection::new(&emu.base_url, &emu.base_url, auth, &allow).unwrap()).unwrap()
    };
    let good = jwt(portico_emulator::credentials::USERNAME, TEST_CONSUMER_PRIVATE_KEY);
    good.describe_object("Lead").await.unwrap();
    assert_eq!(emu.org.calls("token"), 1);

    let stranger = jwt("someone@else.example", TEST_CONSUMER_PRIVATE_KEY);
    let err = stranger.describe_object("Lead").await.unwrap_err();
    assert!(err.to_string().contains("reconnect needed") && err.to_string().contains("approved"), "{err}");

    let other_key = include_str!("../../../emulator/keys/test-consumer.pub.pem");
    let err = jwt(portico_emulator::credentials::USERNAME, other_key).describe_object("Lead").await.unwrap_err();
    assert!(err.to_string().starts_with("reconnect needed") && err.to_string().contains("private key"), "{err}");
}

#[tokio::test]
async fn the_emulator_serves_https_that_a_client_trusting_its_certificate_accepts() {
    let org = Org::load(&root().join("tests/fixtures/salesforce/describe")).unwrap();
    let emu = Emulator::start_tls_on(org, std::net::SocketAddr::from(([127, 0, 0, 1], 0))).await.unwrap();
    assert!(emu.base_url.starts_with("https://127.0.0.1:"));
    let allow = vec![emu.base_url.trim_start_matches("https://").to_owned()];
    let auth = Auth::ClientCredentials { client_id: CLIENT_ID.into(), client_secret: Secret::new(CLIENT_SECRET) };
    let mut conn = Connection::new(&emu.base_url, &emu.base_url, auth, &allow).unwrap();
    let untrusting = SalesforceClient::new(conn.clone()).unwrap();
    let err = untrusting.describe_object("Lead").await.unwrap_err();
    assert!(matches!(err, SalesforceError::Network(_)), "an unknown certificate is refused: {err}");
    conn.extra_ca_pem = emu.certificate_pem.clone();
    let trusting = SalesforceClient::new(conn).unwrap();
    assert_eq!(trusting.describe_object("Lead").await.unwrap().name, "Lead");
}

#[tokio::test]
async fn the_web_server_flow_yields_a_refresh_token_that_acts_as_the_user() {
    use portico_host::salesforce::web_flow;
    let emu = emulator().await;
    let login = url::Url::parse(&emu.base_url).unwrap();
    let redirect = "https://portico.example/oauth/callback";
    let started = web_flow::start(&login, CLIENT_ID, redirect).unwrap();
    assert!(started.authorize_url.as_str().contains("code_challenge_method=S256"));
    assert!(started.authorize_url.as_str().contains("scope=api+refresh_token"));
    // The user's browser: Salesforce approves and redirects back with the code and state.
    let browser = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let location = browser.get(started.authorize_url.clone()).send().await.unwrap().headers()["location"]
        .to_str()
        .unwrap()
        .to_owned();
    let callback = url::Url::parse(&location).unwrap();
    let param = |k: &str| callback.query_pairs().find(|(n, _)| n == k).map(|(_, v)| v.into_owned()).unwrap();
    let err =
        web_flow::finish(&login, CLIENT_ID, None, redirect, &started, &param("code"), "forged").await.unwrap_err();
    assert!(err.to_string().contains("state does not match"));
    let authorized =
        web_flow::finish(&login, CLIENT_ID, None, redirect, &started, &param("code"), &param("state")).await.unwrap();
    // The token response names the user who authorized; the identity URL says who that is, and
    // is followed only on a host the connection trusts.
    let identity_url = authorized.identity_url.clone().expect("the token response's `id`");
    let who = web_flow::identity(&identity_url, &[&login], &authorized.access_token).await.unwrap();
    assert_eq!(who.username, portico_emulator::credentials::USERNAME);
    assert!(identity_url.ends_with(&format!("/id/{}/005Em0000000001AAA", who.organization_id)));
    let elsewhere = url::Url::parse("https://login.salesforce.com").unwrap();
    let err = web_flow::identity(&identity_url, &[&elsewhere], &authorized.access_token).await.unwrap_err();
    assert!(err.to_string().contains("not on the login or instance host"), "{err}");
    let forged = Secret::new("00Dforged");
    assert!(web_flow::identity(&identity_url, &[&login], &forged).await.is_err());

    let allow = vec![emu.base_url.trim_start_matches("http://").to_owned()];
    let auth = Auth::RefreshToken {
        client_id: CLIENT_ID.into(),
        client_secret: None,
        refresh_token: authorized.refresh_token,
    };
    let client = SalesforceClient::new(Connection::new(&emu.base_url, &emu.base_url, auth, &allow).unwrap()).unwrap();
    assert_eq!(client.describe_object("Contact").await.unwrap().name, "Contact");
}
