//! Which instance and login URLs a connection may use.
//!
//! A tenant supplies the org's URL; unchecked, that would let a tenant point the host at
//! internal addresses (SSRF). Only https URLs on Salesforce's domains are accepted, unless the
//! operator allow-lists a host (the emulator in tests and `portico dev`).

use url::Url;

/// Salesforce's domains: the host must be one of these or a subdomain.
pub const SALESFORCE_DOMAINS: &[&str] =
    &["force.com", "salesforce.com", "siteforce.com", "my.site.com", "cloudforce.com"];

/// Why a URL was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the URL `{url}` is refused: {reason}")]
pub struct UrlRefused {
    /// The URL as given.
    pub url: String,
    /// Why.
    pub reason: String,
}

/// Checks a tenant-supplied org URL. `allow` lists operator-approved `host[:port]` entries that
/// skip the Salesforce-domain and https rules.
pub fn check_org_url(url: &str, allow: &[String]) -> Result<Url, UrlRefused> {
    let refuse = |reason: &str| UrlRefused { url: url.to_owned(), reason: reason.to_owned() };
    let parsed = Url::parse(url).map_err(|e| refuse(&format!("not a URL ({e})")))?;
    let host = parsed.host_str().ok_or_else(|| refuse("it has no host"))?.to_ascii_lowercase();
    let host_port = match parsed.port() {
        Some(p) => format!("{host}:{p}"),
        None => host.clone(),
    };
    if allow.iter().any(|a| a.eq_ignore_ascii_case(&host_port) || a.eq_ignore_ascii_case(&host)) {
        return Ok(parsed);
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(refuse("credentials in the URL are not allowed"));
    }
    if parsed.scheme() != "https" {
        return Err(refuse("only https is allowed"));
    }
    if matches!(parsed.host(), Some(url::Host::Ipv4(_) | url::Host::Ipv6(_))) {
        return Err(refuse("IP addresses are not allowed; use the org's Salesforce domain"));
    }
    if parsed.port().is_some() {
        return Err(refuse("a port is not allowed"));
    }
    let on_salesforce = SALESFORCE_DOMAINS.iter().any(|d| host == *d || host.ends_with(&format!(".{d}")));
    if !on_salesforce {
        return Err(refuse(&format!("`{host}` is not a Salesforce domain ({})", SALESFORCE_DOMAINS.join(", "))));
    }
    Ok(parsed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_salesforce_domains_over_https() {
        for ok in [
            "https://acme.my.salesforce.com",
            "https://login.salesforce.com/",
            "https://acme--dev.sandbox.my.salesforce.com/services",
            "https://acme.my.site.com",
            "https://na1.force.com",
        ] {
            assert!(check_org_url(ok, &[]).is_ok(), "{ok}");
        }
    }

    #[test]
    fn refuses_everything_else_unless_allow_listed() {
        for bad in [
            "http://acme.my.salesforce.com",
            "https://169.254.169.254/latest/meta-data",
            "https://[::1]/",
            "https://localhost",
            "https://salesforce.com.evil.example",
            "https://evilsalesforce.com",
            "https://user:pw@acme.my.salesforce.com",
            "https://acme.my.salesforce.com:8443",
            "not a url",
        ] {
            assert!(check_org_url(bad, &[]).is_err(), "{bad}");
        }
        assert!(check_org_url("http://127.0.0.1:8080", &["127.0.0.1:8080".into()]).is_ok());
        assert!(check_org_url("http://127.0.0.1:9090", &["127.0.0.1:8080".into()]).is_err());
    }
}
