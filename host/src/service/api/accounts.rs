//! People's own endpoints: signing in and out, who am I, my sessions, my password, my second
//! factor, and the links sent to people (invitations, password resets).

use super::extract::{Json, Path};
use super::{Created, api_time};
use crate::service::auth::{Client, session_cookie};
use crate::service::ops::{self, Principal, sessions::Credentials};
use crate::service::{ApiResult, AppState};
use crate::store::SessionRow;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Signing in.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Login {
    /// The account's email.
    pub email: String,
    /// Its password.
    pub password: String,
    /// The current code of the authenticator app, when two-factor authentication is on.
    #[serde(default)]
    pub totp_code: Option<String>,
    /// Or one of the recovery codes (each works once).
    #[serde(default)]
    pub recovery_code: Option<String>,
    /// Or the code emailed after a first try without one (when sign-in codes by email are on).
    #[serde(default)]
    pub email_code: Option<String>,
    /// A new password, when the answer was `password-expired`.
    #[serde(default)]
    pub new_password: Option<String>,
}

impl std::fmt::Debug for Login {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Login").field("email", &self.email).finish_non_exhaustive()
    }
}

/// A session (never its cookie).
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionView {
    /// Its id (to revoke it by).
    pub id: String,
    /// Where it signed in from.
    pub address: String,
    /// The browser.
    pub user_agent: String,
    /// RFC 3339, UTC.
    pub created_at: String,
    /// Last use (to the minute).
    pub last_seen_at: String,
    /// When it ends at the latest.
    pub expires_at: String,
    /// Whether it is the one this request came by.
    pub current: bool,
}

fn session_view(s: SessionRow, current: Option<&str>) -> SessionView {
    SessionView {
        current: current == Some(s.id.as_str()),
        id: s.id,
        address: s.address,
        user_agent: s.user_agent,
        created_at: api_time(s.created_at),
        last_seen_at: api_time(s.last_seen_at),
        expires_at: api_time(s.expires_at),
    }
}

/// A new session: the cookie is set; state-changing requests echo `csrf_token` in
/// `X-CSRF-Token`.
#[derive(Debug, Serialize, ToSchema)]
pub struct SignedIn {
    /// The account.
    pub email: String,
    /// Echo in `X-CSRF-Token` on every request that changes something.
    pub csrf_token: String,
    /// The session.
    pub session: SessionView,
}

/// Signs in: sets the session cookie (`HttpOnly`, `SameSite=Lax`, `Secure` over https).
#[utoipa::path(post, path = "/v1/session", tag = "accounts", operation_id = "sign_in", request_body = Login, security(()),
    responses((status = 201, body = SignedIn),
        (status = 401, body = crate::service::ErrorBody, description = "wrong email or password (`bad-credentials`), a second factor needed (`two-factor-required`) or wrong (`bad-second-factor`)"),
        (status = 403, body = crate::service::ErrorBody, description = "the password expired (`password-expired`)"),
        (status = 409, body = crate::service::ErrorBody, description = "too many sessions (when the policy refuses)"),
        (status = 429, body = crate::service::ErrorBody, description = "locked out after failed sign-ins")))]
pub async fn login(State(state): State<AppState>, client: Client, Json(login): Json<Login>) -> ApiResult<Response> {
    let creds = Credentials {
        email: login.email,
        password: login.password,
        totp_code: login.totp_code,
        recovery_code: login.recovery_code,
        email_code: login.email_code,
        new_password: login.new_password,
    };
    let signed = ops::sessions::login(&state, creds, client.address, &client.user_agent).await?;
    let max_age = (signed.session.expires_at - signed.session.created_at) / 1000;
    let set = session_cookie(&state, &signed.token, max_age);
    let body = SignedIn {
        email: signed.user.email,
        csrf_token: signed.session.csrf_token.clone(),
        session: session_view(signed.session.clone(), Some(&signed.session.id)),
    };
    Ok((StatusCode::CREATED, [(header::SET_COOKIE, set)], Json(body)).into_response())
}

/// Signs out: ends the session and clears the cookie.
#[utoipa::path(delete, path = "/v1/session", tag = "accounts", operation_id = "sign_out", responses((status = 204)))]
pub async fn logout(State(state): State<AppState>, who: Principal) -> ApiResult<Response> {
    ops::sessions::logout(&state, &who).await?;
    Ok((StatusCode::NO_CONTENT, [(header::SET_COOKIE, session_cookie(&state, "", 0))]).into_response())
}

/// A role held in a tenant.
#[derive(Debug, Serialize, ToSchema)]
pub struct GrantView {
    /// The tenant.
    pub tenant: String,
    /// The role.
    pub role: String,
    /// What it allows.
    pub permissions: Vec<&'static str>,
    /// The reseller tenant this access comes through.
    pub via: Option<String>,
    /// The tenant requires two-factor authentication, which is not on yet.
    pub needs_2fa: bool,
}

