//! A tenant's people: invitations, members, custom roles, password resets by an admin, and the
//! security log.

use super::extract::{Json, Path, Query};
use super::{Created, api_time};
use crate::service::ops::{self, Permission, Principal};
use crate::service::{ApiResult, AppState};
use crate::store::{MembershipRow, RoleRow, SecurityEvent, TokenRow};
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A new invitation.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewInvitation {
    /// Whom to invite.
    pub email: String,
    /// The role they get: built-in or the tenant's own, holding nothing the inviter does not.
    pub role: String,
}

/// An invitation (never its token).
#[derive(Debug, Serialize, ToSchema)]
pub struct InvitationView {
    /// Its id.
    pub id: String,
    /// Whom.
    pub email: String,
    /// The role.
    pub role: Option<String>,
    /// Who invited.
    pub created_by: String,
    /// RFC 3339, UTC.
    pub created_at: String,
    /// When the link stops working.
    pub expires_at: String,
    /// `open`, `accepted`, `withdrawn` or `expired`.
    pub state: &'static str,
}

impl From<TokenRow> for InvitationView {
    fn from(t: TokenRow) -> InvitationView {
        let state = match (t.used_at, t.revoked_at) {
            (Some(_), _) => "accepted",
            (_, Some(_)) => "withdrawn",
            _ if t.expires_at <= crate::service::now_ms() => "expired",
            _ => "open",
        };
        InvitationView {
            id: t.id,
            email: t.email,
            role: t.role,
            created_by: t.created_by,
            created_at: api_time(t.created_at),
            expires_at: api_time(t.expires_at),
            state,
        }
    }
}

/// A created invitation. When the operator set up mail it was emailed to the invitee;
/// otherwise its token is shown this once, to pass on (they accept it at
/// `POST /v1/invitations/accept`).
#[derive(Debug, Serialize, ToSchema)]
pub struct InvitationCreated {
    /// The invitation.
    pub invitation: InvitationView,
    /// The single-use token, when it was not emailed.
    pub token: Option<String>,
    /// Whether it was emailed.
    pub emailed: bool,
}

/// Invites someone by email with a role (`users:manage`).
#[utoipa::path(post, path = "/v1/tenants/{tenant}/invitations", tag = "users", operation_id = "invite", request_body = NewInvitation,
    params(("tenant" = String, Path)),
    responses((status = 201, body = InvitationCreated),
        (status = 403, body = crate::service::ErrorBody, description = "the role holds permissions the inviter does not (`escalation`)"),
        (status = 422, body = crate::service::ErrorBody, description = "a bad email or an unknown role"),
        (status = 502, body = crate::service::ErrorBody, description = "mail is set up and the server refused the mail")))]
pub async fn invite(
    State(state): State<AppState>,
    who: Principal,
    Path(tenant): Path<String>,
    Json(new): Json<NewInvitation>,
) -> ApiResult<Created<InvitationCreated>> {
    let invited = ops::members::invite(&state, &who, &tenant, &new.email, &new.role).await?;
    let emailed = invited.token.is_none();
    Ok(Created(InvitationCreated { invitation: invited.row.into(), token: invited.token, emailed }))
}

/// The tenant's invitations, newest first.
#[utoipa::path(get, path = "/v1/tenants/{tenant}/invitations", tag = "users", operation_id = "list_invitations",
    params(("tenant" = String, Path)), responses((status = 200, body = Vec<InvitationView>)))]
pub async fn invitations(
    State(state): State<AppState>,
    who: Principal,
    Path(tenant): Path<String>,
) -> ApiResult<Json<Vec<InvitationView>>> {
    Ok(Json(ops::members::invitations(&state, &who, &tenant).await?.into_iter().map(Into::into).collect()))
}

/// Withdraws an open invitation.
#[utoipa::path(delete, path = "/v1/tenants/{tenant}/invitations/{id}", tag = "users", operation_id = "revoke_invitation",
    params(("tenant" = String, Path), ("id" = String, Path)), responses((status = 204), (status = 404, body = crate::service::ErrorBody)))]
