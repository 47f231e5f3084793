//! Each permission opens exactly its operations and nothing else: for every tenant permission,
//! a custom role holding only it and a key with that role; every operation of the API is
//! called with every key, and answers 403 exactly when the key's one permission is not the one
//! the operation needs. A refusal must also change nothing, so the operations are called with
//! bodies that would succeed.

use super::{Service, emulator, sqlite_service, tenant};
use portico_host::service::ops::{Permission, Principal};
use serde_json::{Value, json};

/// An operation: method, path (`{t}` is the tenant), body, and the permission it needs
/// (`None`: any member of the tenant; the platform ones are checked separately).
type Row = (&'static str, &'static str, Option<Value>, Option<Permission>);

fn table() -> Vec<Row> {
    use Permission::*;
    let conn = json!({"kind": "client-credentials", "instance_url": "https://acme.my.salesforce.com",
        "client_id": "id", "client_secret": "secret"});
    let authorize = json!({"login_url": "https://login.salesforce.com", "client_id": "id"});
    vec![
        ("GET", "/v1/tenants/{t}", None, None),
        ("GET", "/v1/tenants/{t}/plugins", None, Some(PluginsView)),
        ("GET", "/v1/tenants/{t}/plugins/activations", None, Some(PluginsView)),
        ("GET", "/v1/tenants/{t}/plugins/0000", None, Some(PluginsView)),
        ("GET", "/v1/tenants/{t}/config", None, Some(PluginsView)),
        ("GET", "/v1/tenants/{t}/limits", None, Some(PluginsView)),
        ("POST", "/v1/tenants/{t}/plugins/0000/approve", Some(json!({})), Some(PluginsApprove)),
        ("POST", "/v1/tenants/{t}/plugins/0000/activate", Some(json!({})), Some(PluginsActivate)),
        ("POST", "/v1/tenants/{t}/plugins/rollback", Some(json!({})), Some(PluginsActivate)),
        ("PUT", "/v1/tenants/{t}/config", Some(json!({"greeting": "hi"})), Some(MappingsEdit)),
        ("GET", "/v1/tenants/{t}/connection", None, Some(ConnectionView)),
        ("PUT", "/v1/tenants/{t}/connection", Some(conn), Some(ConnectionManage)),
        ("POST", "/v1/tenants/{t}/connection/authorize", Some(authorize), Some(ConnectionManage)),
        ("DELETE", "/v1/tenants/{t}/connection", None, Some(ConnectionManage)),
        ("POST", "/v1/tenants/{t}/connection/preflight", Some(json!({})), Some(ConnectionManage)),
        ("POST", "/v1/tenants/{t}/webhook-secret", Some(json!({})), Some(ConnectionManage)),
        ("GET", "/v1/tenants/{t}/jobs", None, Some(JobsView)),
        ("GET", "/v1/tenants/{t}/jobs/999", None, Some(JobsView)),
        ("POST", "/v1/tenants/{t}/jobs/999/replay", Some(json!({})), Some(JobsReplay)),
        ("POST", "/v1/tenants/{t}/jobs/replay", Some(json!({})), Some(JobsReplay)),
        ("POST", "/v1/tenants/{t}/jobs/999/mark-done", Some(json!({})), Some(JobsReplay)),
        ("POST", "/v1/tenants/{t}/erasures", Some(json!({"email": "gone@example.com"})), Some(JobsReplay)),
        ("GET", "/v1/tenants/{t}/erasures", None, Some(JobsReplay)),
        ("GET", "/v1/tenants/{t}/audit", None, Some(AuditView)),
        ("GET", "/v1/tenants/{t}/security-events", None, Some(AuditView)),
        ("GET", "/v1/tenants/{t}/users", None, Some(UsersManage)),
        (
            "POST",
            "/v1/tenants/{t}/invitations",
            Some(json!({"email": "new@example.com", "role": "only-users-manage"})),
            Some(UsersManage),
        ),
        ("GET", "/v1/tenants/{t}/invitations", None, Some(UsersManage)),
        ("DELETE", "/v1/tenants/{t}/invitations/nope", None, Some(UsersManage)),
        ("PUT", "/v1/tenants/{t}/users/nobody/role", Some(json!({"role": "viewer"})), Some(UsersManage)),
        ("DELETE", "/v1/tenants/{t}/users/nobody", None, Some(UsersManage)),
        ("POST", "/v1/tenants/{t}/users/nobody/password-reset", Some(json!({})), Some(UsersManage)),
        ("PUT", "/v1/tenants/{t}/security-policy", Some(json!({"require_2fa": false})), Some(UsersManage)),
        ("GET", "/v1/tenants/{t}/roles", None, None),
        ("PUT", "/v1/tenants/{t}/roles/made-here", Some(json!({"permissions": ["roles:manage"]})), Some(RolesManage)),
        ("DELETE", "/v1/tenants/{t}/roles/made-nowhere", None, Some(RolesManage)),
        ("GET", "/v1/tenants/{t}/keys", None, Some(KeysManage)),
        ("POST", "/v1/tenants/{t}/keys", Some(json!({"role": "only-keys-manage"})), Some(KeysManage)),
        ("DELETE", "/v1/tenants/{t}/keys/000000000000", None, Some(KeysManage)),
        (
            "POST",
            "/v1/tenants/{t}/webhooks",
            Some(json!({"url": "https://hooks.example.com/portico", "events": ["job.failed"]})),
            Some(WebhooksManage),
        ),
        ("GET", "/v1/tenants/{t}/webhooks", None, Some(WebhooksManage)),
        ("GET", "/v1/tenants/{t}/webhooks/nope/deliveries", None, Some(WebhooksManage)),
        ("DELETE", "/v1/tenants/{t}/webhooks/nope", None, Some(WebhooksManage)),
        ("POST", "/v1/tenants/{t}/webhook-deliveries/nope/replay", Some(json!({})), Some(WebhooksManage)),
        ("GET", "/v1/tenants/{t}/children", None, Some(ChildrenManage)),
        ("POST", "/v1/tenants/{t}/children", Some(json!({"id": "child-x", "name": "Child"})), Some(ChildrenManage)),
        ("PUT", "/v1/tenants/{t}/limits", Some(json!({})), Some(PlatformTenants)),
        ("POST", "/v1/tenants", Some(json!({"id": "new-tenant", "name": "New"})), Some(PlatformTenants)),
        ("GET", "/v1/security-events", None, Some(PlatformUsers)),
    ]
}

