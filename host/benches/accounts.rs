//! What authentication costs: a password check (Argon2id, by design slow) against an API key
//! check (SHA-256 and a constant-time compare) measured in the same run, and the permission
//! check every operation makes.
//!
//! `cargo bench -p portico-host --bench accounts`

use criterion::{Criterion, criterion_group, criterion_main};
use portico_host::service::accounts::password;
use portico_host::service::ops::keys::{parse_key, secret_hash};
use portico_host::service::ops::{BuiltinRole, Permission, Principal, TenantGrant};
use std::hint::black_box;

fn authentication(c: &mut Criterion) {
    let stored = password::hash("correct horse battery staple").unwrap();
    let key = portico_host::service::ops::keys::issue("viewer", Some("acme"), "bench", None, &Principal::operator());
    let mut group = c.benchmark_group("authentication");
    group.sample_size(20);
    group.bench_function("api_key_check (baseline)", |b| {
        b.iter(|| {
            let (_, secret) = parse_key(black_box(&key.key)).unwrap();
            let hash = secret_hash(secret);
            subtle::ConstantTimeEq::ct_eq(hash.as_bytes(), key.row.secret_hash.as_bytes()).unwrap_u8()
        })
    });
    group.bench_function("password_verify (argon2id)", |b| {
        b.iter(|| password::verify(black_box("correct horse battery staple"), Some(&stored)))
    });
    group.bench_function("password_hash (argon2id)", |b| b.iter(|| password::hash(black_box("a new passphrase here"))));
    group.bench_function("password_policy_check", |b| {
        b.iter(|| password::check(black_box("correct horse battery staple"), "ada@example.com", 12))
    });
    group.finish();

    let mut who = Principal::operator();
    who.platform = portico_host::service::ops::Permissions::NONE;
    who.grants = (0..20)
        .map(|i| TenantGrant {
            tenant: format!("tenant-{i}"),
            role: "tenant-admin".into(),
            permissions: BuiltinRole::TenantAdmin.permissions(),
            via: None,
            needs_2fa: false,
        })
        .collect();
    c.bench_function("permission_require (20 grants)", |b| {
        b.iter(|| who.require(black_box("tenant-19"), Permission::JobsReplay).is_ok())
    });
}

criterion_group!(benches, authentication);
criterion_main!(benches);
