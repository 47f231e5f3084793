//! A tenant's people: invitations, members and their roles, custom roles, password resets by
//! an admin, and the security log.
//!
//! No one hands out a role holding a permission they do not hold themselves, changes their
//! own role, or acts on a member whose role holds more than theirs.

use super::keys::{grantable, parse_permissions, role_permissions};
use super::{BuiltinRole, OpResult, Ops, Permission, Permissions, Principal, security_event};
use crate::service::accounts::{self, normalise_email};
use crate::service::{ApiError, now_ms};
use crate::store::{MembershipRow, RoleRow, SecurityEvent, TokenKind, TokenRow};

/// An invitation made: emailed when mail is set up, else its token is shown this once.
#[derive(Debug)]
pub struct Invited {
    /// What is stored.
    pub row: TokenRow,
    /// The token for the link, when it was not emailed.
    pub token: Option<String>,
}

/// Stores a new single-use token of `kind` for `email` that works for `ttl_ms`; answers the row
/// and the token (only its hash is stored).
pub(super) async fn issue_token(
    ops: &Ops,
    kind: TokenKind,
    email: &str,
    tenant: Option<&str>,
    role: Option<&str>,
    created_by: String,
    ttl_ms: i64,
) -> OpResult<(TokenRow, String)> {
    let token = accounts::new_token();
    let now = now_ms();
    let row = TokenRow {
        token_hash: accounts::token_hash(&token),
        id: accounts::new_id(),
        kind: kind.as_str().to_owned(),
        email: email.to_owned(),
        tenant_id: tenant.map(str::to_owned),
        role: role.map(str::to_owned),
        created_by,
        created_at: now,
        expires_at: now + ttl_ms,
        used_at: None,
        revoked_at: None,
    };
    ops.inner.store.insert_token(&row).await?;
    Ok((row, token))
}

/// Mails `letter` to `to` when a mailer is configured: `Ok(true)` when sent, `Ok(false)`
/// without mail. When sending fails the token `id` of `tenant` is withdrawn — nobody could use
/// it — and the mail server's answer is the error.
pub(super) async fn mail_or_show(
    ops: &Ops,
    to: &str,
    letter: (String, String),
    token_id: &str,
    tenant: Option<&str>,
) -> OpResult<bool> {
    let Some(mailer) = &ops.inner.mailer else { return Ok(false) };
    if let Err(e) = mailer.send(to, &letter.0, letter.1).await {
        if let Some(tenant) = tenant {
            ops.inner.store.revoke_invitation(tenant, token_id, now_ms()).await?;
        }
        tracing::warn!(to, "mail not sent: {e}");
        return Err(ApiError::new(
            axum::http::StatusCode::BAD_GATEWAY,
            "mail-failed",
            format!("the mail was not sent: {e}"),
        ));
    }
    Ok(true)
}

/// Invites `email` to the tenant with `role`; the link works once, until it expires.
pub async fn invite(ops: &Ops, who: &Principal, tenant: &str, email: &str, role: &str) -> OpResult<Invited> {
    super::tenants::open(ops, who, tenant, Permission::UsersManage, "invite").await?;
    let email = normalise_email(email)
        .ok_or_else(|| ApiError::unprocessable("bad-email", format!("`{email}` is not an email address")))?;
    grantable(ops, who, tenant, role).await?;
    let config = &ops.inner.config;
    let hours = config.accounts.invitation_hours.max(1);
    let ttl = hours as i64 * 3_600_000;
    let by = who.actor.label();
    let (row, token) = issue_token(ops, TokenKind::Invitation, &email, Some(tenant), Some(role), by, ttl).await?;
    let letter = crate::service::mail::letters::invitation(&config.public_url, tenant, role, &token, hours);
    let emailed = mail_or_show(ops, &email, letter, &row.id, Some(tenant)).await?;
    let detail = format!("role `{role}`, id {}{}", row.id, if emailed { ", emailed" } else { "" });
    security_event(ops, who, Some(tenant), "invitation-created", &email, detail).await?;
    Ok(Invited { row, token: (!emailed).then_some(token) })
}

