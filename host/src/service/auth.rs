//! Authenticating requests: API keys and session cookies (with CSRF), the client's address,
//! and the throttle on failed authentication. What a principal may do is decided by the
//! application layer (`service::ops`).

use super::error::{ApiError, ApiResult};
use super::ops::{Principal, principal_load, sessions};
use super::{AppState, now_ms};
use crate::store::{LockoutPolicy, Store};
use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderValue, header};
use std::net::{IpAddr, SocketAddr};
use subtle::ConstantTimeEq;

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "portico_session";
/// The header a cookie-authenticated state-changing request echoes its session's CSRF token in.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// The client's address as failures are counted (see [`client_address`]).
pub fn request_address(parts: &Parts, state: &AppState) -> IpAddr {
    let peer =
        parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip()).unwrap_or(IpAddr::from([0, 0, 0, 0]));
    client_address(peer, &parts.headers, &state.inner.config.auth.trusted_proxies)
}

/// The session token a request's cookie carries, if any.
pub fn session_token(headers: &axum::http::HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(cookie::Cookie::split_parse)
        .filter_map(Result::ok)
        .find(|c| c.name() == SESSION_COOKIE)
        .map(|c| c.value().to_owned())
}

/// Where an unauthenticated request comes from.
#[derive(Debug)]
pub struct Client {
    /// The client's address (see `auth::client_address`).
    pub address: IpAddr,
    /// Its `User-Agent`.
    pub user_agent: String,
}

impl FromRequestParts<AppState> for Client {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Client, ApiError> {
        let user_agent = parts.headers.get(header::USER_AGENT).and_then(|v| v.to_str().ok()).unwrap_or_default();
        Ok(Client { address: request_address(parts, state), user_agent: user_agent.to_owned() })
    }
}

/// The session cookie (`HttpOnly`, `SameSite=Lax`, `Secure` over https); empty with age 0 clears it.
pub fn session_cookie(state: &AppState, value: &str, max_age_s: i64) -> HeaderValue {
    let c = cookie::Cookie::build((SESSION_COOKIE, value.to_owned()))
        .path("/")
        .http_only(true)
        .same_site(cookie::SameSite::Lax)
        .secure(state.inner.config.secure_cookies())
        .max_age(cookie::time::Duration::seconds(max_age_s))
        .build();
    HeaderValue::from_str(&c.to_string()).unwrap_or_else(|_| HeaderValue::from_static("portico_session=; Max-Age=0"))
}

/// Authenticates a request: an API key (`Authorization: Bearer pk_…`) or a session cookie. A
/// cookie-authenticated request that changes state must echo the session's CSRF token in
/// `X-CSRF-Token` — a cross-site form cannot read it, so it cannot forge the request.
impl FromRequestParts<AppState> for Principal {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Principal, ApiError> {
        let client = request_address(parts, state);
        let (throttle, store) = (&state.inner.throttle, &state.inner.store);
        throttle.check(store, client).await?;
        let bearer = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim);
        if let Some(presented) = bearer {
            return match principal_load::by_key(state, presented, client).await? {
                Some(principal) => Ok(principal),
                None => {
                    tracing::warn!(%client, "API authentication failed");
                    throttle.failure(store, client).await?;
                    Err(ApiError::unauthorized(
                        "bad-key",
                        "the API key is not valid (unknown, wrong, revoked or expired)",
                    ))
                }
            };
        }
        let Some(token) = session_token(&parts.headers) else {
            return Err(ApiError::unauthorized(
                "unauthenticated",
                "sign in (POST /v1/session) or send an API key as `Authorization: Bearer pk_…`",
            ));
        };
        let Some((principal, session)) = sessions::by_cookie(state, &token, client).await? else {
            return Err(ApiError::unauthorized("session-ended", "the session ended or expired; sign in again"));
        };
        if !csrf_echoed(parts, &session) {
            return Err(ApiError::forbidden_code(
                "csrf",
                "a signed-in request that changes something must send the session's CSRF token in `X-CSRF-Token`",
            ));
        }
        Ok(principal)
    }
}

