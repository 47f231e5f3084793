//! Accounts in the store, on SQLite and PostgreSQL: tokens work once and only until they
//! expire, a TOTP step and a recovery-code set are spent once even by racing replicas,
//! sessions end by idle time, absolute time and on request.

mod common;

use common::{T0, drop_schema, postgres, sqlite};
use portico_host::store::{SessionRow, Store, TokenKind, TokenRow, UserRow};

fn user(id: &str) -> UserRow {
    UserRow {
        id: id.into(),
        email: format!("{id}@example.com"),
        password_hash: None,
        password_changed_at: None,
        platform_admin: 0,
        totp_secret: None,
        totp_pending: None,
        totp_last_step: None,
        recovery_codes: "[\"a\",\"b\"]".into(),
        created_at: T0,
        disabled_at: None,
        email_2fa: 0,
    }
}

async fn tokens_work_once_and_expire(store: Store) {
    assert!(store.create_tenant("acme", "Acme", "sealed", None, None, T0).await.unwrap());
    let token = |hash: &str, expires_at| TokenRow {
        token_hash: hash.into(),
        id: format!("id-{hash}"),
        kind: TokenKind::Invitation.as_str().into(),
        email: "ada@example.com".into(),
        tenant_id: Some("acme".into()),
        role: Some("viewer".into()),
        created_by: "operator".into(),
        created_at: T0,
        expires_at,
        used_at: None,
        revoked_at: None,
    };
    store.insert_token(&token("h1", T0 + 1_000)).await.unwrap();
    assert!(store.use_token("h1", TokenKind::Reset, T0).await.unwrap().is_none(), "another kind");
    assert!(store.use_token("h1", TokenKind::Invitation, T0 + 1_000).await.unwrap().is_none(), "expired");
    assert!(store.peek_token("h1", TokenKind::Invitation, T0 + 999).await.unwrap().is_some());
    let (a, b) = tokio::join!(
        store.use_token("h1", TokenKind::Invitation, T0 + 1),
        store.use_token("h1", TokenKind::Invitation, T0 + 1)
    );
    assert_eq!([a.unwrap().is_some(), b.unwrap().is_some()].iter().filter(|x| **x).count(), 1, "used once");
    store.insert_token(&token("h2", T0 + 1_000)).await.unwrap();
    assert!(store.revoke_invitation("acme", "id-h2", T0).await.unwrap());
    assert!(store.use_token("h2", TokenKind::Invitation, T0).await.unwrap().is_none(), "withdrawn");
    assert_eq!(store.invitations("acme").await.unwrap().len(), 2);
}
on_every_backend!(tokens_work_once_and_expire_everywhere, tokens_work_once_and_expire);

async fn second_factors_are_spent_once(store: Store) {
    assert!(store.insert_user(&user("ada")).await.unwrap());
    assert!(!store.insert_user(&UserRow { id: "other".into(), ..user("ada") }).await.unwrap(), "email taken");
    store.set_totp("ada", None, Some("sealed secret"), "[\"a\",\"b\"]").await.unwrap();
    assert!(store.use_totp_step("ada", 100).await.unwrap());
    assert!(!store.use_totp_step("ada", 100).await.unwrap(), "the same step again");
    assert!(!store.use_totp_step("ada", 99).await.unwrap(), "an older step");
    assert!(store.use_totp_step("ada", 101).await.unwrap());
    let (a, b) = tokio::join!(
        store.swap_recovery_codes("ada", "[\"a\",\"b\"]", "[\"b\"]"),
        store.swap_recovery_codes("ada", "[\"a\",\"b\"]", "[\"b\"]")
    );
    assert_eq!([a.unwrap(), b.unwrap()].iter().filter(|x| **x).count(), 1, "one spends the code");
    assert_eq!(store.user("ada").await.unwrap().unwrap().recovery_codes, "[\"b\"]");
}
on_every_backend!(second_factors_are_spent_once_everywhere, second_factors_are_spent_once);

async fn sessions_end_by_time_and_on_request(store: Store) {
    assert!(store.insert_user(&user("ada")).await.unwrap());
    let session = |id: &str, created_at: i64| SessionRow {
        id: id.into(),
        token_hash: format!("t-{id}"),
        user_id: "ada".into(),
        csrf_token: "c".into(),
        address: "127.0.0.1".into(),
        user_agent: "test".into(),
        created_at,
        last_seen_at: created_at,
        expires_at: created_at + 300_000,
        ended_at: None,
    };
    store.insert_session(&session("s1", T0)).await.unwrap();
    store.insert_session(&session("s2", T0 + 1)).await.unwrap();
    let idle = 100_000;
    assert!(store.live_session("t-s1", idle, T0 + 99_999).await.unwrap().is_some());
    assert!(store.live_session("t-s1", idle, T0 + 100_000).await.unwrap().is_none(), "idle too long");
    store.touch_session("s1", T0 + 90_000).await.unwrap();
    assert!(store.live_session("t-s1", idle, T0 + 150_000).await.unwrap().is_some(), "used: idle counts from then");
    store.touch_session("s1", T0 + 250_000).await.unwrap();
    assert!(store.live_session("t-s1", idle, T0 + 299_999).await.unwrap().is_some());
    assert!(store.live_session("t-s1", idle, T0 + 300_000).await.unwrap().is_none(), "the absolute end holds");
    assert_eq!(store.user_sessions("ada", idle, T0 + 2).await.unwrap().len(), 2);
    assert!(store.end_session("ada", "s2", T0 + 3).await.unwrap());
    assert!(!store.end_session("ada", "s2", T0 + 3).await.unwrap(), "once");
    assert!(store.live_session("t-s2", idle, T0 + 4).await.unwrap().is_none());
    assert_eq!(store.end_sessions("ada", Some("s1"), T0 + 5).await.unwrap(), 0, "keeps s1");
    assert_eq!(store.purge_sessions(T0 + 300_002).await.unwrap(), 2, "ended and expired ones go");
}
on_every_backend!(sessions_end_by_time_and_on_request_everywhere, sessions_end_by_time_and_on_request);