pub async fn revoke_invitation(
    State(state): State<AppState>,
    who: Principal,
    Path((tenant, id)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    ops::members::revoke_invitation(&state, &who, &tenant, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A member.
#[derive(Debug, Serialize, ToSchema)]
pub struct MemberView {
    /// Account id.
    pub user_id: String,
    /// Email.
    pub email: String,
    /// Role in this tenant.
    pub role: String,
    /// Member since (RFC 3339, UTC).
    pub created_at: String,
}

impl From<MembershipRow> for MemberView {
    fn from(m: MembershipRow) -> MemberView {
        MemberView { user_id: m.user_id, email: m.email, role: m.role, created_at: api_time(m.created_at) }
    }
}

/// The tenant's members.
#[utoipa::path(get, path = "/v1/tenants/{tenant}/users", tag = "users", operation_id = "list_members",
    params(("tenant" = String, Path)), responses((status = 200, body = Vec<MemberView>)))]
pub async fn members(
    State(state): State<AppState>,
    who: Principal,
    Path(tenant): Path<String>,
) -> ApiResult<Json<Vec<MemberView>>> {
    Ok(Json(ops::members::members(&state, &who, &tenant).await?.into_iter().map(Into::into).collect()))
}

/// A role to give.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RoleChoice {
    /// The role's name.
    pub role: String,
}

/// Gives a member another role (never one's own; never more than the caller holds).
#[utoipa::path(put, path = "/v1/tenants/{tenant}/users/{user}/role", tag = "users", operation_id = "set_member_role", request_body = RoleChoice,
    params(("tenant" = String, Path), ("user" = String, Path)),
    responses((status = 200, body = MemberView), (status = 403, body = crate::service::ErrorBody, description = "one's own role, or an escalation")))]
pub async fn set_role(
    State(state): State<AppState>,
    who: Principal,
    Path((tenant, user)): Path<(String, String)>,
    Json(choice): Json<RoleChoice>,
) -> ApiResult<Json<MemberView>> {
    Ok(Json(ops::members::set_role(&state, &who, &tenant, &user, &choice.role).await?.into()))
}

/// Removes a member from the tenant.
#[utoipa::path(delete, path = "/v1/tenants/{tenant}/users/{user}", tag = "users", operation_id = "remove_member",
    params(("tenant" = String, Path), ("user" = String, Path)), responses((status = 204)))]
pub async fn remove(
    State(state): State<AppState>,
    who: Principal,
    Path((tenant, user)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    ops::members::remove(&state, &who, &tenant, &user).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A password reset: emailed to the member when mail is set up, else its token is shown once
/// to the admin who passes it on.
#[derive(Debug, Serialize, ToSchema)]
pub struct ResetIssued {
    /// For `POST /v1/password/reset`, when it was not emailed.
    pub token: Option<String>,
    /// Whether it was emailed.
    pub emailed: bool,
    /// When it stops working.
    pub expires_at: String,
}

/// Makes a password reset link for a member.
#[utoipa::path(post, path = "/v1/tenants/{tenant}/users/{user}/password-reset", tag = "users", operation_id = "reset_member_password",
    params(("tenant" = String, Path), ("user" = String, Path)), responses((status = 201, body = ResetIssued),
        (status = 502, body = crate::service::ErrorBody, description = "mail is set up and the server refused the mail")))]
pub async fn reset_link(
    State(state): State<AppState>,
    who: Principal,
    Path((tenant, user)): Path<(String, String)>,
) -> ApiResult<Created<ResetIssued>> {
    let (row, token) = ops::members::reset_link(&state, &who, &tenant, &user).await?;
    Ok(Created(ResetIssued { emailed: token.is_none(), token, expires_at: api_time(row.expires_at) }))
}

/// A custom role.
#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RoleView {
    /// Its name (ignored in a request body; the path names it).
    #[serde(default)]
    pub name: String,
    /// What it allows.
    pub permissions: Vec<Permission>,
}

impl From<RoleRow> for RoleView {
    fn from(r: RoleRow) -> RoleView {
        let permissions = ops::members::role_view(&r).into_iter().filter_map(Permission::parse).collect();
        RoleView { name: r.name, permissions }
    }
}

/// The tenant's custom roles (the built-in ones are tenant-owner, tenant-admin and viewer).
#[utoipa::path(get, path = "/v1/tenants/{tenant}/roles", tag = "users", operation_id = "list_roles",
    params(("tenant" = String, Path)), responses((status = 200, body = Vec<RoleView>)))]
