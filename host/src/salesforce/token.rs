//! Access tokens: how a connection logs in (client credentials and refresh through the `oauth2`
//! crate, the JWT bearer grant by hand) and keeps its token, renewing it when asked.

use super::error::SalesforceError;
use super::{Secret, policy};
use oauth2::basic::{BasicClient, BasicErrorResponseType};
use oauth2::{
    AuthType, ClientId, ClientSecret, EndpointNotSet, EndpointSet, RefreshToken, RequestTokenError, TokenResponse,
    TokenUrl,
};
use serde::Serialize;
use std::sync::Mutex;
use url::Url;

/// How a connection obtains access tokens.
#[derive(Clone, Debug)]
pub enum Auth {
    /// OAuth client credentials: the connected app runs as its configured integration user.
    ClientCredentials {
        /// Consumer key.
        client_id: String,
        /// Consumer secret.
        client_secret: Secret,
    },
    /// OAuth 2.0 JWT bearer: an RS256 assertion signed with the connected app's key, for the
    /// integration user `username`.
    JwtBearer {
        /// Consumer key (`iss`).
        client_id: String,
        /// The integration user (`sub`).
        username: String,
        /// The RSA private key, PEM.
        private_key: Secret,
    },
    /// A refresh token from the web-server flow: acts as the user who authorized.
    RefreshToken {
        /// Consumer key.
        client_id: String,
        /// Consumer secret, when the connected app requires it.
        client_secret: Option<Secret>,
        /// The refresh token.
        refresh_token: Secret,
    },
}

/// A tenant's connection to its org.
#[derive(Clone, Debug)]
pub struct Connection {
    /// The org's instance URL (`https://acme.my.salesforce.com`).
    pub instance_url: Url,
    /// Where tokens come from (usually the instance URL or `https://login.salesforce.com`).
    pub login_url: Url,
    /// The grant.
    pub auth: Auth,
    /// An extra certificate authority (PEM) to trust, for a development org such as the
    /// emulator's self-signed https; real orgs need none.
    pub extra_ca_pem: Option<String>,
}

impl Connection {
    /// A connection whose URLs pass the SSRF policy (see [`policy::check_org_url`]).
    pub fn new(
        instance_url: &str,
        login_url: &str,
        auth: Auth,
        allow: &[String],
    ) -> Result<Connection, policy::UrlRefused> {
        Ok(Connection {
            instance_url: policy::check_org_url(instance_url, allow)?,
            login_url: policy::check_org_url(login_url, allow)?,
            auth,
            extra_ca_pem: None,
        })
    }
}

type OAuthClient = BasicClient<EndpointNotSet, EndpointNotSet, EndpointNotSet, EndpointNotSet, EndpointSet>;

/// A connection's tokens: the current access token, and a refresh token Salesforce rotated.
pub(super) struct Tokens {
    pub(super) conn: Connection,
    http: reqwest::Client,
    oauth: OAuthClient,
    token: tokio::sync::Mutex<Option<Secret>>,
    /// A refresh token Salesforce rotated (it answered a refresh with a new one): used from then
    /// on, and handed once to whoever stores the connection.
    rotated: Mutex<Option<(Secret, bool)>>,
}

impl Tokens {
    /// The token side of a connection; no request is made yet.
    pub(super) fn new(conn: Connection, http: reqwest::Client) -> Result<Tokens, SalesforceError> {
        let client_id = match &conn.auth {
            Auth::ClientCredentials { client_id, .. }
            | Auth::RefreshToken { client_id, .. }
            | Auth::JwtBearer { client_id, .. } => client_id.clone(),
        };
        let token_url =
            conn.login_url.join("/services/oauth2/token").map_err(|e| SalesforceError::Protocol(e.to_string()))?;
        // Salesforce documents the client credentials as form fields (client_secret_post).
        let mut oauth = BasicClient::new(ClientId::new(client_id))
            .set_auth_type(AuthType::RequestBody)
            .set_token_uri(TokenUrl::from_url(token_url));
        match &conn.auth {
            Auth::ClientCredentials { client_secret, .. } => {
                oauth = oauth.set_client_secret(ClientSecret::new(client_secret.expose().to_owned()));
            }
            Auth::RefreshToken { client_secret: Some(s), .. } => {
                oauth = oauth.set_client_secret(ClientSecret::new(s.expose().to_owned()));
            }
            Auth::RefreshToken { client_secret: None, .. } | Auth::JwtBearer { .. } => {}
        }
        Ok(Tokens { conn, http, oauth, token: tokio::sync::Mutex::new(None), rotated: Mutex::new(None) })
    }

