//! With SMTP set up: invitations and password resets are mailed instead of shown, "forgot my
//! password" mails a link only to accounts that exist (and answers the same either way), and
//! sign-in codes by email work as a second factor. The mail server is a small SMTP receiver on
//! 127.0.0.1 that keeps what it is sent.

use super::{Service, sqlite_service};
use portico_host::service::client::PorticoClient;
use portico_host::service::mail::Security;
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

const PASSWORD: &str = "correct horse battery staple";

/// One received mail: its recipients and its text.
#[derive(Clone, Debug)]
struct Mail {
    to: Vec<String>,
    text: String,
}

/// What the receiver kept, and a signal for each mail that arrives.
#[derive(Default)]
struct Mailbox {
    mails: Mutex<Vec<Mail>>,
    arrived: tokio::sync::Notify,
}

type Inbox = Arc<Mailbox>;

/// An SMTP receiver (no TLS, no auth) that accepts every mail.
async fn smtp_receiver() -> (u16, Inbox) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let inbox = Inbox::default();
    let kept = inbox.clone();
    tokio::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            let inbox = kept.clone();
            tokio::spawn(async move {
                let (read, mut write) = stream.into_split();
                let mut lines = BufReader::new(read).lines();
                write.write_all(b"220 test ESMTP\r\n").await.unwrap();
                let mut to = Vec::new();
                while let Ok(Some(line)) = lines.next_line().await {
                    let upper = line.to_ascii_uppercase();
                    let answer: &[u8] = if upper.starts_with("EHLO") || upper.starts_with("HELO") {
                        b"250-test\r\n250 8BITMIME\r\n"
                    } else if upper.starts_with("RCPT TO:") {
                        to.push(line[8..].trim().trim_matches(['<', '>']).to_owned());
                        b"250 OK\r\n"
                    } else if upper == "DATA" {
                        write.write_all(b"354 go on\r\n").await.unwrap();
                        let mut text = String::new();
                        while let Ok(Some(l)) = lines.next_line().await {
                            if l == "." {
                                break;
                            }
                            text.push_str(&l);
                            text.push('\n');
                        }
                        inbox.mails.lock().unwrap().push(Mail { to: std::mem::take(&mut to), text });
                        inbox.arrived.notify_one();
                        b"250 queued\r\n"
                    } else if upper == "QUIT" {
                        write.write_all(b"221 bye\r\n").await.unwrap();
                        return;
                    } else {
                        b"250 OK\r\n"
                    };
                    write.write_all(answer).await.unwrap();
                }
            });
        }
    });
    (port, inbox)
}

/// Waits for the `n`th mail (1-based) to arrive.
async fn nth_mail(inbox: &Inbox, n: usize) -> Mail {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(mail) = inbox.mails.lock().unwrap().get(n - 1).cloned() {
            return mail;
        }
        // Woken by the next mail (a mail that came meanwhile left a permit behind).
        tokio::time::timeout_at(deadline, inbox.arrived.notified())
            .await
            .unwrap_or_else(|_| panic!("no mail number {n}"));
    }
}

/// The line after `after` in a mail: where letters put their token or code.
fn line_after(mail: &Mail, after: &str) -> String {
    let mut lines = mail.text.lines().skip_while(|l| !l.contains(after)).skip(1).filter(|l| !l.trim().is_empty());
    lines.next().unwrap_or_else(|| panic!("no line after `{after}` in {}", mail.text)).trim().to_owned()
}

async fn mailing_service() -> (Service, Inbox) {
    let (port, inbox) = smtp_receiver().await;
    let service = sqlite_service(|c| {
        c.smtp.host = Some("127.0.0.1".into());
        c.smtp.port = Some(port);
        c.smtp.security = Security::None;
        c.smtp.from = "Portico <portico@example.com>".into();
    })
    .await;
    (service, inbox)
}

