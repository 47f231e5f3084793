//! OAuth 2.0 as Salesforce's token endpoint speaks it: client credentials, web-server flow
//! (authorization code with PKCE) and refresh tokens; revocation; forced session expiry.
//! The JWT bearer grant verifies an RS256 assertion with the test consumer's public key
//! (`keys/`), as a connected app with an uploaded certificate does.

use crate::credentials::{CLIENT_ID, CLIENT_SECRET, USERNAME};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

/// The public key of the emulator's connected app (its "uploaded certificate").
pub const TEST_CONSUMER_PUBLIC_KEY: &str = include_str!("../keys/test-consumer.pub.pem");

/// The matching private key, for tests and `portico dev` to sign JWT bearer assertions.
/// A test key: it protects nothing.
pub const TEST_CONSUMER_PRIVATE_KEY: &str = include_str!("../keys/test-consumer.key.pem");

/// How long an access token lives unless expired by force.
pub const SESSION_LIFETIME: Duration = Duration::from_secs(2 * 3600);

/// Issued tokens.
#[derive(Debug, Default)]
pub struct Tokens {
    access: HashMap<String, Instant>,
    refresh: HashSet<String>,
    codes: HashMap<String, (String, String)>,
    serial: u64,
    /// Answer each refresh with a new refresh token and revoke the one used, as an org with
    /// refresh token rotation does.
    pub rotate_refresh_tokens: bool,
}

/// An OAuth error: status and `{"error", "error_description"}`.
#[derive(Debug, Clone, PartialEq)]
pub struct OAuthError(pub u16, pub Value);

fn oauth_error(status: u16, error: &str, description: &str) -> OAuthError {
    OAuthError(status, json!({ "error": error, "error_description": description }))
}

impl Tokens {
    fn mint(&mut self, kind: &str) -> String {
        self.serial += 1;
        let digest = Sha256::new().chain_update(kind).chain_update(self.serial.to_le_bytes()).finalize();
        format!("00DEm0000000001!{}", URL_SAFE_NO_PAD.encode(&digest[..24]))
    }

    /// Whether an access token is valid now.
    pub fn valid(&self, token: &str) -> bool {
        self.access.get(token).is_some_and(|exp| Instant::now() < *exp)
    }

    /// Whether `token` is a refresh token that still works.
    pub fn refresh_token_valid(&self, token: &str) -> bool {
        self.refresh.contains(token)
    }

    /// Expires every access token.
    pub fn expire_all(&mut self) {
        for exp in self.access.values_mut() {
            *exp = Instant::now();
        }
    }

    /// Issues an access token directly (for tests that skip OAuth).
    pub fn issue(&mut self) -> String {
        let token = self.mint("access");
        self.access.insert(token.clone(), Instant::now() + SESSION_LIFETIME);
        token
    }

    fn response(&mut self, base: &str, with_refresh: bool) -> Value {
        let access = self.issue();
        let mut body = json!({
            "access_token": access,
            "instance_url": base,
            "id": crate::identity::url(base),
            "token_type": "Bearer",
            "issued_at": "1767225600000",
            "signature": URL_SAFE_NO_PAD.encode(Sha256::digest(access.as_bytes())),
            "scope": "api refresh_token",
        });
        if with_refresh {
            let refresh = self.mint("refresh");
            self.refresh.insert(refresh.clone());
            body["refresh_token"] = Value::String(refresh);
        }
        body
    }

    /// `POST /services/oauth2/token`.
    pub fn token(&mut self, form: &HashMap<String, String>, base: &str) -> Result<Value, OAuthError> {
        let get = |k: &str| form.get(k).map(String::as_str).unwrap_or_default();
        let client_ok = get("client_id") == CLIENT_ID;
        match get("grant_type") {
            "client_credentials" => {
                if !client_ok || get("client_secret") != CLIENT_SECRET {
                    return Err(oauth_error(400, "invalid_client", "invalid client credentials"));
                }
                Ok(self.response(base, false))
            }
            "authorization_code" => {
                if !client_ok {
                    return Err(oauth_error(400, "invalid_client", "invalid client credentials"));
                }
                let Some((challenge, redirect)) = self.codes.remove(get("code")) else {
                    return Err(oauth_error(400, "invalid_grant", "invalid authorization code"));
                };
                if redirect != get("redirect_uri") {
                    return Err(oauth_error(400, "invalid_grant", "redirect_uri must match configuration"));
                }
                let verifier = URL_SAFE_NO_PAD.encode(Sha256::digest(get("code_verifier").as_bytes()));
                if verifier != challenge {
                    return Err(oauth_error(400, "invalid_grant", "invalid code verifier"));
                }
                Ok(self.response(base, true))
            }
            "refresh_token" => {
                if !client_ok {
                    return Err(oauth_error(400, "invalid_client", "invalid client credentials"));
                }
                if !self.refresh.contains(get("refresh_token")) {
                    return Err(oauth_error(400, "invalid_grant", "expired access/refresh token"));
                }
                if self.rotate_refresh_tokens {
                    self.refresh.remove(get("refresh_token"));
                }
                Ok(self.response(base, self.rotate_refresh_tokens))
            }
            "urn:ietf:params:oauth:grant-type:jwt-bearer" => {
                self.verify_assertion(get("assertion"), base)?;
                Ok(self.response(base, false))
            }
            other => Err(oauth_error(400, "unsupported_grant_type", &format!("grant type not supported: {other}"))),
        }
    }