/// The tenant's invitations, newest first.
pub async fn invitations(ops: &Ops, who: &Principal, tenant: &str) -> OpResult<Vec<TokenRow>> {
    super::tenants::open(ops, who, tenant, Permission::UsersManage, "list-invitations").await?;
    Ok(ops.inner.store.invitations(tenant).await?)
}

/// Withdraws an unused invitation.
pub async fn revoke_invitation(ops: &Ops, who: &Principal, tenant: &str, id: &str) -> OpResult<()> {
    super::tenants::open(ops, who, tenant, Permission::UsersManage, "revoke-invitation").await?;
    if !ops.inner.store.revoke_invitation(tenant, id, now_ms()).await? {
        return Err(ApiError::not_found(format!("tenant `{tenant}` has no open invitation `{id}`")));
    }
    security_event(ops, who, Some(tenant), "invitation-revoked", id, String::new()).await
}

/// The tenant's members.
pub async fn members(ops: &Ops, who: &Principal, tenant: &str) -> OpResult<Vec<MembershipRow>> {
    super::tenants::open(ops, who, tenant, Permission::UsersManage, "list-members").await?;
    Ok(ops.inner.store.members(tenant).await?)
}

/// A member `who` may act on: not themselves, and holding nothing `who` does not.
async fn subordinate(ops: &Ops, who: &Principal, tenant: &str, user: &str, action: &str) -> OpResult<MembershipRow> {
    super::tenants::open(ops, who, tenant, Permission::UsersManage, action).await?;
    let member = ops
        .inner
        .store
        .members(tenant)
        .await?
        .into_iter()
        .find(|m| m.user_id == user)
        .ok_or_else(|| ApiError::not_found(format!("tenant `{tenant}` has no member `{user}`")))?;
    if matches!(&who.actor, super::Actor::User { id, .. } if *id == member.user_id) {
        return Err(ApiError::forbidden_code("own-account", "no one changes their own role or membership"));
    }
    let theirs = role_permissions(&ops.inner.store, tenant, &member.role).await?.unwrap_or(Permissions::NONE);
    if !who.permissions_in(tenant).covers(theirs) {
        return Err(ApiError::forbidden_code(
            "escalation",
            format!("`{}` holds the role `{}`, which can do more than you can", member.email, member.role),
        ));
    }
    Ok(member)
}

/// Gives a member another role.
pub async fn set_role(ops: &Ops, who: &Principal, tenant: &str, user: &str, role: &str) -> OpResult<MembershipRow> {
    let member = subordinate(ops, who, tenant, user, "set-role").await?;
    grantable(ops, who, tenant, role).await?;
    ops.inner.store.set_membership(user, tenant, role, now_ms()).await?;
    let detail = format!("`{}` → `{role}`", member.role);
    security_event(ops, who, Some(tenant), "role-changed", &member.email, detail).await?;
    Ok(MembershipRow { role: role.to_owned(), ..member })
}

/// Removes a member from the tenant.
pub async fn remove(ops: &Ops, who: &Principal, tenant: &str, user: &str) -> OpResult<()> {
    let member = subordinate(ops, who, tenant, user, "remove-member").await?;
    ops.inner.store.delete_membership(user, tenant).await?;
    security_event(ops, who, Some(tenant), "member-removed", &member.email, format!("was `{}`", member.role)).await
}

/// Makes a password reset link for a member: emailed to them when mail is set up, else shown
/// once to the admin, who passes it on.
pub async fn reset_link(ops: &Ops, who: &Principal, tenant: &str, user: &str) -> OpResult<(TokenRow, Option<String>)> {
    let member = subordinate(ops, who, tenant, user, "reset-password").await?;
    // A password opens every tenant the person belongs to: who resets it must outrank them in
    // each, and platform staff are reset only by platform staff.
    let store = &ops.inner.store;
    let target = store.user(user).await?.ok_or_else(|| ApiError::not_found(format!("no account `{user}`")))?;
    if target.platform_admin == 1 && !who.platform.has(Permission::PlatformUsers) {
        return Err(ApiError::forbidden_code(
            "escalation",
            "a platform admin's password is reset by platform staff only",
        ));
    }
    for other in store.memberships(user).await? {
        let theirs = role_permissions(store, &other.tenant_id, &other.role).await?.unwrap_or(Permissions::NONE);
        let held = who.permissions_in(&other.tenant_id);
        if !held.has(Permission::UsersManage) || !held.covers(theirs) {
            return Err(ApiError::forbidden_code(
                "escalation",
                format!(
                    "`{}` also belongs to a tenant where you may not manage them; they reset it themselves",
                    member.email
                ),
            ));
        }
    }
    let config = &ops.inner.config;
    let ttl = config.accounts.reset_minutes.max(1) as i64 * 60_000;
    let (row, token) =
        issue_token(ops, TokenKind::Reset, &member.email, Some(tenant), None, who.actor.label(), ttl).await?;
    let letter = crate::service::mail::letters::reset(&config.public_url, &token, config.accounts.reset_minutes.max(1));
    let emailed = mail_or_show(ops, &member.email, letter, &row.id, None).await?;
    security_event(ops, who, Some(tenant), "password-reset-issued", &member.email, String::new()).await?;
    Ok((row, (!emailed).then_some(token)))
}

