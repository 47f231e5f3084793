//! The SSRF guard: a tenant's endpoint URL must not point the service at its own network.
//!
//! A tenant chooses the URL, so unchecked it could make Portico POST to the metadata service,
//! a database's admin port or anything else only the service's network can reach. An address
//! is refused when it is not public: loopback, private (RFC 1918, `fc00::/7`), link-local,
//! unspecified, multicast, shared (CGNAT `100.64.0.0/10`), documentation and benchmarking
//! ranges, reserved space — and the IPv4-mapped, NAT64 and 6to4 spellings of those — unless the
//! operator's `webhooks.allowed_networks` holds it.
//!
//! The check happens where it cannot be raced: after DNS, on the addresses the connection will
//! use. The client's resolver ([`GuardedResolver`]) drops refused addresses and fails when none
//! is left, so a name that resolves to a public address when the endpoint is registered and to
//! `127.0.0.1` when a delivery is sent (DNS rebinding) is still refused. The HTTP client skips
//! its resolver for a URL whose host is an IP address, so [`Guard::check_url`] checks those
//! before each request. Redirects are not followed and proxies from the environment are
//! ignored: either would connect somewhere the guard never saw.

use super::config::WebhooksConfig;
use ipnet::IpNet;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;
use url::Url;

/// Why an endpoint URL or address is refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    /// Not an absolute http(s) URL with a host, or it carries credentials.
    #[error("the endpoint URL is refused: {0}")]
    Url(String),
    /// `http://` while the operator allows only https.
    #[error("the endpoint URL is refused: only https is allowed")]
    Http,
    /// An address that is not public.
    #[error("{address} is refused ({class}); an operator may allow its network in webhooks.allowed_networks")]
    Address {
        /// The address.
        address: IpAddr,
        /// What kind of address it is.
        class: &'static str,
    },
    /// Every address a name resolved to was refused.
    #[error(
        "every address of `{host}` is refused: {addresses}; an operator may allow its network in webhooks.allowed_networks"
    )]
    Resolved {
        /// The name.
        host: String,
        /// The addresses and their classes, e.g. `127.0.0.1 (loopback)`.
        addresses: String,
    },
    /// The name resolved to nothing.
    #[error("`{0}` resolves to no address")]
    NoAddress(String),
}

/// The policy: which URLs and addresses deliveries may reach. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Guard {
    allow_http: bool,
    allowed: Arc<[IpNet]>,
}

impl Guard {
    /// A guard allowing `allowed` besides public addresses (and `http://` with `allow_http`).
    pub fn new(allow_http: bool, allowed: Vec<IpNet>) -> Guard {
        Guard { allow_http, allowed: allowed.into() }
    }

    /// The guard the settings describe.
    pub fn from_config(config: &WebhooksConfig) -> anyhow::Result<Guard> {
        Ok(Guard::new(config.allow_http, config.networks()?))
    }

    /// `Ok` when deliveries may connect to `address`, else its class.
    pub fn check_address(&self, address: IpAddr) -> Result<(), Refused> {
        let mapped = match address {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4),
            IpAddr::V4(_) => None,
        };
        let allowed = |ip: IpAddr| self.allowed.iter().any(|net| net.contains(&ip));
        if allowed(address) || mapped.is_some_and(allowed) {
            return Ok(());
        }
        match classify(address) {
            Some(class) => Err(Refused::Address { address, class }),
            None => Ok(()),
        }
    }

    /// Checks what can be checked before DNS: an absolute https (or allowed http) URL with a
    /// host and no credentials in it, and — the client does not resolve those — an IP address
    /// host that may be reached.
    pub fn check_url(&self, text: &str) -> Result<Url, Refused> {
        let url = Url::parse(text).map_err(|e| Refused::Url(format!("not a URL ({e})")))?;
        match url.scheme() {
            "https" => {}
            "http" if self.allow_http => {}
            "http" => return Err(Refused::Http),
            other => return Err(Refused::Url(format!("the scheme must be https, not `{other}`"))),
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(Refused::Url(
                "credentials in the URL are not allowed; give them as the endpoint's auth".into(),
            ));
        }
        match url.host() {
            None => return Err(Refused::Url("it has no host".into())),
            Some(url::Host::Ipv4(ip)) => self.check_address(IpAddr::V4(ip))?,
            Some(url::Host::Ipv6(ip)) => self.check_address(IpAddr::V6(ip))?,
            Some(url::Host::Domain(_)) => {}
        }
        Ok(url)
    }

    /// The HTTP client deliveries use: this guard as its resolver, no redirects, no proxies,
    /// `timeout` for a whole attempt.
    pub fn client(&self, timeout: Duration) -> reqwest::Result<reqwest::Client> {
        reqwest::Client::builder()
            .dns_resolver(Arc::new(GuardedResolver { guard: self.clone() }))
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .https_only(!self.allow_http)
            .timeout(timeout)
            .connect_timeout(timeout)
            .user_agent(concat!("Portico-Webhooks/", env!("CARGO_PKG_VERSION")))
            .build()
    }
}

