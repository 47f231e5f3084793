//! People's accounts over the real HTTP server, on SQLite and PostgreSQL: invitations, sign-in
//! with sessions and CSRF, two-factor authentication, custom roles, keys with roles, resellers
//! acting within child tenants, lockouts and the session policy.

use super::{Service, config, drop_schema, postgres_url, sqlite_service, start};
use portico_host::service::ServeConfig;
use portico_host::service::accounts::SessionLimit;
use portico_host::service::client::PorticoClient;
use portico_host::service::ops::{self, Principal};
use portico_host::service::secrets::KeyRing;
use serde_json::{Value, json};
use std::future::Future;

const PASSWORD: &str = "correct horse battery staple";

/// Runs `test` on a SQLite service, then (when configured) on a PostgreSQL one.
async fn on_both<F, Fut>(tweak: fn(&mut ServeConfig), test: F)
where
    F: Fn(Service) -> Fut,
    Fut: Future<Output = Service>,
{
    test(sqlite_service(tweak).await).await.running.shutdown().await.unwrap();
    if let Some((url, schema)) = postgres_url().await {
        let mut c = config(&url);
        tweak(&mut c);
        test(start(c, &KeyRing::generate("pg1")).await).await.running.shutdown().await.unwrap();
        drop_schema(&schema).await;
    }
}

fn anonymous(service: &Service) -> PorticoClient {
    PorticoClient::new(&service.url, None)
}

async fn status(client: &PorticoClient, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
    let a = client.call(method.parse().unwrap(), path, body.as_ref()).await.unwrap();
    (a.status.as_u16(), a.body)
}

fn totp_at(secret: &str, unix: u64) -> String {
    let bytes = totp_rs::Secret::Encoded(secret.to_owned()).to_bytes().unwrap();
    totp_rs::TOTP::new(totp_rs::Algorithm::SHA1, 6, 1, 30, bytes, None, "x".into()).unwrap().generate(unix)
}

fn now_s() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs()
}

/// Invites `email` with `role` through `inviter` and accepts with `password`; signs in.
async fn join(service: &Service, inviter: &PorticoClient, tenant: &str, email: &str, role: &str) -> PorticoClient {
    let invited = inviter
        .post(&format!("/v1/tenants/{tenant}/invitations"), &json!({"email": email, "role": role}))
        .await
        .unwrap()
        .ok()
        .unwrap();
    let token = invited["token"].as_str().unwrap();
    let accepted = anonymous(service)
        .post("/v1/invitations/accept", &json!({"token": token, "password": PASSWORD}))
        .await
        .unwrap();
    assert_eq!(accepted.status, 200, "{}", accepted.body);
    anonymous(service).sign_in(&json!({"email": email, "password": PASSWORD})).await.unwrap().expect("signs in")
}

#[tokio::test]
async fn an_invited_owner_enrols_2fa_and_shares_exactly_a_custom_role() {
    on_both(|_| {}, journey).await;
}

