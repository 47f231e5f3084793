//! The console's public forms over plain HTTP: a sign-in posted from another site is refused,
//! and the page it goes on to is always on this site.

use crate::service::sqlite_service;
use portico_host::service::ops::{self, Principal};

#[tokio::test]
async fn sign_in_refuses_other_sites_and_never_redirects_off_site() {
    let service = sqlite_service(|_| {}).await;
    let operator = Principal::operator();
    ops::accounts::create_user(service.state(), &operator, "ada@example.com", "correct horse battery staple", false)
        .await
        .unwrap();
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let sign_in = |origin: Option<&str>, next: &str| {
        let mut request = http
            .post(format!("{}/sign-in", service.url))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(
                url::form_urlencoded::Serializer::new(String::new())
                    .append_pair("email", "ada@example.com")
                    .append_pair("password", "correct horse battery staple")
                    .append_pair("next", next)
                    .finish(),
            );
        if let Some(o) = origin {
            request = request.header("origin", o);
        }
        request.send()
    };
    let refused = sign_in(Some("https://evil.example"), "/").await.unwrap();
    assert_eq!(refused.status(), 403);
    assert!(refused.headers().get("set-cookie").is_none(), "no session for a cross-site form");
    for next in ["/\t/evil.example", "//evil.example", "/\\evil.example", "https://evil.example"] {
        let answer = sign_in(Some(&service.url), next).await.unwrap();
        assert_eq!(answer.status(), 303, "{next:?}");
        assert_eq!(answer.headers()["location"], "/", "{next:?}");
        assert_eq!(answer.headers()["cache-control"], "no-store");
    }
    let answer = sign_in(None, "/account").await.unwrap();
    assert_eq!(answer.headers()["location"], "/account");
}