/// Resolves with the system resolver, then keeps only the addresses the guard allows.
#[derive(Debug)]
pub struct GuardedResolver {
    guard: Guard,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let guard = self.guard.clone();
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let resolved: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            if resolved.is_empty() {
                return Err(Box::new(Refused::NoAddress(host)) as Box<dyn std::error::Error + Send + Sync>);
            }
            let (allowed, refused): (Vec<SocketAddr>, Vec<SocketAddr>) =
                resolved.into_iter().partition(|a| guard.check_address(a.ip()).is_ok());
            if allowed.is_empty() {
                let mut addresses: Vec<String> =
                    refused.iter().map(|a| format!("{} ({})", a.ip(), classify(a.ip()).unwrap_or("refused"))).collect();
                addresses.dedup();
                return Err(Box::new(Refused::Resolved { host, addresses: addresses.join(", ") }) as _);
            }
            if !refused.is_empty() {
                tracing::debug!(%host, refused = refused.len(), "webhook: dropped addresses the guard refuses");
            }
            Ok(Box::new(allowed.into_iter()) as Addrs)
        })
    }
}

/// IPv4 ranges that are not public, with their class.
const V4: &[([u8; 4], u8, &str)] = &[
    ([0, 0, 0, 0], 8, "unspecified"),
    ([10, 0, 0, 0], 8, "private"),
    ([100, 64, 0, 0], 10, "shared address space (CGNAT)"),
    ([127, 0, 0, 0], 8, "loopback"),
    ([169, 254, 0, 0], 16, "link-local"),
    ([172, 16, 0, 0], 12, "private"),
    ([192, 0, 0, 0], 24, "IETF protocol assignments"),
    ([192, 0, 2, 0], 24, "documentation"),
    ([192, 88, 99, 0], 24, "6to4 relay anycast"),
    ([192, 168, 0, 0], 16, "private"),
    ([198, 18, 0, 0], 15, "benchmarking"),
    ([198, 51, 100, 0], 24, "documentation"),
    ([203, 0, 113, 0], 24, "documentation"),
    ([224, 0, 0, 0], 4, "multicast"),
    ([240, 0, 0, 0], 4, "reserved"),
];

/// IPv6 ranges that are not public, with their class (the forms embedding an IPv4 address are
/// handled in [`classify`]).
const V6: &[(u128, u8, &str)] = &[
    (0x0064_ff9b_0001 << 80, 48, "local-use NAT64"),
    (0x0100 << 112, 64, "discard-only"),
    (0x2001 << 112, 23, "IETF protocol assignments"),
    (0x2001_0db8 << 96, 32, "documentation"),
    (0x3fff << 112, 20, "documentation"),
    (0xfc00 << 112, 7, "unique local (private)"),
    (0xfe80 << 112, 10, "link-local"),
    (0xfec0 << 112, 10, "site-local"),
    (0xff00 << 112, 8, "multicast"),
];

/// What kind of non-public address `ip` is; `None` for a public one.
pub fn classify(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => classify_v4(v4),
        IpAddr::V6(v6) => classify_v6(v6),
    }
}

fn classify_v4(ip: Ipv4Addr) -> Option<&'static str> {
    let bits = u32::from(ip);
    V4.iter().find(|(net, len, _)| bits >> (32 - len) == u32::from_be_bytes(*net) >> (32 - len)).map(|(_, _, c)| *c)
}