async fn journey(service: Service) -> Service {
    let admin = &service.admin;
    // Platform staff may do anything, but only in a tenant that exists (api-fuzz found a 500).
    for (method, path, body) in [
        ("PUT", "/v1/tenants/nowhere/roles/x", json!({"permissions": ["jobs:view"]})),
        ("POST", "/v1/tenants/nowhere/invitations", json!({"email": "a@b.example", "role": "viewer"})),
        (
            "POST",
            "/v1/tenants/nowhere/webhooks",
            json!({"url": "https://hooks.example.com/x", "events": ["job.failed"]}),
        ),
    ] {
        assert_eq!(status(admin, method, path, Some(body)).await.0, 404, "{method} {path}");
    }
    admin.post("/v1/tenants", &json!({"id": "acme", "name": "Acme"})).await.unwrap().ok().unwrap();
    admin.post("/v1/tenants", &json!({"id": "globex", "name": "Globex"})).await.unwrap().ok().unwrap();
    let invited = admin
        .post("/v1/tenants/acme/invitations", &json!({"email": "Olivia@Acme.example", "role": "tenant-owner"}))
        .await
        .unwrap()
        .ok()
        .unwrap();
    assert_eq!(invited["invitation"]["email"], "olivia@acme.example");
    let token = invited["token"].as_str().unwrap();
    let anon = anonymous(&service);

    // A weak password is refused and spends nothing; the link then works exactly once.
    let (code, body) =
        status(&anon, "POST", "/v1/invitations/accept", Some(json!({"token": token, "password": "password1234"})))
            .await;
    assert_eq!((code, body["code"].as_str()), (422, Some("weak-password")), "{body}");
    let (code, body) =
        status(&anon, "POST", "/v1/invitations/accept", Some(json!({"token": token, "password": PASSWORD}))).await;
    assert_eq!((code, body["tenant"].as_str()), (200, Some("acme")), "{body}");
    let (code, _) =
        status(&anon, "POST", "/v1/invitations/accept", Some(json!({"token": token, "password": PASSWORD}))).await;
    assert_eq!(code, 410, "a used invitation");

    let owner = anon.sign_in(&json!({"email": "olivia@acme.example", "password": PASSWORD})).await.unwrap().unwrap();
    let me = owner.get("/v1/me").await.unwrap().ok().unwrap();
    assert_eq!(
        (me["tenants"][0]["tenant"].as_str(), me["tenants"][0]["role"].as_str()),
        (Some("acme"), Some("tenant-owner"))
    );
    let (code, _) = status(&owner, "GET", "/v1/tenants/globex", None).await;
    assert_eq!(code, 404, "another tenant does not exist for her");

    // Two-factor enrolment; a cookie without its CSRF token changes nothing.
    let begun = owner.post("/v1/me/totp", &json!({})).await.unwrap().ok().unwrap();
    let secret = begun["secret"].as_str().unwrap().to_owned();
    assert!(begun["otpauth_uri"].as_str().unwrap().starts_with("otpauth://totp/Portico:olivia%40acme.example?"));
    let confirm = json!({"code": totp_at(&secret, now_s())});
    let (code, body) = status(&owner.without_csrf(), "POST", "/v1/me/totp/confirm", Some(confirm.clone())).await;
    assert_eq!((code, body["code"].as_str()), (403, Some("csrf")));
    let (code, body) =
        status(&owner, "POST", "/v1/me/totp/confirm", Some(json!({"code": totp_at(&secret, now_s() + 600)}))).await;
    assert_eq!(code, 422, "a wrong code: {body}");
    let codes = owner.post("/v1/me/totp/confirm", &confirm).await.unwrap().ok().unwrap();
    let recovery: Vec<String> = serde_json::from_value(codes["recovery_codes"].clone()).unwrap();
    assert_eq!(recovery.len(), 10);

    // Sign-in now needs the second factor; a recovery code works once.
    let creds = json!({"email": "olivia@acme.example", "password": PASSWORD});
    let refused = anon.sign_in(&creds).await.unwrap().unwrap_err();
    assert_eq!((refused.status.as_u16(), refused.body["code"].as_str()), (401, Some("two-factor-required")));
    let wrong =
        json!({"email": "olivia@acme.example", "password": PASSWORD, "totp_code": totp_at(&secret, now_s() + 600)});
    assert_eq!(anon.sign_in(&wrong).await.unwrap().unwrap_err().body["code"], "bad-second-factor");
    // The code that confirmed enrolment is spent; the next one signs in.
    let spent = json!({"email": "olivia@acme.example", "password": PASSWORD, "totp_code": confirm["code"]});
    assert!(anon.sign_in(&spent).await.unwrap().is_err(), "the confirming code was used");
    let with_code =
        json!({"email": "olivia@acme.example", "password": PASSWORD, "totp_code": totp_at(&secret, now_s() + 30)});
    anon.sign_in(&with_code).await.unwrap().expect("the current code");
    assert!(anon.sign_in(&with_code).await.unwrap().is_err(), "a code is good once");
    let with_recovery = json!({"email": "olivia@acme.example", "password": PASSWORD, "recovery_code": recovery[0]});
    anon.sign_in(&with_recovery).await.unwrap().expect("a recovery code");
    assert!(anon.sign_in(&with_recovery).await.unwrap().is_err(), "a recovery code is good once");

    // A custom role; no platform permission in it, nothing the owner lacks.
    let role = json!({"permissions": ["jobs:view", "jobs:replay", "plugins:view"]});
    owner.put("/v1/tenants/acme/roles/support", &role).await.unwrap().ok().unwrap();
    let (code, _) =
        status(&owner, "PUT", "/v1/tenants/acme/roles/root", Some(json!({"permissions": ["platform:tenants"]}))).await;
    assert_eq!(code, 422);
    let (code, _) = status(&owner, "PUT", "/v1/tenants/acme/roles/viewer", Some(json!({"permissions": []}))).await;
    assert_eq!(code, 422, "a built-in role's name");

    // A colleague and a key with it can do exactly what it allows.
    let sam = join(&service, &owner, "acme", "sam@acme.example", "support").await;
    let key = owner
        .post("/v1/tenants/acme/keys", &json!({"role": "support", "label": "helpdesk", "expires_in_days": 30}))
        .await
        .unwrap()
        .ok()
        .unwrap();
    let helpdesk = admin.with_key(key["key"].as_str().unwrap());
    for client in [&sam, &helpdesk] {
        for (method, path, body, expected) in [
            ("GET", "/v1/tenants/acme/jobs", None, 200),
            ("GET", "/v1/tenants/acme/plugins", None, 200),
            ("POST", "/v1/tenants/acme/jobs/replay", Some(json!({})), 200),
            ("GET", "/v1/tenants/acme/connection", None, 403),
            ("PUT", "/v1/tenants/acme/config", Some(json!({"a": "b"})), 403),
            ("POST", "/v1/tenants/acme/invitations", Some(json!({"email": "x@acme.example", "role": "support"})), 403),
            ("PUT", "/v1/tenants/acme/roles/mine", Some(json!({"permissions": ["jobs:view"]})), 403),
            ("GET", "/v1/tenants/globex/jobs", None, 404),
        ] {
            let (code, body) = status(client, method, path, body).await;
            assert_eq!(code, expected, "{method} {path}: {body}");
        }
    }
    let keys = owner.get("/v1/tenants/acme/keys").await.unwrap().ok().unwrap();
    let listed = keys.as_array().unwrap().iter().find(|k| k["label"] == "helpdesk").unwrap().clone();
    assert!(listed["last_used_at"].is_string() && listed["expires_at"].is_string(), "{listed}");
    assert_eq!(listed["role"], "support");

    // No escalation: the owner cannot make the admin key a platform key, nor edit her own role.
    let me = owner.get("/v1/me").await.unwrap().ok().unwrap();
    let my_id = me["id"].as_str().unwrap();
    let (code, body) =
        status(&owner, "PUT", &format!("/v1/tenants/acme/users/{my_id}/role"), Some(json!({"role": "viewer"}))).await;
    assert_eq!((code, body["code"].as_str()), (403, Some("own-account")));
    let (code, _) = status(&owner, "POST", "/v1/tenants/acme/keys", Some(json!({"role": "platform-admin"}))).await;
    assert_eq!(code, 422);
    // A role still held cannot be deleted.
    let (code, _) = status(&owner, "DELETE", "/v1/tenants/acme/roles/support", None).await;
    assert_eq!(code, 409);

    // The security log tells the story, with addresses.
    let log = owner.get("/v1/tenants/acme/security-events").await.unwrap().ok().unwrap();
    let actions: Vec<&str> = log.as_array().unwrap().iter().filter_map(|e| e["action"].as_str()).collect();
    for expected in ["invitation-created", "invitation-accepted", "role-defined", "key-created", "tenant-created"] {
        assert!(actions.contains(&expected), "{expected} in {actions:?}");
    }
    let platform_log = admin.get("/v1/security-events?limit=500").await.unwrap().ok().unwrap();
    let events = platform_log.as_array().unwrap();
    assert!(events.iter().any(|e| e["action"] == "2fa-enrolled" && e["actor"] == "user:olivia@acme.example"));
    assert!(events.iter().any(|e| e["action"] == "login-failed" && e["address"] == "127.0.0.1"));

    // Sessions: listed, and signing out ends this one.
    let sessions = owner.get("/v1/me/sessions").await.unwrap().ok().unwrap();
    assert!(sessions.as_array().unwrap().iter().any(|s| s["current"] == true));
    assert_eq!(owner.delete("/v1/session").await.unwrap().status, 204);
    assert_eq!(owner.get("/v1/me").await.unwrap().status, 401, "the session ended");
    service
}

