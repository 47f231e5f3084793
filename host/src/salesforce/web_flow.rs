//! The OAuth 2.0 web-server flow with PKCE: a user authorizes Portico in Salesforce, and the
//! connection keeps a refresh token that acts as that user (scopes `api refresh_token`).

use super::{SalesforceError, Secret};
use oauth2::{
    AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl,
    Scope, TokenResponse, TokenUrl,
};
use url::Url;

/// A started authorization: send the user to `authorize_url`, keep `verifier` and `state` for
/// the callback.
#[derive(Debug)]
pub struct Started {
    /// Where to send the user's browser.
    pub authorize_url: Url,
    /// The PKCE verifier, secret until the code exchange.
    pub verifier: Secret,
    /// The `state` the callback must carry back (CSRF protection).
    pub state: String,
}

/// The tokens the callback yields.
#[derive(Debug)]
pub struct Authorized {
    /// The refresh token to store (encrypted) with the connection.
    pub refresh_token: Secret,
    /// A first access token.
    pub access_token: Secret,
    /// The identity URL of the user who authorized (`id` in the token response).
    pub identity_url: Option<String>,
}

/// The fields Salesforce adds to a token response that Portico reads.
#[derive(Clone, Debug, Default, serde::Deserialize, serde::Serialize)]
pub struct SalesforceFields {
    /// The identity URL (`https://login.salesforce.com/id/{org}/{user}`).
    #[serde(default)]
    pub id: Option<String>,
}

impl oauth2::ExtraTokenFields for SalesforceFields {}

type Token = oauth2::StandardTokenResponse<SalesforceFields, oauth2::basic::BasicTokenType>;

/// The flow's client, reading Salesforce's token response; `Auth` and `TokenUrl` say whether
/// those endpoints are set (both are, once [`client`] has built it).
type FlowClient<Auth = oauth2::EndpointSet, TokenUrl = oauth2::EndpointSet> = oauth2::Client<
    oauth2::basic::BasicErrorResponse,
    Token,
    oauth2::basic::BasicTokenIntrospectionResponse,
    oauth2::StandardRevocableToken,
    oauth2::basic::BasicRevocationErrorResponse,
    Auth,
    oauth2::EndpointNotSet,
    oauth2::EndpointNotSet,
    oauth2::EndpointNotSet,
    TokenUrl,
>;

/// The flow's HTTP client: no redirects followed (a token or identity answer never redirects;
/// following one could carry the code or token elsewhere), and a bound on each exchange.
fn http() -> Result<reqwest::Client, SalesforceError> {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(std::time::Duration::from_secs(10))
        .build()
        .map_err(|e| SalesforceError::Network(e.to_string()))
}

/// Who authorized, from the identity URL.
#[derive(Clone, Debug, PartialEq, Eq, serde::Deserialize)]
pub struct Identity {
    /// The Salesforce username, e.g. `integration@acme.com`.
    pub username: String,
    /// The org's id.
    pub organization_id: String,
}

/// The most of an identity answer read.
const IDENTITY_MAX_BYTES: u64 = 64 << 10;

/// Reads who `access_token` acts as from `identity_url`. The URL comes from the token response,
/// so it is followed only on the login or instance host the connection already trusts.
pub async fn identity(
    identity_url: &str,
    trusted: &[&Url],
    access_token: &Secret,
) -> Result<Identity, SalesforceError> {
    let url = Url::parse(identity_url).map_err(|e| SalesforceError::Protocol(format!("identity URL: {e}")))?;
    if !trusted.iter().any(|t| t.origin() == url.origin()) {
        return Err(SalesforceError::Protocol(format!("the identity URL {url} is not on the login or instance host")));
    }
    let http = http()?;
    let response = http
        .get(url)
        .bearer_auth(access_token.expose())
        .header(reqwest::header::ACCEPT, "application/json")
        .send()
        .await
        .map_err(|e| SalesforceError::Network(e.to_string()))?;
    let status = response.status();
    let body = super::body::read_bounded(response, IDENTITY_MAX_BYTES).await?;
    if !status.is_success() {
        return Err(SalesforceError::Protocol(format!("the identity URL answered {status}")));
    }
    serde_json::from_str(&body).map_err(|e| SalesforceError::Protocol(format!("identity: {e}")))
}

fn client(
    login_url: &Url,
    client_id: &str,
    client_secret: Option<&Secret>,
    redirect: &str,
) -> Result<FlowClient, SalesforceError> {
    let bad = |e: url::ParseError| SalesforceError::Protocol(e.to_string());
    let mut c = FlowClient::<oauth2::EndpointNotSet, oauth2::EndpointNotSet>::new(ClientId::new(client_id.to_owned()))
        .set_auth_type(oauth2::AuthType::RequestBody)
        .set_auth_uri(AuthUrl::from_url(login_url.join("/services/oauth2/authorize").map_err(bad)?))
        .set_token_uri(TokenUrl::from_url(login_url.join("/services/oauth2/token").map_err(bad)?))
        .set_redirect_uri(RedirectUrl::new(redirect.to_owned()).map_err(bad)?);
    if let Some(secret) = client_secret {
        c = c.set_client_secret(ClientSecret::new(secret.expose().to_owned()));
    }
    Ok(c)
}

/// Starts an authorization for the connected app `client_id` at `login_url`.
pub fn start(login_url: &Url, client_id: &str, redirect: &str) -> Result<Started, SalesforceError> {
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, state) = client(login_url, client_id, None, redirect)?
        .authorize_url(CsrfToken::new_random)
        .add_scope(Scope::new("api".into()))
        .add_scope(Scope::new("refresh_token".into()))
        .set_pkce_challenge(challenge)
        .url();
    Ok(Started { authorize_url: url, verifier: Secret::new(verifier.secret().clone()), state: state.secret().clone() })
}

/// Exchanges the callback's `code` for tokens, after checking its `state`.
pub async fn finish(
    login_url: &Url,
    client_id: &str,
    client_secret: Option<&Secret>,
    redirect: &str,
    started: &Started,
    code: &str,
    state: &str,
) -> Result<Authorized, SalesforceError> {
    if state != started.state {
        return Err(SalesforceError::ReconnectNeeded("the callback's state does not match; start again".into()));
    }
    let http = http()?;
    let token = client(login_url, client_id, client_secret, redirect)?
        .exchange_code(AuthorizationCode::new(code.to_owned()))
        .set_pkce_verifier(PkceCodeVerifier::new(started.verifier.expose().to_owned()))
        .request_async(&http)
        .await
        .map_err(|e| SalesforceError::ReconnectNeeded(format!("the authorization code was refused: {e}")))?;
    let refresh = token.refresh_token().ok_or_else(|| {
        SalesforceError::Protocol(
            "no refresh token: is the `refresh_token` scope enabled for the connected app?".into(),
        )
    })?;
    Ok(Authorized {
        refresh_token: Secret::new(refresh.secret().clone()),
        access_token: Secret::new(token.access_token().secret().clone()),
        identity_url: token.extra_fields().id.clone(),
    })
}