async fn call(service: &Service, key: &str, method: &str, path: &str, body: Option<&Value>) -> u16 {
    let client = service.admin.with_key(key);
    client.call(method.parse().unwrap(), &path.replace("{t}", "acme"), body).await.unwrap().status.as_u16()
}

#[tokio::test]
async fn each_permission_opens_exactly_its_operations() {
    let service = sqlite_service(|_| {}).await;
    let (_, owner_key) = service.admin.create_tenant("acme", "Acme").await.unwrap();
    let owner = service.admin.with_key(&owner_key);
    let wasm = portico_plugins::example("lead-event").unwrap().wasm;
    let tenant_permissions: Vec<Permission> = Permission::ALL.into_iter().filter(|p| !p.is_platform()).collect();
    let mut table = table();
    let covered: Vec<_> = table.iter().filter_map(|r| r.3).collect();
    for p in Permission::ALL {
        assert!(covered.contains(&p) || p == Permission::PluginsUpload, "the table misses {}", p.as_str());
    }
    table.push(("POST", "/v1/tenants/{t}/plugins", None, Some(Permission::PluginsUpload)));
    for permission in tenant_permissions {
        let role = format!("only-{}", permission.as_str().replace(':', "-"));
        let put =
            owner.put(&format!("/v1/tenants/acme/roles/{role}"), &json!({"permissions": [permission]})).await.unwrap();
        assert_eq!(put.status, 200, "{}", put.body);
        let key = owner.post("/v1/tenants/acme/keys", &json!({"role": role})).await.unwrap().ok().unwrap();
        let key = key["key"].as_str().unwrap().to_owned();
        for (method, path, body, needs) in &table {
            let status = if *needs == Some(Permission::PluginsUpload) {
                service.admin.with_key(&key).upload("acme", wasm).await.unwrap().status.as_u16()
            } else {
                call(&service, &key, method, path, body.as_ref()).await
            };
            let opens = needs.is_none() || *needs == Some(permission);
            assert_eq!(
                status != 403,
                opens,
                "{method} {path} answered {status} to a key holding only `{}`",
                permission.as_str()
            );
            assert!(status < 500, "{method} {path} answered {status}");
        }
    }
    // Refusals changed nothing: the tenant still has no children and its config is as set by
    // the one key allowed to set it.
    let children = owner.get("/v1/tenants/acme/children").await.unwrap().ok().unwrap();
    assert_eq!(children.as_array().unwrap().len(), 1, "only the children:manage key made one: {children}");
    service.running.shutdown().await.unwrap();
}

/// The mapping editor's preview needs `mappings:edit`; previewing on a job's booking also needs
/// `jobs:view`, since that booking is the tenant's data.
#[tokio::test]
async fn previewing_on_a_jobs_booking_needs_jobs_view() {
    use portico_host::service::ops::mapping_spec::Mapping;
    use portico_host::service::ops::mappings::{PreviewBooking, preview};
    use portico_host::service::ops::{Actor, Permissions, TenantGrant};
    let service = sqlite_service(|_| {}).await;
    let org = emulator().await;
    tenant(&service, "acme", "configurable", &org).await;
    let mapping = Mapping::from_json(
        r#"{"records": [{"sobject": "Lead", "fields": {"LastName": "{attendee.last_name}", "Company": "x"}}]}"#,
    )
    .unwrap();
    let editor = |permissions: &[Permission]| Principal {
        actor: Actor::Key { prefix: "test".into() },
        address: None,
        platform: Permissions::NONE,
        platform_needs_2fa: false,
        grants: vec![TenantGrant {
            tenant: "acme".into(),
            role: "editor".into(),
            permissions: Permissions::of(permissions),
            via: None,
            needs_2fa: false,
        }],
        session: None,
    };
    let state = service.state();
    let only_edit = editor(&[Permission::MappingsEdit]);
    let sample = preview(state, &only_edit, "acme", &mapping, PreviewBooking::Sample).await.unwrap();
    assert!(sample.result.is_ok(), "{:?}", sample.result);
    let refused = preview(state, &only_edit, "acme", &mapping, PreviewBooking::Job(1)).await.unwrap_err();
    assert_eq!(refused.status, 403, "{}", refused.message);
    let both = editor(&[Permission::MappingsEdit, Permission::JobsView]);
    let missing = preview(state, &both, "acme", &mapping, PreviewBooking::Job(999)).await.unwrap_err();
    assert_eq!(missing.status, 404, "past the permission, the job is looked up: {}", missing.message);
    service.running.shutdown().await.unwrap();
}