#[tokio::test]
async fn a_reseller_acts_within_its_child_tenants_and_the_audit_shows_both_identities() {
    on_both(|_| {}, reseller).await;
}

async fn reseller(service: Service) -> Service {
    let admin = &service.admin;
    let (_, agency_key) = admin.create_tenant("agency", "Agency").await.unwrap();
    admin.create_tenant("other", "Other").await.unwrap();
    let agency = admin.with_key(&agency_key);
    let child = agency
        .post("/v1/tenants/agency/children", &json!({"id": "client-a", "name": "Client A"}))
        .await
        .unwrap()
        .ok()
        .unwrap();
    assert_eq!(child["tenant"]["parent"], "agency");
    agency
        .post("/v1/tenants/agency/children", &json!({"id": "client-b", "name": "Client B"}))
        .await
        .unwrap()
        .ok()
        .unwrap();
    // Someone who may only create children gets no owner key for them.
    let role = json!({"permissions": ["children:manage"]});
    agency.put("/v1/tenants/agency/roles/onboarding", &role).await.unwrap().ok().unwrap();
    let onboarding =
        agency.post("/v1/tenants/agency/keys", &json!({"role": "onboarding"})).await.unwrap().ok().unwrap();
    let onboarding = admin.with_key(onboarding["key"].as_str().unwrap());
    let child_c = json!({"id": "client-c", "name": "C"});
    let made = onboarding.post("/v1/tenants/agency/children", &child_c).await.unwrap().ok().unwrap();
    assert_eq!(made["admin_key"], Value::Null, "{made}");
    let child_owner = admin.with_key(child["admin_key"].as_str().unwrap());

    // The agency acts within its child; the change is audited with both identities.
    agency.put("/v1/tenants/client-a/config", &json!({"owner": "agency"})).await.unwrap().ok().unwrap();
    assert_eq!(agency.get("/v1/tenants/client-a/jobs").await.unwrap().status, 200);
    let log = admin.get("/v1/tenants/client-a/security-events").await.unwrap().ok().unwrap();
    let masquerade =
        log.as_array().unwrap().iter().find(|e| e["action"] == "masquerade" && e["subject"] == "edit-config");
    let masquerade = masquerade.unwrap_or_else(|| panic!("no masquerade entry in {log}"));
    assert_eq!(masquerade["via"], "agency");
    assert!(masquerade["actor"].as_str().unwrap().starts_with("key:"));
    let tenants = agency.get("/v1/tenants").await.unwrap().ok().unwrap();
    let ids: Vec<&str> = tenants.as_array().unwrap().iter().filter_map(|t| t["id"].as_str()).collect();
    assert_eq!(ids, ["agency", "client-a", "client-b", "client-c"], "{tenants}");

    // A child never sees its parent or its siblings, and has no children of its own.
    for path in ["/v1/tenants/agency", "/v1/tenants/client-b/jobs", "/v1/tenants/other"] {
        assert_eq!(child_owner.get(path).await.unwrap().status, 404, "{path}");
    }
    let (code, _) =
        status(&child_owner, "POST", "/v1/tenants/client-a/children", Some(json!({"id": "grandchild", "name": "G"})))
            .await;
    assert_eq!(code, 422, "one level of resellers");
    let tenants = child_owner.get("/v1/tenants").await.unwrap().ok().unwrap();
    assert_eq!(tenants.as_array().unwrap().len(), 1);

    // Only a role holding children:manage reaches the children.
    let admin_key =
        agency.post("/v1/tenants/agency/keys", &json!({"role": "tenant-admin"})).await.unwrap().ok().unwrap();
    let agency_admin = admin.with_key(admin_key["key"].as_str().unwrap());
    assert_eq!(agency_admin.get("/v1/tenants/client-a/jobs").await.unwrap().status, 404);
    service
}