/// Whether a cookie-authenticated request may proceed: it only reads, or it echoes its
/// session's CSRF token in `X-CSRF-Token` (compared in constant time).
pub fn csrf_echoed(parts: &Parts, session: &crate::store::SessionRow) -> bool {
    if parts.method.is_safe() {
        return true;
    }
    let echoed = parts.headers.get(CSRF_HEADER).map(|v| v.as_bytes()).unwrap_or_default();
    echoed.ct_eq(session.csrf_token.as_bytes()).into()
}

/// The address failures are counted against: the peer, or — when the peer is one of the
/// operator's trusted proxies — the nearest address in `X-Forwarded-For` that is not one of
/// them (entries further left are the client's own claims and could be forged). Hops are read
/// right to left from the header's raw bytes, each an address or `address:port`, so bytes that
/// are not text somewhere in the header (a client's own junk, left of its address) no longer
/// make the whole header unreadable; a hop that is not an address ends the walk at the proxy
/// that forwarded it. IPv4-mapped IPv6 addresses count as the IPv4 address they carry.
pub fn client_address(peer: IpAddr, headers: &axum::http::HeaderMap, trusted: &[IpAddr]) -> IpAddr {
    let peer = peer.to_canonical();
    let trusted = |a: &IpAddr| trusted.iter().any(|t| t.to_canonical() == *a);
    if !trusted(&peer) {
        return peer;
    }
    let mut nearest = peer;
    let values: Vec<&[u8]> = headers.get_all("x-forwarded-for").iter().map(|v| v.as_bytes()).collect();
    let hops = values.iter().rev().flat_map(|v| v.rsplit(|b| *b == b','));
    for hop in hops.filter_map(|h| std::str::from_utf8(h).ok()).map(str::trim).filter(|h| !h.is_empty()) {
        // Hops right of the client's address were written by trusted proxies; one that is not
        // an address (`unknown`) ends the walk at the proxy that forwarded it. Skipping it would
        // reach entries the client wrote itself and let it choose its address.
        let Some(address) = hop_address(hop) else { return nearest };
        nearest = address.to_canonical();
        if !trusted(&nearest) {
            return nearest;
        }
    }
    nearest
}

/// One `X-Forwarded-For` entry: `203.0.113.7`, `203.0.113.7:4711`, `2001:db8::1`,
/// `[2001:db8::1]` or `[2001:db8::1]:4711`.
fn hop_address(hop: &str) -> Option<IpAddr> {
    let bare = hop.strip_prefix('[').and_then(|h| h.strip_suffix(']')).unwrap_or(hop);
    bare.parse::<IpAddr>().ok().or_else(|| hop.parse::<std::net::SocketAddr>().ok().map(|s| s.ip()))
}

/// Failed authentications per client address, counted in the database so every replica sees
/// the same count and the same lockout: too many in a window lock the address out. A correct
/// key neither lifts a lockout nor resets the count (failures age out with their window), so
/// guessing between successes gains nothing.
#[derive(Debug)]
pub struct Throttle {
    policy: LockoutPolicy,
}

impl Throttle {
    /// A throttle from the auth settings.
    pub fn new(config: &super::config::AuthConfig) -> Throttle {
        Throttle {
            policy: LockoutPolicy {
                max_failures: i64::from(config.max_failures.max(1)),
                window_ms: config.window_seconds.max(1) as i64 * 1000,
                lockout_ms: config.lockout_seconds as i64 * 1000,
            },
        }
    }

    /// The lockout window's length, for purging old counts.
    pub fn window_ms(&self) -> i64 {
        self.policy.window_ms
    }

    async fn check(&self, store: &Store, client: IpAddr) -> ApiResult<()> {
        let now = now_ms();
        if let Some(until) = store.locked_until(&lockout_key(client), now).await? {
            return Err(locked_out(until, now));
        }
        Ok(())
    }

    /// Counts a failure; the request that failed still answers `401`, the next ones `429`.
    async fn failure(&self, store: &Store, client: IpAddr) -> ApiResult<()> {
        let (failures, locked) = store.count_auth_failure(&lockout_key(client), self.policy, now_ms()).await?;
        if locked.is_some() {
            tracing::warn!(%client, failures, "client locked out after repeated failed authentication");
        }
        Ok(())
    }
}