fn classify_v6(ip: Ipv6Addr) -> Option<&'static str> {
    let bits = u128::from(ip);
    let within = |net: u128, len: u8| bits >> (128 - len) == net >> (128 - len);
    let embedded = |v4: u32, form: &'static str| classify_v4(Ipv4Addr::from(v4)).map(|_| form);
    if ip.is_unspecified() {
        return Some("unspecified");
    }
    if ip.is_loopback() {
        return Some("loopback");
    }
    if let Some(v4) = ip.to_ipv4_mapped() {
        return classify_v4(v4);
    }
    if within(0, 96) {
        return Some("IPv4-compatible (deprecated)");
    }
    if within(0x0064_ff9b << 96, 96) {
        return embedded(bits as u32, "NAT64 form of a non-public IPv4 address");
    }
    if within(0x2002 << 112, 16) {
        return embedded((bits >> 80) as u32, "6to4 form of a non-public IPv4 address");
    }
    V6.iter().find(|(net, len, _)| within(*net, *len)).map(|(_, _, c)| *c)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn only_public_addresses_pass() {
        let refused = [
            ("127.0.0.1", "loopback"),
            ("127.255.0.9", "loopback"),
            ("10.2.3.4", "private"),
            ("172.16.0.1", "private"),
            ("172.31.255.255", "private"),
            ("192.168.1.1", "private"),
            ("169.254.169.254", "link-local"),
            ("0.0.0.0", "unspecified"),
            ("100.64.0.1", "shared address space (CGNAT)"),
            ("100.127.255.255", "shared address space (CGNAT)"),
            ("192.0.2.7", "documentation"),
            ("198.51.100.1", "documentation"),
            ("203.0.113.200", "documentation"),
            ("198.18.0.1", "benchmarking"),
            ("198.19.255.1", "benchmarking"),
            ("224.0.0.251", "multicast"),
            ("255.255.255.255", "reserved"),
            ("::", "unspecified"),
            ("::1", "loopback"),
            ("fc00::1", "unique local (private)"),
            ("fd12:3456::1", "unique local (private)"),
            ("fe80::1", "link-local"),
            ("ff02::1", "multicast"),
            ("2001:db8::1", "documentation"),
            ("::ffff:127.0.0.1", "loopback"),
            ("::ffff:10.0.0.1", "private"),
            ("::ffff:169.254.169.254", "link-local"),
            ("::127.0.0.1", "IPv4-compatible (deprecated)"),
            ("64:ff9b::a9fe:a9fe", "NAT64 form of a non-public IPv4 address"),
            ("2002:7f00:1::", "6to4 form of a non-public IPv4 address"),
        ];
        for (address, class) in refused {
            assert_eq!(classify(ip(address)), Some(class), "{address}");
        }
        for public in
            ["8.8.8.8", "1.1.1.1", "172.32.0.1", "100.128.0.1", "2606:4700::1111", "::ffff:8.8.8.8", "64:ff9b::808:808"]
        {
            assert_eq!(classify(ip(public)), None, "{public}");
        }
    }

    #[test]
    fn the_allow_list_admits_its_networks_in_any_spelling() {
        let guard = Guard::new(false, vec!["127.0.0.0/8".parse().unwrap(), "fd00::/8".parse().unwrap()]);
        assert!(guard.check_address(ip("127.0.0.1")).is_ok());
        assert!(guard.check_address(ip("::ffff:127.0.0.1")).is_ok(), "the mapped form of an allowed address");
        assert!(guard.check_address(ip("fd00::5")).is_ok());
        let refused = guard.check_address(ip("10.0.0.1")).unwrap_err();
        assert_eq!(refused, Refused::Address { address: ip("10.0.0.1"), class: "private" });
        assert!(refused.to_string().contains("10.0.0.1 is refused (private)"), "{refused}");
        assert!(Guard::new(false, Vec::new()).check_address(ip("8.8.8.8")).is_ok());
    }

    #[test]
    fn urls_are_checked_before_dns() {
        let guard = Guard::new(false, Vec::new());
        assert!(guard.check_url("https://hooks.example.com/portico").is_ok());
        assert_eq!(guard.check_url("http://hooks.example.com/"), Err(Refused::Http));
        assert!(Guard::new(true, Vec::new()).check_url("http://hooks.example.com/").is_ok());
        for (url, says) in [
            ("ftp://hooks.example.com/", "scheme"),
            ("https://user:pw@hooks.example.com/", "credentials"),
            ("not a url", "not a URL"),
            ("https://127.0.0.1/", "127.0.0.1 is refused (loopback)"),
            ("https://2130706433/", "127.0.0.1 is refused (loopback)"),
            ("https://0x7f.1/", "127.0.0.1 is refused (loopback)"),
            ("https://[::ffff:169.254.169.254]/", "is refused (link-local)"),
            ("https://[fe80::1]/", "is refused (link-local)"),
        ] {
            let refused = guard.check_url(url).unwrap_err().to_string();
            assert!(refused.contains(says), "{url}: {refused}");
        }
    }

    #[tokio::test]
    async fn the_resolver_refuses_names_of_refused_addresses() {
        let resolver = GuardedResolver { guard: Guard::new(false, Vec::new()) };
        let e = resolver.resolve("localhost".parse().unwrap()).await.err().expect("localhost is refused");
        let text = e.to_string();
        assert!(text.contains("every address of `localhost` is refused") && text.contains("(loopback)"), "{text}");
        let allowed = GuardedResolver { guard: Guard::new(false, vec!["127.0.0.0/8".parse().unwrap()]) };
        let addrs: Vec<SocketAddr> = allowed.resolve("localhost".parse().unwrap()).await.unwrap().collect();
        assert!(!addrs.is_empty() && addrs.iter().all(|a| a.ip() == ip("127.0.0.1")), "{addrs:?}");
    }
}