/// Who am I.
#[derive(Debug, Serialize, ToSchema)]
pub struct MeView {
    /// Account id.
    pub id: String,
    /// Email.
    pub email: String,
    /// Platform staff.
    pub platform_admin: bool,
    /// The authenticator app (TOTP) is on.
    pub two_factor: bool,
    /// Sign-in codes by email are on.
    pub email_codes: bool,
    /// Recovery codes left.
    pub recovery_codes_left: usize,
    /// Access per tenant.
    pub tenants: Vec<GrantView>,
}

/// The signed-in person and what they may do where.
#[utoipa::path(get, path = "/v1/me", tag = "accounts", operation_id = "me", responses((status = 200, body = MeView)))]
pub async fn me(State(state): State<AppState>, who: Principal) -> ApiResult<Json<MeView>> {
    let me = ops::accounts::me(&state, &who).await?;
    let codes: Vec<String> = serde_json::from_str(&me.user.recovery_codes).unwrap_or_default();
    Ok(Json(MeView {
        id: me.user.id,
        email: me.user.email,
        platform_admin: me.platform_admin,
        two_factor: me.user.totp_secret.is_some(),
        email_codes: me.user.email_2fa == 1,
        recovery_codes_left: codes.len(),
        tenants: me
            .grants
            .into_iter()
            .map(|g| GrantView {
                tenant: g.tenant,
                role: g.role,
                permissions: g.permissions.names(),
                via: g.via,
                needs_2fa: g.needs_2fa,
            })
            .collect(),
    }))
}

/// My live sessions, oldest first.
#[utoipa::path(get, path = "/v1/me/sessions", tag = "accounts", operation_id = "my_sessions", responses((status = 200, body = Vec<SessionView>)))]
pub async fn sessions(State(state): State<AppState>, who: Principal) -> ApiResult<Json<Vec<SessionView>>> {
    let list = ops::sessions::list(&state, &who).await?;
    Ok(Json(list.into_iter().map(|s| session_view(s, who.session.as_deref())).collect()))
}

/// Ends one of my sessions.
#[utoipa::path(delete, path = "/v1/me/sessions/{id}", tag = "accounts", operation_id = "revoke_my_session",
    params(("id" = String, Path)), responses((status = 204), (status = 404, body = crate::service::ErrorBody)))]
pub async fn revoke_session(
    State(state): State<AppState>,
    who: Principal,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    ops::sessions::revoke(&state, &who, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Changing my password.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordChange {
    /// The current password.
    pub current_password: String,
    /// The new one.
    pub new_password: String,
}

/// Changes my password; my other sessions end.
#[utoipa::path(post, path = "/v1/me/password", tag = "accounts", operation_id = "change_my_password", request_body = PasswordChange,
    responses((status = 204), (status = 403, body = crate::service::ErrorBody, description = "the current password is wrong"),
        (status = 422, body = crate::service::ErrorBody, description = "the new password is too short, too long or common")))]
pub async fn change_password(
    State(state): State<AppState>,
    who: Principal,
    Json(c): Json<PasswordChange>,
) -> ApiResult<StatusCode> {
    ops::accounts::change_password(&state, &who, &c.current_password, &c.new_password).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A TOTP enrolment begun.
#[derive(Debug, Serialize, ToSchema)]
pub struct EnrolmentView {
    /// The secret (base32), for typing in by hand.
    pub secret: String,
    /// The `otpauth://` URI to scan.
    pub otpauth_uri: String,
}

/// Begins two-factor enrolment: a secret to add to an authenticator app.
#[utoipa::path(post, path = "/v1/me/totp", tag = "accounts", operation_id = "begin_totp",
    responses((status = 201, body = EnrolmentView), (status = 409, body = crate::service::ErrorBody, description = "already enrolled")))]
pub async fn begin_totp(State(state): State<AppState>, who: Principal) -> ApiResult<Created<EnrolmentView>> {
    let e = ops::totp::begin(&state, &who).await?;
    Ok(Created(EnrolmentView { secret: e.secret, otpauth_uri: e.uri }))
}

/// A code from the authenticator app.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Code {
    /// Six digits.
    pub code: String,
}

/// Recovery codes, shown once.
#[derive(Debug, Serialize, ToSchema)]
pub struct RecoveryCodes {
    /// Each signs in once in place of a code.
    pub recovery_codes: Vec<String>,
}

/// Confirms enrolment with a current code; answers ten recovery codes (shown once).
#[utoipa::path(post, path = "/v1/me/totp/confirm", tag = "accounts", operation_id = "confirm_totp", request_body = Code,
    responses((status = 200, body = RecoveryCodes), (status = 422, body = crate::service::ErrorBody, description = "a wrong code")))]
pub async fn confirm_totp(
    State(state): State<AppState>,
    who: Principal,
    Json(c): Json<Code>,
) -> ApiResult<Json<RecoveryCodes>> {
    Ok(Json(RecoveryCodes { recovery_codes: ops::totp::confirm(&state, &who, &c.code).await? }))
}

/// The password again.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordProof {
    /// The account's password.
    pub password: String,
}

