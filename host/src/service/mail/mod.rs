//! Mail: invitations, password resets and sign-in codes go out by SMTP when the operator
//! configures a server (`[smtp]`); without one, links are shown once to the admin who made
//! them, as self-hosted tools do. Sent with `lettre` over STARTTLS or implicit TLS (rustls);
//! unencrypted only to a relay on the same host.

pub mod letters;

use lettre::message::Mailbox;
use lettre::message::header::ContentType;
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use serde::Deserialize;

/// How the connection to the SMTP server is protected.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Security {
    /// Plain connection upgraded with STARTTLS (port 587); refused if the server cannot.
    #[default]
    Starttls,
    /// TLS from the first byte (port 465).
    Tls,
    /// No encryption: only to a relay on this host (`localhost`, `127.0.0.1`, `::1`).
    None,
}

/// `[smtp]`: where mail goes. Without `host`, nothing is mailed.
#[derive(Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SmtpConfig {
    /// The server's host name.
    pub host: Option<String>,
    /// Its port (default 587 for STARTTLS, 465 for TLS, 25 unencrypted).
    pub port: Option<u16>,
    /// `starttls`, `tls` or `none`.
    pub security: Security,
    /// The user to authenticate as, if the server wants one.
    pub username: Option<String>,
    /// Its password (or `PORTICO_SMTP_PASSWORD`).
    pub password: Option<String>,
    /// The sender: `Portico <portico@example.com>`.
    pub from: String,
}

impl std::fmt::Debug for SmtpConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpConfig")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("security", &self.security)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("from", &self.from)
            .finish()
    }
}

/// Why a mail was not sent.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    /// The address cannot be written in a mail header.
    #[error("`{0}` is not a deliverable address")]
    Address(String),
    /// The message could not be built.
    #[error("building the message: {0}")]
    Build(#[from] lettre::error::Error),
    /// The server refused or could not be reached.
    #[error("the mail server: {0}")]
    Smtp(#[from] lettre::transport::smtp::Error),
}

/// Sends mail through the configured server.
#[derive(Clone)]
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mailer").field("from", &self.from.to_string()).finish_non_exhaustive()
    }
}

impl Mailer {
    /// The mailer the settings describe, or `None` when no server is configured.
    pub fn from_config(config: &SmtpConfig) -> anyhow::Result<Option<Mailer>> {
        let Some(host) = config.host.as_deref().map(str::trim).filter(|h| !h.is_empty()) else { return Ok(None) };
        let from: Mailbox =
            config.from.parse().map_err(|e| anyhow::anyhow!("smtp.from `{}` is not a mailbox: {e}", config.from))?;
        let builder = match config.security {
            Security::Starttls => {
                AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(host)?.port(config.port.unwrap_or(587))
            }
            Security::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(host)?.port(config.port.unwrap_or(465)),
            Security::None => {
                if !matches!(host, "localhost" | "127.0.0.1" | "::1") {
                    anyhow::bail!("smtp.security = \"none\" is only for a relay on this host, not `{host}`");
                }
                AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host).port(config.port.unwrap_or(25))
            }
        };
        let password = std::env::var("PORTICO_SMTP_PASSWORD").ok().or_else(|| config.password.clone());
        let builder = match (&config.username, password) {
            (Some(user), Some(password)) => builder.credentials(Credentials::new(user.clone(), password)),
            (Some(_), None) => {
                anyhow::bail!("smtp.username is set without a password (smtp.password or PORTICO_SMTP_PASSWORD)")
            }
            _ => builder,
        };
        let transport = builder.timeout(Some(std::time::Duration::from_secs(20))).build();
        Ok(Some(Mailer { transport, from }))
    }

    /// Sends a plain-text mail to `to`.
    pub async fn send(&self, to: &str, subject: &str, text: String) -> Result<(), MailError> {
        let to: Mailbox = to.parse().map_err(|_| MailError::Address(to.to_owned()))?;
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(subject)
            .header(ContentType::TEXT_PLAIN)
            .body(text)?;
        self.transport.send(message).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_host_no_mail_and_plain_text_only_locally() {
        assert!(Mailer::from_config(&SmtpConfig::default()).unwrap().is_none());
        let remote = SmtpConfig {
            host: Some("mail.example.com".into()),
            security: Security::None,
            from: "Portico <portico@example.com>".into(),
            ..SmtpConfig::default()
        };
        assert!(Mailer::from_config(&remote).unwrap_err().to_string().contains("only for a relay on this host"));
        let local = SmtpConfig { host: Some("127.0.0.1".into()), ..remote.clone() };
        assert!(Mailer::from_config(&local).unwrap().is_some());
        let bad_from = SmtpConfig { from: "not a mailbox".into(), ..local };
        assert!(Mailer::from_config(&bad_from).is_err());
        assert!(
            format!("{:?}", SmtpConfig { password: Some("hunter2".into()), ..SmtpConfig::default() })
                .contains("<redacted>")
        );
    }
}