/// What failures are counted against: an IPv4 address, or an IPv6 address's /64 — one host
/// usually holds a whole /64, and counting each address would give it endless tries.
fn lockout_key(client: IpAddr) -> String {
    match client.to_canonical() {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
    }
}

fn locked_out(until_ms: i64, now_ms: i64) -> ApiError {
    let mut e = ApiError::new(
        axum::http::StatusCode::TOO_MANY_REQUESTS,
        "locked-out",
        "too many failed authentications from this address; try again later",
    );
    e.retry_after = Some(((until_ms - now_ms) / 1000).max(1) as u64);
    e
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_failures_count_per_64() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:bbbb::9".parse().unwrap();
        assert_eq!(lockout_key(a), lockout_key(b));
        assert_ne!(lockout_key(a), lockout_key("2001:db8:1:3::1".parse().unwrap()));
        assert_eq!(lockout_key("::ffff:203.0.113.9".parse().unwrap()), "203.0.113.9");
    }

    #[test]
    fn behind_a_trusted_proxy_the_forwarded_client_counts() {
        let proxy = IpAddr::from([10, 0, 0, 2]);
        let mut headers = axum::http::HeaderMap::new();
        headers.insert("x-forwarded-for", "1.1.1.1, 203.0.113.7, 10.0.0.2".parse().unwrap());
        assert_eq!(
            client_address(proxy, &headers, &[proxy]),
            IpAddr::from([203, 0, 113, 7]),
            "rightmost untrusted hop"
        );
        assert_eq!(client_address(proxy, &headers, &[]), proxy, "an untrusted peer's header is ignored");
        let stranger = IpAddr::from([198, 51, 100, 1]);
        assert_eq!(client_address(stranger, &headers, &[proxy]), stranger, "only proxies may forward");
        assert_eq!(client_address(proxy, &axum::http::HeaderMap::new(), &[proxy]), proxy);

        let forwarded = |value: &str| {
            let mut headers = axum::http::HeaderMap::new();
            headers.insert("x-forwarded-for", value.parse().unwrap());
            client_address(proxy, &headers, &[proxy])
        };
        assert_eq!(forwarded("203.0.113.7:4711"), IpAddr::from([203, 0, 113, 7]), "a hop with its port");
        assert_eq!(forwarded("[2001:db8::1]:4711"), "2001:db8::1".parse::<IpAddr>().unwrap());
        assert_eq!(forwarded("[2001:db8::1]"), "2001:db8::1".parse::<IpAddr>().unwrap());
        assert_eq!(forwarded("203.0.113.7, ,"), IpAddr::from([203, 0, 113, 7]), "empty entries are skipped");
        assert_eq!(
            forwarded("203.0.113.7, unknown"),
            proxy,
            "a proxy's unreadable hop ends the walk there: the client must not pick its address"
        );
        assert_eq!(forwarded("unknown, 203.0.113.7"), IpAddr::from([203, 0, 113, 7]), "client junk is never reached");
        assert_eq!(forwarded("1.1.1.1, 10.0.0.2, 10.0.0.2"), IpAddr::from([1, 1, 1, 1]), "through a chain of proxies");
        assert_eq!(forwarded("::ffff:203.0.113.9"), IpAddr::from([203, 0, 113, 9]), "IPv4-mapped IPv6 is IPv4");
        let mut raw = axum::http::HeaderMap::new();
        raw.insert("x-forwarded-for", axum::http::HeaderValue::from_bytes(b"caf\xe9, 203.0.113.7").unwrap());
        assert_eq!(client_address(proxy, &raw, &[proxy]), IpAddr::from([203, 0, 113, 7]), "a client's non-UTF-8 junk");
        let mapped_proxy: IpAddr = "::ffff:10.0.0.2".parse().unwrap();
        assert_eq!(client_address(mapped_proxy, &headers, &[proxy]), IpAddr::from([203, 0, 113, 7]));
    }
}