fn lockout_config(c: &mut ServeConfig) {
    c.accounts.max_login_failures = 3;
    c.accounts.max_sessions = 2;
    c.auth.trusted_proxies = vec![[127, 0, 0, 1].into()];
}

async fn sign_in_from(service: &Service, address: &str, email: &str, password: &str) -> (u16, Value) {
    let response = reqwest::Client::new()
        .post(format!("{}/v1/session", service.url))
        .header("x-forwarded-for", address)
        .json(&json!({"email": email, "password": password}))
        .send()
        .await
        .unwrap();
    let code = response.status().as_u16();
    (code, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn failed_sign_ins_lock_out_the_account_and_the_address_without_telling_who_exists() {
    on_both(lockout_config, lockouts).await;
}

async fn lockouts(service: Service) -> Service {
    let operator = Principal::operator();
    for email in ["ada@example.com", "bob@example.com"] {
        ops::accounts::create_user(service.state(), &operator, email, PASSWORD, false).await.unwrap();
    }
    // The account: three wrong passwords from three addresses lock it, even for the right one.
    // Unknown accounts answer exactly the same.
    for (i, email) in ["ada@example.com", "nobody@example.com"].into_iter().enumerate() {
        for n in 0..3 {
            let (code, body) =
                sign_in_from(&service, &format!("203.0.113.{}", 10 * i + n), email, "wrong password!!").await;
            assert_eq!((code, body["message"].as_str()), (401, Some("the email or password is wrong")), "{email}");
        }
        let (code, body) = sign_in_from(&service, "203.0.113.99", email, PASSWORD).await;
        assert_eq!((code, body["code"].as_str()), (429, Some("locked-out")), "{email}: {body}");
    }
    // The address: three failures from one address over different accounts lock the address.
    for email in ["x@example.com", "y@example.com", "z@example.com"] {
        assert_eq!(sign_in_from(&service, "198.51.100.7", email, "wrong password!!").await.0, 401);
    }
    assert_eq!(sign_in_from(&service, "198.51.100.7", "bob@example.com", PASSWORD).await.0, 429);
    assert_eq!(sign_in_from(&service, "198.51.100.8", "bob@example.com", PASSWORD).await.0, 201);

    // At most two sessions: each sign-in beyond them ends the oldest (the first is the one
    // from 198.51.100.8 above).
    let creds = json!({"email": "bob@example.com", "password": PASSWORD});
    let anon = anonymous(&service);
    let first = anon.sign_in(&creds).await.unwrap().unwrap();
    let second = anon.sign_in(&creds).await.unwrap().unwrap();
    assert_eq!(first.get("/v1/me").await.unwrap().status, 200);
    let third = anon.sign_in(&creds).await.unwrap().unwrap();
    assert_eq!(first.get("/v1/me").await.unwrap().status, 401, "the oldest ended");
    assert_eq!(second.get("/v1/me").await.unwrap().status, 200);
    let sessions = third.get("/v1/me/sessions").await.unwrap().ok().unwrap();
    assert_eq!(sessions.as_array().unwrap().len(), 2);
    // Revoking the other one ends it; changing the password ends every other session.
    let other =
        sessions.as_array().unwrap().iter().find(|s| s["current"] == false).unwrap()["id"].as_str().unwrap().to_owned();
    assert_eq!(third.delete(&format!("/v1/me/sessions/{other}")).await.unwrap().status, 204);
    assert_eq!(second.get("/v1/me").await.unwrap().status, 401, "revoked");
    assert_eq!(third.delete(&format!("/v1/me/sessions/{other}")).await.unwrap().status, 404, "already ended");
    let fourth = anon.sign_in(&creds).await.unwrap().unwrap();
    let change = json!({"current_password": PASSWORD, "new_password": "an entirely new passphrase"});
    assert_eq!(third.post("/v1/me/password", &change).await.unwrap().status, 204);
    assert_eq!(fourth.get("/v1/me").await.unwrap().status, 401, "other sessions end with a password change");
    assert_eq!(third.get("/v1/me").await.unwrap().status, 200);
    let weak = json!({"current_password": "an entirely new passphrase", "new_password": "qwertyuiop123"});
    let (code, body) = status(&third, "POST", "/v1/me/password", Some(weak)).await;
    assert_eq!((code, body["code"].as_str()), (422, Some("weak-password")), "{body}");
    service
}

#[tokio::test]
async fn the_refuse_policy_turns_away_a_sign_in_beyond_the_limit() {
    let service = sqlite_service(|c| {
        c.accounts.max_sessions = 1;
        c.accounts.session_limit = SessionLimit::Refuse;
    })
    .await;
    ops::accounts::create_user(service.state(), &Principal::operator(), "ada@example.com", PASSWORD, false)
        .await
        .unwrap();
    let creds = json!({"email": "ada@example.com", "password": PASSWORD});
    let first = anonymous(&service).sign_in(&creds).await.unwrap().unwrap();
    let refused = anonymous(&service).sign_in(&creds).await.unwrap().unwrap_err();
    assert_eq!((refused.status.as_u16(), refused.body["code"].as_str()), (409, Some("too-many-sessions")));
    assert_eq!(first.delete("/v1/session").await.unwrap().status, 204);
    anonymous(&service).sign_in(&creds).await.unwrap().expect("room again after signing out");
    service.running.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_tenant_that_requires_2fa_admits_members_only_after_they_enrol() {
    let service = sqlite_service(|_| {}).await;
    let (_, owner_key) = service.admin.create_tenant("acme", "Acme").await.unwrap();
    let owner = service.admin.with_key(&owner_key);
    let ada = join(&service, &owner, "acme", "ada@acme.example", "viewer").await;
    assert_eq!(ada.get("/v1/tenants/acme/jobs").await.unwrap().status, 200);
    owner.put("/v1/tenants/acme/security-policy", &json!({"require_2fa": true})).await.unwrap().ok().unwrap();
    let (code, body) = status(&ada, "GET", "/v1/tenants/acme/jobs", None).await;
    assert_eq!((code, body["code"].as_str()), (403, Some("two-factor-required")), "{body}");
    let begun = ada.post("/v1/me/totp", &json!({})).await.unwrap().ok().unwrap();
    let secret = begun["secret"].as_str().unwrap();
    ada.post("/v1/me/totp/confirm", &json!({"code": totp_at(secret, now_s())})).await.unwrap().ok().unwrap();
    assert_eq!(ada.get("/v1/tenants/acme/jobs").await.unwrap().status, 200, "enrolled: in again");
    // A reset link from an admin sets a new password once and ends the sessions — but not for
    // someone who also belongs to a tenant where that admin may not manage them.
    let me = ada.get("/v1/me").await.unwrap().ok().unwrap();
    let ada_id = me["id"].as_str().unwrap().to_owned();
    service.admin.create_tenant("globex", "Globex").await.unwrap();
    let invited = service
        .admin
        .post("/v1/tenants/globex/invitations", &json!({"email": "ada@acme.example", "role": "tenant-owner"}))
        .await
        .unwrap()
        .ok()
        .unwrap();
    let accept = json!({"token": invited["token"], "password": PASSWORD});
    assert_eq!(anonymous(&service).post("/v1/invitations/accept", &accept).await.unwrap().status, 200);
    let path = format!("/v1/tenants/acme/users/{ada_id}/password-reset");
    let (code, body) = status(&owner, "POST", &path, Some(json!({}))).await;
    assert_eq!((code, body["code"].as_str()), (403, Some("escalation")), "{body}");
    let removed = service.admin.delete(&format!("/v1/tenants/globex/users/{ada_id}")).await.unwrap();
    assert_eq!(removed.status, 204);
    let reset = owner
        .post(&format!("/v1/tenants/acme/users/{}/password-reset", me["id"].as_str().unwrap()), &json!({}))
        .await
        .unwrap()
        .ok()
        .unwrap();
    let body = json!({"token": reset["token"], "password": "a brand new passphrase"});
    assert_eq!(anonymous(&service).post("/v1/password/reset", &body).await.unwrap().status, 204);
    assert_eq!(anonymous(&service).post("/v1/password/reset", &body).await.unwrap().status, 410, "once");
    assert_eq!(ada.get("/v1/me").await.unwrap().status, 401);
    service.running.shutdown().await.unwrap();
}

#[tokio::test]
async fn an_expired_password_is_replaced_at_sign_in() {
    let service = sqlite_service(|_| {}).await;
    let (_, owner_key) = service.admin.create_tenant("acme", "Acme").await.unwrap();
    let owner = service.admin.with_key(&owner_key);
    join(&service, &owner, "acme", "ada@acme.example", "viewer").await;
    let policy = json!({"require_2fa": false, "password_max_age_days": 30});
    owner.put("/v1/tenants/acme/security-policy", &policy).await.unwrap().ok().unwrap();
    // Her password was set long ago.
    let store = &service.state().inner.store;
    let ada = store.user_by_email("ada@acme.example").await.unwrap().unwrap();
    let hash = portico_host::service::accounts::password::hash(PASSWORD).unwrap();
    store.set_password(&ada.id, &hash, 0).await.unwrap();
    let creds = json!({"email": "ada@acme.example", "password": PASSWORD});
    let refused = anonymous(&service).sign_in(&creds).await.unwrap().unwrap_err();
    assert_eq!((refused.status.as_u16(), refused.body["code"].as_str()), (403, Some("password-expired")));
    let weak = json!({"email": "ada@acme.example", "password": PASSWORD, "new_password": "password1234"});
    assert_eq!(anonymous(&service).sign_in(&weak).await.unwrap().unwrap_err().status, 422);
    let renewed =
        json!({"email": "ada@acme.example", "password": PASSWORD, "new_password": "a fresh spring passphrase"});
    anonymous(&service).sign_in(&renewed).await.unwrap().expect("signs in with the new password set");
    let again = json!({"email": "ada@acme.example", "password": "a fresh spring passphrase"});
    anonymous(&service).sign_in(&again).await.unwrap().expect("the new password is current");
    service.running.shutdown().await.unwrap();
}