    /// Checks a JWT bearer assertion: RS256 by the test consumer's key, `iss` the consumer key,
    /// `sub` the integration user, `aud` a login host, not expired.
    #[cfg(feature = "server")]
    fn verify_assertion(&self, assertion: &str, base: &str) -> Result<(), OAuthError> {
        use jsonwebtoken::{Algorithm, DecodingKey, Validation, decode};
        #[derive(serde::Deserialize)]
        struct Claims {
            sub: String,
        }
        let key = DecodingKey::from_rsa_pem(TEST_CONSUMER_PUBLIC_KEY.as_bytes()).expect("the test public key parses");
        let mut validation = Validation::new(Algorithm::RS256);
        validation.set_audience(&[base, "https://login.salesforce.com", "https://test.salesforce.com"]);
        validation.set_issuer(&[CLIENT_ID]);
        validation.set_required_spec_claims(&["exp", "iss", "sub", "aud"]);
        let claims = decode::<Claims>(assertion, &key, &validation).map_err(|e| {
            use jsonwebtoken::errors::ErrorKind as K;
            match e.kind() {
                K::InvalidIssuer => oauth_error(400, "invalid_client_id", "client identifier invalid"),
                K::InvalidAudience => oauth_error(400, "invalid_grant", "audience is invalid"),
                K::ExpiredSignature => oauth_error(400, "invalid_grant", "expired authorization code"),
                _ => oauth_error(400, "invalid_grant", "invalid assertion"),
            }
        })?;
        if claims.claims.sub != USERNAME {
            return Err(oauth_error(400, "invalid_grant", "user hasn't approved this consumer"));
        }
        Ok(())
    }

    /// Without the `server` feature there is no JWT library: every assertion is refused.
    #[cfg(not(feature = "server"))]
    fn verify_assertion(&self, _assertion: &str, _base: &str) -> Result<(), OAuthError> {
        Err(oauth_error(400, "invalid_grant", "JWT bearer needs the emulator's `server` feature"))
    }

    /// `GET /services/oauth2/authorize`: approves at once (the integration user consents) and
    /// returns the redirect location with the code.
    pub fn authorize(&mut self, query: &HashMap<String, String>) -> Result<String, OAuthError> {
        let get = |k: &str| query.get(k).map(String::as_str).unwrap_or_default();
        if get("client_id") != CLIENT_ID {
            return Err(oauth_error(400, "invalid_client_id", "client identifier invalid"));
        }
        if get("response_type") != "code" {
            return Err(oauth_error(400, "unsupported_response_type", "response type not supported"));
        }
        if get("code_challenge").is_empty() || get("code_challenge_method") != "S256" {
            return Err(oauth_error(400, "invalid_request", "PKCE with S256 is required"));
        }
        let code = self.mint("code");
        self.codes.insert(code.clone(), (get("code_challenge").to_owned(), get("redirect_uri").to_owned()));
        let sep = if get("redirect_uri").contains('?') { '&' } else { '?' };
        let code_q = percent_encoding::utf8_percent_encode(&code, percent_encoding::NON_ALPHANUMERIC);
        let state_q = percent_encoding::utf8_percent_encode(get("state"), percent_encoding::NON_ALPHANUMERIC);
        Ok(format!("{}{sep}code={code_q}&state={state_q}", get("redirect_uri")))
    }

    /// `POST /services/oauth2/revoke`: revokes an access or refresh token.
    pub fn revoke(&mut self, token: &str) -> bool {
        self.access.remove(token).is_some() | self.refresh.remove(token)
    }
}

/// The user the tokens act as.
pub fn username() -> &'static str {
    USERNAME
}
