//! The OAuth 2.0 web-server flow with PKCE: a user authorizes Portico in Salesforce, and the
//! connection keeps a refresh token that acts as that user (scopes `api refresh_token`).

use super::{SalesforceError, Secret};
use oauth2::basic::BasicClient;
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
}

fn client(
    login_url: &Url,
    client_id: &str,
    client_secret: Option<&Secret>,
    redirect: &str,
) -> Result<
    oauth2::basic::BasicClient<
        oauth2::EndpointSet,
        oauth2::EndpointNotSet,
        oauth2::EndpointNotSet,
        oauth2::EndpointNotSet,
        oauth2::EndpointSet,
    >,
    SalesforceError,
> {
    let bad = |e: url::ParseError| SalesforceError::Protocol(e.to_string());
    let mut c = BasicClient::new(ClientId::new(client_id.to_owned()))
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
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| SalesforceError::Network(e.to_string()))?;
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
    })
}