#[tokio::test]
async fn invitations_resets_and_sign_in_codes_go_by_mail() {
    let (service, inbox) = mailing_service().await;
    let anon = PorticoClient::new(&service.url, None);
    let (_, owner_key) = service.admin.create_tenant("acme", "Acme").await.unwrap();
    let owner = service.admin.with_key(&owner_key);

    // The invitation is mailed, not shown.
    let invited = owner
        .post("/v1/tenants/acme/invitations", &json!({"email": "ada@acme.example", "role": "viewer"}))
        .await
        .unwrap()
        .ok()
        .unwrap();
    assert_eq!((&invited["emailed"], &invited["token"]), (&json!(true), &Value::Null), "{invited}");
    let mail = nth_mail(&inbox, 1).await;
    assert_eq!(mail.to, ["ada@acme.example"]);
    let token = line_after(&mail, "with this code:");
    let accepted = anon.post("/v1/invitations/accept", &json!({"token": token, "password": PASSWORD})).await.unwrap();
    assert_eq!(accepted.status, 200, "{}", accepted.body);

    // "Forgot my password": mail only for an account that exists; the same answer either way.
    for email in ["ada@acme.example", "nobody@acme.example"] {
        assert_eq!(anon.post("/v1/password/forgot", &json!({"email": email})).await.unwrap().status, 202);
    }
    let mail = nth_mail(&inbox, 2).await;
    assert_eq!(mail.to, ["ada@acme.example"]);
    let reset = line_after(&mail, "with this code:");
    let body = json!({"token": reset, "password": "a brand new passphrase"});
    assert_eq!(anon.post("/v1/password/reset", &body).await.unwrap().status, 204);
    let creds = json!({"email": "ada@acme.example", "password": "a brand new passphrase"});
    let ada = anon.sign_in(&creds).await.unwrap().expect("the new password");

    // Sign-in codes by email: enrol with a mailed code; sign-in then mails one and needs it.
    assert_eq!(ada.post("/v1/me/email-2fa", &json!({})).await.unwrap().status, 202);
    let code = line_after(&nth_mail(&inbox, 3).await, "sign-in code:");
    let wrong = ada.post("/v1/me/email-2fa/confirm", &json!({"code": "000000"})).await.unwrap();
    assert!(wrong.status == 422 || code == "000000", "{}", wrong.body);
    assert_eq!(ada.post("/v1/me/email-2fa/confirm", &json!({"code": code})).await.unwrap().status, 204);
    let refused = anon.sign_in(&creds).await.unwrap().unwrap_err();
    assert_eq!((refused.status.as_u16(), refused.body["code"].as_str()), (401, Some("two-factor-required")));
    let code = line_after(&nth_mail(&inbox, 4).await, "sign-in code:");
    let with_code = json!({"email": "ada@acme.example", "password": "a brand new passphrase", "email_code": code});
    let signed = anon.sign_in(&with_code).await.unwrap().expect("the mailed code");
    assert!(anon.sign_in(&with_code).await.unwrap().is_err(), "a code is good once");
    let me = signed.get("/v1/me").await.unwrap().ok().unwrap();
    assert_eq!(me["email_codes"], true);
    assert_eq!(inbox.mails.lock().unwrap().len(), 4, "nothing was mailed to the unknown account");
    service.running.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_mail_server_that_refuses_leaves_no_usable_invitation() {
    // Nothing listens on the port: sending fails, the invitation is withdrawn, the admin told.
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap().local_addr().unwrap().port();
    let service = sqlite_service(|c| {
        c.smtp.host = Some("127.0.0.1".into());
        c.smtp.port = Some(closed);
        c.smtp.security = Security::None;
        c.smtp.from = "portico@example.com".into();
    })
    .await;
    let (_, owner_key) = service.admin.create_tenant("acme", "Acme").await.unwrap();
    let owner = service.admin.with_key(&owner_key);
    let answer = owner
        .post("/v1/tenants/acme/invitations", &json!({"email": "ada@acme.example", "role": "viewer"}))
        .await
        .unwrap();
    assert_eq!((answer.status.as_u16(), answer.body["code"].as_str()), (502, Some("mail-failed")), "{}", answer.body);
    let listed = owner.get("/v1/tenants/acme/invitations").await.unwrap().ok().unwrap();
    assert_eq!(listed[0]["state"], "withdrawn", "{listed}");
    service.running.shutdown().await.unwrap();
}
