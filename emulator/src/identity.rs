//! Who a token acts as: the identity URL (`/id/{org}/{user}`) and OpenID Connect's `userinfo`,
//! shaped as Salesforce answers them.

use crate::credentials::USERNAME;
use serde_json::{Value, json};

/// The emulated org's id.
pub const ORG_ID: &str = "00DEm0000000001EAA";
/// The integration user's id.
pub const USER_ID: &str = "005Em0000000001AAA";
const DISPLAY_NAME: &str = "Portico Integration";

/// The identity URL of the integration user at `base`.
pub fn url(base: &str) -> String {
    format!("{base}/id/{ORG_ID}/{USER_ID}")
}

/// `GET /id/{org}/{user}` for the integration user.
pub fn identity(base: &str) -> Value {
    json!({
        "id": url(base),
        "asserted_user": true,
        "user_id": USER_ID,
        "organization_id": ORG_ID,
        "username": USERNAME,
        "nick_name": "integration",
        "display_name": DISPLAY_NAME,
        "email": USERNAME,
        "email_verified": true,
        "first_name": "Portico",
        "last_name": "Integration",
        "timezone": "GMT",
        "active": true,
        "user_type": "STANDARD",
        "language": "en_US",
        "locale": "en_US",
        "utcOffset": 0,
        "last_modified_date": "2026-01-01T00:00:00.000+0000",
        "is_app_installed": true,
        "urls": {
            "rest": format!("{base}/services/data/v{{version}}/"),
            "sobjects": format!("{base}/services/data/v{{version}}/sobjects/"),
            "query": format!("{base}/services/data/v{{version}}/query/"),
            "limits": format!("{base}/services/data/v{{version}}/limits/"),
            "profile": format!("{base}/{USER_ID}"),
        },
    })
}

/// `GET /services/oauth2/userinfo` for the integration user (OpenID Connect claims).
pub fn userinfo(base: &str) -> Value {
    json!({
        "sub": url(base),
        "user_id": USER_ID,
        "organization_id": ORG_ID,
        "preferred_username": USERNAME,
        "nickname": "integration",
        "name": DISPLAY_NAME,
        "email": USERNAME,
        "email_verified": true,
        "given_name": "Portico",
        "family_name": "Integration",
        "zoneinfo": "GMT",
        "active": true,
        "user_type": "STANDARD",
        "language": "en_US",
        "locale": "en_US",
        "utcOffset": 0,
        "updated_at": "2026-01-01T00:00:00Z",
        "is_app_installed": true,
    })
}