/// Turns two-factor authentication off (needs the password).
#[utoipa::path(delete, path = "/v1/me/totp", tag = "accounts", operation_id = "remove_totp", request_body = PasswordProof,
    responses((status = 204), (status = 403, body = crate::service::ErrorBody, description = "a wrong password")))]
pub async fn remove_totp(
    State(state): State<AppState>,
    who: Principal,
    Json(p): Json<PasswordProof>,
) -> ApiResult<StatusCode> {
    ops::totp::remove(&state, &who, &p.password).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Accepting an invitation or using a reset link.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenPassword {
    /// The token from the link.
    pub token: String,
    /// The password to set (or, accepting an invitation with an existing account, its password).
    pub password: String,
}

/// An accepted invitation.
#[derive(Debug, Serialize, ToSchema)]
pub struct Accepted {
    /// The account.
    pub email: String,
    /// The tenant joined.
    pub tenant: String,
}

/// Accepts an invitation: sets the password of a new account (or proves an existing one) and
/// joins the tenant. Each link works once.
#[utoipa::path(post, path = "/v1/invitations/accept", tag = "accounts", operation_id = "accept_invitation", request_body = TokenPassword, security(()),
    responses((status = 200, body = Accepted), (status = 410, body = crate::service::ErrorBody, description = "unknown, used, withdrawn or expired"),
        (status = 403, body = crate::service::ErrorBody, description = "the email has an account and this is not its password"),
        (status = 409, body = crate::service::ErrorBody, description = "the account was created at the same moment"),
        (status = 422, body = crate::service::ErrorBody, description = "a weak password"),
        (status = 429, body = crate::service::ErrorBody, description = "locked out after failed passwords")))]
pub async fn accept_invitation(
    State(state): State<AppState>,
    client: Client,
    Json(t): Json<TokenPassword>,
) -> ApiResult<Json<Accepted>> {
    let acceptance = ops::accounts::Acceptance { token: t.token, password: t.password };
    let (user, tenant) = ops::accounts::accept_invitation(&state, acceptance, client.address).await?;
    Ok(Json(Accepted { email: user.email, tenant }))
}

/// Sets a new password with a reset link; every session of the account ends.
#[utoipa::path(post, path = "/v1/password/reset", tag = "accounts", operation_id = "reset_password", request_body = TokenPassword, security(()),
    responses((status = 204), (status = 410, body = crate::service::ErrorBody, description = "unknown, used or expired"),
        (status = 422, body = crate::service::ErrorBody, description = "a weak password")))]
pub async fn reset_password(State(state): State<AppState>, Json(t): Json<TokenPassword>) -> ApiResult<StatusCode> {
    ops::accounts::reset_password(&state, &t.token, &t.password).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Turns on sign-in codes by email: a code is mailed to confirm the address receives them.
#[utoipa::path(post, path = "/v1/me/email-2fa", tag = "accounts", operation_id = "begin_email_codes",
    responses((status = 202, description = "a code was mailed"),
        (status = 409, body = crate::service::ErrorBody, description = "mail is not set up"),
        (status = 502, body = crate::service::ErrorBody, description = "the mail server refused")))]
pub async fn begin_email_codes(State(state): State<AppState>, who: Principal) -> ApiResult<StatusCode> {
    ops::totp::begin_email(&state, &who).await?;
    Ok(StatusCode::ACCEPTED)
}

/// Confirms sign-in codes by email with the mailed code.
#[utoipa::path(post, path = "/v1/me/email-2fa/confirm", tag = "accounts", operation_id = "confirm_email_codes", request_body = Code,
    responses((status = 204), (status = 422, body = crate::service::ErrorBody, description = "a wrong, used or expired code")))]
pub async fn confirm_email_codes(
    State(state): State<AppState>,
    who: Principal,
    Json(c): Json<Code>,
) -> ApiResult<StatusCode> {
    ops::totp::confirm_email(&state, &who, &c.code).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Turns sign-in codes by email off (needs the password).
#[utoipa::path(delete, path = "/v1/me/email-2fa", tag = "accounts", operation_id = "remove_email_codes", request_body = PasswordProof,
    responses((status = 204), (status = 403, body = crate::service::ErrorBody, description = "a wrong password")))]
pub async fn remove_email_codes(
    State(state): State<AppState>,
    who: Principal,
    Json(p): Json<PasswordProof>,
) -> ApiResult<StatusCode> {
    ops::totp::remove_email(&state, &who, &p.password).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// "I forgot my password".
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Forgotten {
    /// The account's email.
    pub email: String,
}

/// Mails a reset link to the account, when mail is set up and the account exists (at most
/// three an hour). The answer is the same either way.
#[utoipa::path(post, path = "/v1/password/forgot", tag = "accounts", operation_id = "forgot_password", request_body = Forgotten, security(()),
    responses((status = 202, description = "if the account exists and mail is set up, a link is on its way")))]
pub async fn forgot_password(
    State(state): State<AppState>,
    client: Client,
    Json(f): Json<Forgotten>,
) -> ApiResult<StatusCode> {
    ops::accounts::forgot_password(&state, &f.email, client.address).await?;
    Ok(StatusCode::ACCEPTED)
}