    async fn login(&self) -> Result<Secret, SalesforceError> {
        if let Auth::JwtBearer { client_id, username, private_key } = &self.conn.auth {
            return self.login_jwt(client_id, username, private_key).await;
        }
        let result = match &self.conn.auth {
            Auth::JwtBearer { .. } => unreachable!("handled above"),
            Auth::ClientCredentials { .. } => self.oauth.exchange_client_credentials().request_async(&self.http).await,
            Auth::RefreshToken { refresh_token, .. } => {
                let current = self.rotated.lock().expect("rotated lock").as_ref().map(|(t, _)| t.clone());
                let current = current.unwrap_or_else(|| refresh_token.clone());
                let refresh = RefreshToken::new(current.expose().to_owned());
                self.oauth.exchange_refresh_token(&refresh).request_async(&self.http).await
            }
        };
        match result {
            Ok(token) => {
                if let Some(new) = token.refresh_token() {
                    let new = Secret::new(new.secret().clone());
                    let mut rotated = self.rotated.lock().expect("rotated lock");
                    let same = match (&*rotated, &self.conn.auth) {
                        (Some((t, _)), _) => *t == new,
                        (None, Auth::RefreshToken { refresh_token, .. }) => *refresh_token == new,
                        (None, _) => true,
                    };
                    if !same {
                        *rotated = Some((new, true));
                    }
                }
                Ok(Secret::new(token.access_token().secret().clone()))
            }
            Err(RequestTokenError::ServerResponse(e)) => {
                let detail = e.error_description().cloned().unwrap_or_else(|| e.error().to_string());
                match e.error() {
                    BasicErrorResponseType::InvalidGrant
                    | BasicErrorResponseType::InvalidClient
                    | BasicErrorResponseType::UnauthorizedClient => {
                        Err(SalesforceError::ReconnectNeeded(format!("{}: {detail}", e.error())))
                    }
                    other => Err(SalesforceError::Protocol(format!("token endpoint: {other}: {detail}"))),
                }
            }
            Err(RequestTokenError::Request(e)) => Err(SalesforceError::Network(e.to_string())),
            Err(e) => Err(SalesforceError::Protocol(format!("token endpoint: {e}"))),
        }
    }

    /// The JWT bearer grant (RFC 7523), which the oauth2 crate does not cover: a short-lived
    /// assertion (`exp` 3 minutes) posted to the token endpoint.
    async fn login_jwt(&self, client_id: &str, username: &str, key: &Secret) -> Result<Secret, SalesforceError> {
        #[derive(Serialize)]
        struct Claims<'a> {
            iss: &'a str,
            sub: &'a str,
            aud: &'a str,
            exp: u64,
        }
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
        let aud = self.conn.login_url.as_str().trim_end_matches('/').to_owned();
        let claims = Claims { iss: client_id, sub: username, aud: &aud, exp: now + 180 };
        let key = jsonwebtoken::EncodingKey::from_rsa_pem(key.expose().as_bytes()).map_err(|e| {
            SalesforceError::ReconnectNeeded(format!("the connection's private key is not a valid RSA PEM key: {e}"))
        })?;
        let assertion = jsonwebtoken::encode(&jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256), &claims, &key)
            .map_err(|e| {
                SalesforceError::ReconnectNeeded(format!("the connection's private key cannot sign the assertion: {e}"))
            })?;
        let url =
            self.conn.login_url.join("/services/oauth2/token").map_err(|e| SalesforceError::Protocol(e.to_string()))?;
        let response = self
            .http
            .post(url)
            .form(&[("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"), ("assertion", assertion.as_str())])
            .send()
            .await
            .map_err(|e| SalesforceError::Network(e.to_string()))?;
        let status = response.status();
        let text = super::body::read_bounded(response, 64 << 10).await?;
        let body: serde_json::Value =
            serde_json::from_str(&text).map_err(|e| SalesforceError::Protocol(e.to_string()))?;
        if status.is_success()
            && let Some(token) = body["access_token"].as_str()
        {
            return Ok(Secret::new(token));
        }
        let error = body["error"].as_str().unwrap_or("unknown_error");
        let detail = body["error_description"].as_str().unwrap_or_default();
        match error {
            "invalid_grant" | "invalid_client_id" | "invalid_client" => {
                Err(SalesforceError::ReconnectNeeded(format!("{error}: {detail}")))
            }
            _ => Err(SalesforceError::Protocol(format!("token endpoint: {error}: {detail}"))),
        }
    }

    /// A refresh token Salesforce rotated since the last call, once: the caller must store it,
    /// since the one the connection was built with may no longer work.
    /// Marks a rotated token as still to be stored (storing it failed).
    pub(super) fn rotation_not_stored(&self, token: &Secret) {
        let mut rotated = self.rotated.lock().expect("rotated lock");
        if let Some((current, unsaved)) = rotated.as_mut()
            && current == token
        {
            *unsaved = true;
        }
    }

    pub(super) fn take_rotated_refresh_token(&self) -> Option<Secret> {
        let mut rotated = self.rotated.lock().expect("rotated lock");
        match rotated.as_mut() {
            Some((token, unsaved)) if *unsaved => {
                *unsaved = false;
                Some(token.clone())
            }
            _ => None,
        }
    }

    pub(super) async fn access_token(&self, renew: bool) -> Result<Secret, SalesforceError> {
        let mut token = self.token.lock().await;
        if renew || token.is_none() {
            *token = Some(self.login().await?);
        }
        Ok(token.clone().expect("just set"))
    }
}