/// The tenant's custom roles, for any of its members: who assigns roles (`users:manage`) and
/// who defines them (`roles:manage`) both need the list, and everyone sees what roles allow.
pub async fn roles(ops: &Ops, who: &Principal, tenant: &str) -> OpResult<Vec<RoleRow>> {
    super::tenants::get(ops, who, tenant).await?;
    Ok(ops.inner.store.roles(tenant).await?)
}

/// Creates or replaces a custom role; it may hold only tenant permissions `who` holds.
pub async fn put_role(
    ops: &Ops,
    who: &Principal,
    tenant: &str,
    name: &str,
    permissions: &[Permission],
) -> OpResult<RoleRow> {
    super::tenants::open(ops, who, tenant, Permission::RolesManage, "put-role").await?;
    let valid = (1..=40).contains(&name.len())
        && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !name.starts_with('-');
    if !valid || BuiltinRole::parse(name).is_some() {
        return Err(ApiError::unprocessable(
            "bad-role-name",
            format!("`{name}` must be 1-40 of a-z 0-9 - and not a built-in role's name"),
        ));
    }
    let wanted = Permissions::of(permissions);
    if let Some(p) = permissions.iter().find(|p| p.is_platform()) {
        return Err(ApiError::unprocessable(
            "platform-permission",
            format!("`{}` is for platform staff only", p.as_str()),
        ));
    }
    super::keys::within_reach(who, tenant, wanted, &format!("the role `{name}`"))?;
    let row = RoleRow {
        tenant_id: tenant.to_owned(),
        name: name.to_owned(),
        permissions: wanted.names().join(" "),
        created_at: now_ms(),
    };
    ops.inner.store.put_role(&row).await?;
    security_event(ops, who, Some(tenant), "role-defined", name, row.permissions.clone()).await?;
    Ok(row)
}

/// Deletes a custom role nobody holds.
pub async fn delete_role(ops: &Ops, who: &Principal, tenant: &str, name: &str) -> OpResult<()> {
    super::tenants::open(ops, who, tenant, Permission::RolesManage, "delete-role").await?;
    let held = ops.inner.store.role_in_use(tenant, name).await?;
    if held > 0 {
        return Err(ApiError::conflict(
            "role-in-use",
            format!("{held} members or keys hold `{name}`; give them another role first"),
        ));
    }
    if !ops.inner.store.delete_role(tenant, name).await? {
        return Err(ApiError::not_found(format!("tenant `{tenant}` has no custom role `{name}`")));
    }
    security_event(ops, who, Some(tenant), "role-deleted", name, String::new()).await
}

/// What a stored role allows (for showing).
pub fn role_view(row: &RoleRow) -> Vec<&'static str> {
    parse_permissions(&row.permissions).names()
}

/// The security log: a tenant's (`audit:view`), or with `None` the whole platform's.
pub async fn security_log(
    ops: &Ops,
    who: &Principal,
    tenant: Option<&str>,
    before: Option<i64>,
    limit: u32,
) -> OpResult<Vec<SecurityEvent>> {
    match tenant {
        Some(t) => {
            super::tenants::open(ops, who, t, Permission::AuditView, "view-security-log").await?;
        }
        None => who.require_platform(Permission::PlatformUsers)?,
    }
    Ok(ops.inner.store.security_events(tenant, before, i64::from(limit.clamp(1, 500))).await?)
}