pub async fn roles(
    State(state): State<AppState>,
    who: Principal,
    Path(tenant): Path<String>,
) -> ApiResult<Json<Vec<RoleView>>> {
    Ok(Json(ops::members::roles(&state, &who, &tenant).await?.into_iter().map(Into::into).collect()))
}

/// Creates or replaces a custom role (`roles:manage`; only permissions the caller holds).
#[utoipa::path(put, path = "/v1/tenants/{tenant}/roles/{name}", tag = "users", operation_id = "put_role", request_body = RoleView,
    params(("tenant" = String, Path), ("name" = String, Path)),
    responses((status = 200, body = RoleView), (status = 403, body = crate::service::ErrorBody, description = "an escalation"),
        (status = 422, body = crate::service::ErrorBody, description = "a bad name or a platform permission")))]
pub async fn put_role(
    State(state): State<AppState>,
    who: Principal,
    Path((tenant, name)): Path<(String, String)>,
    Json(role): Json<RoleView>,
) -> ApiResult<Json<RoleView>> {
    Ok(Json(ops::members::put_role(&state, &who, &tenant, &name, &role.permissions).await?.into()))
}

/// Deletes a custom role nobody holds.
#[utoipa::path(delete, path = "/v1/tenants/{tenant}/roles/{name}", tag = "users", operation_id = "delete_role",
    params(("tenant" = String, Path), ("name" = String, Path)),
    responses((status = 204), (status = 409, body = crate::service::ErrorBody, description = "members or keys hold it")))]
pub async fn delete_role(
    State(state): State<AppState>,
    who: Principal,
    Path((tenant, name)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    ops::members::delete_role(&state, &who, &tenant, &name).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A page of the security log.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct LogPage {
    /// Entries before this `seq` (the next page).
    pub before: Option<i64>,
    /// At most this many (1–500, default 100).
    pub limit: Option<u32>,
}

/// An entry of the security log.
#[derive(Debug, Serialize, ToSchema)]
pub struct SecurityEventView {
    /// Its position (page with `before`).
    pub seq: i64,
    /// RFC 3339, UTC.
    pub at: String,
    /// The tenant.
    pub tenant: Option<String>,
    /// Who (`user:…`, `key:…`, `operator`, `unauthenticated:…`).
    pub actor: String,
    /// The reseller tenant the actor acted from.
    pub via: Option<String>,
    /// What happened.
    pub action: String,
    /// To what.
    pub subject: String,
    /// From which address.
    pub address: Option<String>,
    /// More.
    pub detail: String,
}

impl From<SecurityEvent> for SecurityEventView {
    fn from(e: SecurityEvent) -> SecurityEventView {
        SecurityEventView {
            seq: e.seq,
            at: api_time(e.at),
            tenant: e.tenant_id,
            actor: e.actor,
            via: e.via,
            action: e.action,
            subject: e.subject,
            address: e.address,
            detail: e.detail,
        }
    }
}

/// The tenant's security log, newest first (`audit:view`).
#[utoipa::path(get, path = "/v1/tenants/{tenant}/security-events", tag = "users", operation_id = "tenant_security_events",
    params(("tenant" = String, Path), LogPage), responses((status = 200, body = Vec<SecurityEventView>)))]
pub async fn tenant_log(
    State(state): State<AppState>,
    who: Principal,
    Path(tenant): Path<String>,
    Query(page): Query<LogPage>,
) -> ApiResult<Json<Vec<SecurityEventView>>> {
    let events =
        ops::members::security_log(&state, &who, Some(&tenant), page.before, page.limit.unwrap_or(100)).await?;
    Ok(Json(events.into_iter().map(Into::into).collect()))
}

/// The whole security log, newest first (platform staff).
#[utoipa::path(get, path = "/v1/security-events", tag = "users", operation_id = "security_events",
    params(LogPage), responses((status = 200, body = Vec<SecurityEventView>)))]
pub async fn platform_log(
    State(state): State<AppState>,
    who: Principal,
    Query(page): Query<LogPage>,
) -> ApiResult<Json<Vec<SecurityEventView>>> {
    let events = ops::members::security_log(&state, &who, None, page.before, page.limit.unwrap_or(100)).await?;
    Ok(Json(events.into_iter().map(Into::into).collect()))
}
