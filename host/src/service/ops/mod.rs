//! The application layer: every operation of the service, typed, behind one permission.
//!
//! An operation is `async fn op(&Ops, &Principal, args) -> OpResult<T>`: it checks the one
//! [`Permission`] it needs with [`Principal::require`] (or [`enter`], which also audits a
//! reseller acting within a child tenant), then acts, then drops what the write made stale.
//! The JSON API, the CLI and the console only parse, call one operation and answer; no
//! business rule lives in them. Refusals are [`ApiError`]s: a tenant the principal cannot see
//! answers 404 exactly as if it did not exist, a permission it lacks 403 naming it.

pub mod accounts;
pub mod budget;
pub mod connection;
pub mod jobs;
pub mod keys;
pub mod mapping_spec;
pub mod mappings;
pub mod members;
pub mod permission;
pub mod plugins;
pub mod principal;
pub mod principal_load;
pub mod sessions;
pub mod tenants;
pub mod totp;
pub mod trust;
pub mod webhooks;

pub use permission::{BuiltinRole, Permission, Permissions};
pub use principal::{Access, Actor, Principal, TenantGrant};

use super::{ApiError, AppState, now_ms};
use crate::store::NewSecurityEvent;

/// The handle operations act through: the service's state.
pub type Ops = AppState;

/// What an operation answers.
pub type OpResult<T> = Result<T, ApiError>;

/// Checks `who` holds `permission` in `tenant` and, when it acts there as a reseller from a
/// parent tenant, records the action with both identities in the security log.
pub async fn enter<'a>(
    ops: &Ops,
    who: &'a Principal,
    tenant: &'a str,
    permission: Permission,
    action: &str,
) -> OpResult<Access<'a>> {
    let access = who.require(tenant, permission)?;
    if access.via.is_some() {
        security_event(ops, who, Some(tenant), "masquerade", action, String::new()).await?;
    }
    Ok(access)
}

/// Records one entry of the security log.
pub async fn security_event(
    ops: &Ops,
    who: &Principal,
    tenant: Option<&str>,
    action: &str,
    subject: &str,
    detail: String,
) -> OpResult<()> {
    let via = tenant.and_then(|t| who.grant(t)).and_then(|g| g.via.clone());
    let event = NewSecurityEvent {
        at: now_ms(),
        tenant_id: tenant.map(str::to_owned),
        actor: who.actor.label(),
        via,
        action: action.to_owned(),
        subject: subject.to_owned(),
        address: who.address.map(|a| a.to_string()),
        detail: portico_model::text::clip(&detail, 1024).into_owned(),
    };
    ops.inner.store.insert_security_event(&event).await?;
    tracing::info!(actor = %event.actor, tenant = ?event.tenant_id, action, subject, "security event");
    Ok(())
}
