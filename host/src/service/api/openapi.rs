//! The API's OpenAPI document (`/openapi.json`).
//!
//! Handlers document their own answers; the errors every operation of a kind can give — the
//! key checks, malformed parameters and JSON bodies — are added here once ([`CommonErrors`]),
//! so no operation's list can miss one and a schema-driven client or fuzzer finds every answer
//! it receives described (`api-fuzz/run` checks exactly that).

use super::{accounts, connection, erasures, ingest, jobs, members, plugins, tenants, webhooks};
use crate::service::ErrorBody;
use utoipa::OpenApi;
use utoipa::openapi::header::Header;
use utoipa::openapi::path::{Operation, PathItem};
use utoipa::openapi::schema::{Object, Type};
use utoipa::openapi::security::SecurityRequirement;
use utoipa::openapi::{Content, Ref, RefOr, Response};

/// The OpenAPI document of the API.
#[derive(OpenApi)]
#[openapi(
    info(title = "Portico", description = "Sandboxed host for tenants' Salesforce mapping plugins: admin API and booking ingestion."),
    paths(
        tenants::create, tenants::list, tenants::get, tenants::create_key, tenants::list_keys, tenants::revoke_key,
        tenants::rotate_secret, tenants::get_config, tenants::put_config, tenants::get_limits, tenants::put_limits,
        tenants::create_child, tenants::children, tenants::put_security_policy, tenants::suspend, tenants::resume,
        accounts::login, accounts::logout, accounts::me, accounts::sessions, accounts::revoke_session,
        accounts::change_password, accounts::begin_totp, accounts::confirm_totp, accounts::remove_totp,
        accounts::accept_invitation, accounts::reset_password, accounts::forgot_password,
        accounts::begin_email_codes, accounts::confirm_email_codes, accounts::remove_email_codes,
        members::invite, members::invitations, members::revoke_invitation, members::members, members::set_role,
        members::remove, members::reset_link, members::roles, members::put_role, members::delete_role,
        members::tenant_log, members::platform_log,
        webhooks::create, webhooks::list, webhooks::remove, webhooks::deliveries, webhooks::replay,
        plugins::upload, plugins::list, plugins::get, plugins::approve, plugins::activate, plugins::rollback,
        plugins::activations,
        connection::put, connection::get, connection::delete, connection::authorize, connection::callback,
        connection::preflight, connection::get_budget, connection::put_budget,
        jobs::list, jobs::get, jobs::replay, jobs::replay_all, jobs::mark_done, jobs::audit, erasures::erase, erasures::list,
        ingest::booking, ingest::calcom, ingest::calendly,
        super::healthz, super::readyz, super::metrics,
    ),
    components(schemas(ErrorBody)),
    modifiers(&BearerAuth, &CommonErrors),
    security(("api_key" = []), ("session" = [])),
)]
pub struct ApiDoc;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "api_key",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("pk_<prefix>_<secret>")
                    .description(Some("A Portico API key"))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(utoipa::openapi::security::ApiKey::Cookie(
                utoipa::openapi::security::ApiKeyValue::with_description(
                    "portico_session",
                    "A session from POST /v1/session; requests that change something also send its CSRF token in `X-CSRF-Token`",
                ),
            )),
        );
    }
}

/// Adds the errors that follow from an operation's shape, where its handler did not already
/// describe them, and gives every error answer the [`ErrorBody`] it has.
///
/// - authenticated (the document's `api_key` or `session`, not `security(())`): 401, 403 and
///   429 (the [`Principal`](crate::service::ops::Principal) extractor and the permission every
///   operation checks); 404 where a tenant is named (another tenant's things are not found;
///   for the unauthenticated ingestion, a path that matches no route);
/// - with parameters or a body: 400 (the [`Path`](super::extract::Path) and
///   [`Query`](super::extract::Query) extractors, or a body that cannot be read);
/// - authenticated, or an `accounts` operation, with a JSON body: 413, 415 and 422 (the [`Json`](super::extract::Json)
///   extractor). Ingestion reads its body as bytes — the signature covers them exactly — and
///   documents its own answers.
struct CommonErrors;

const MALFORMED: &str = "a path or query parameter that does not parse or holds U+0000, or an unreadable body";
const NO_KEY: &str =
    "no API key or session, or a key that is unknown, wrong, revoked or expired, or a session that ended";
const ROLE: &str = "the caller's role lacks the permission this needs (the message names it), two-factor authentication \
     is required first, or a signed-in request that changes something lacks its CSRF token";
const NOT_FOUND: &str = "no such tenant or resource; another tenant's look exactly the same";
const NO_ROUTE: &str = "the path names no endpoint: a tenant id holding `/`, say (an unknown tenant's deliveries \
     answer 401, as a bad signature does)";
const LOCKED_OUT: &str = "too many failed authentications from this address; see `Retry-After`";
const TOO_LARGE: &str = "the body is larger than the service accepts";
const NOT_JSON: &str = "the body is not sent as `Content-Type: application/json`";
const INVALID: &str = "the JSON does not fit the schema (a missing, unknown or mistyped field) or holds U+0000";

impl utoipa::Modify for CommonErrors {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        for (path, item) in openapi.paths.paths.iter_mut() {
            let names_tenant = path.contains("{tenant}");
            for (_, operation) in operations(item) {
                // Without its own `security`, an operation has the document's: the API key.
                let open = SecurityRequirement::default();
                let authenticated = operation.security.as_ref().is_none_or(|any| any.iter().all(|s| *s != open));
                let has_params = operation.parameters.as_ref().is_some_and(|p| !p.is_empty());
                let body = operation.request_body.as_ref();
                let json_body = body.is_some_and(|b| b.content.contains_key("application/json"));
                if has_params || body.is_some() {
                    add(operation, "400", MALFORMED);
                }
                if names_tenant {
                    add(operation, "404", if authenticated { NOT_FOUND } else { NO_ROUTE });
                }
                if authenticated {
                    add(operation, "401", NO_KEY);
                    add(operation, "403", ROLE);
                    add(operation, "429", LOCKED_OUT);
                    if let Some(RefOr::T(locked)) = operation.responses.responses.get_mut("429") {
                        let mut seconds = Header::new(Object::with_type(Type::Integer));
                        seconds.description = Some("Seconds until the address may try again".into());
                        locked.headers.entry("Retry-After".into()).or_insert(seconds);
                    }
                }
                let accounts = operation.tags.as_ref().is_some_and(|t| t.iter().any(|t| t == "accounts"));
                if (authenticated || accounts) && json_body {
                    add(operation, "413", TOO_LARGE);
                    add(operation, "415", NOT_JSON);
                    add(operation, "422", INVALID);
                }
                for (status, response) in operation.responses.responses.iter_mut() {
                    if let RefOr::T(response) = response
                        && status.starts_with(['4', '5'])
                        && response.content.is_empty()
                    {
                        response.content.insert("application/json".into(), error_content());
                    }
                }
            }
        }
    }
}

/// Documents an error answer unless the handler already did.
fn add(operation: &mut Operation, status: &str, description: &str) {
    operation.responses.responses.entry(status.to_owned()).or_insert_with(|| error(description).into());
}

/// An item's operations with their (lowercase) methods.
fn operations(item: &mut PathItem) -> impl Iterator<Item = (&'static str, &mut Operation)> {
    [
        ("get", &mut item.get),
        ("put", &mut item.put),
        ("post", &mut item.post),
        ("delete", &mut item.delete),
        ("options", &mut item.options),
        ("head", &mut item.head),
        ("patch", &mut item.patch),
        ("trace", &mut item.trace),
    ]
    .into_iter()
    .filter_map(|(method, operation)| operation.as_mut().map(|o| (method, o)))
}

fn error_content() -> Content {
    Content::new(Some(Ref::from_schema_name("ErrorBody")))
}

fn error(description: &str) -> Response {
    let mut response = Response::new(description);
    response.content.insert("application/json".into(), error_content());
    response
}

/// `GET /openapi.json`.
pub async fn document() -> axum::Json<utoipa::openapi::OpenApi> {
    axum::Json(ApiDoc::openapi())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn document() -> Value {
        serde_json::to_value(ApiDoc::openapi()).unwrap()
    }

    fn operations(doc: &Value) -> Vec<(String, String, Value)> {
        let mut all = Vec::new();
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, operation) in item.as_object().unwrap() {
                all.push((method.clone(), path.clone(), operation.clone()));
            }
        }
        all
    }

    #[test]
    fn operation_ids_are_unique_and_path_parameters_declared() {
        let doc = document();
        let mut ids = std::collections::BTreeSet::new();
        for (method, path, operation) in operations(&doc) {
            let id = operation["operationId"].as_str().unwrap().to_owned();
            assert!(ids.insert(id.clone()), "{method} {path}: operationId `{id}` is used twice");
            let declared: Vec<&str> = operation["parameters"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|p| p["in"] == "path")
                .map(|p| p["name"].as_str().unwrap())
                .collect();
            for name in path.split('{').skip(1).map(|rest| rest.split('}').next().unwrap()) {
                assert!(declared.contains(&name), "{method} {path}: `{name}` is not declared");
            }
        }
    }

    #[test]
    fn every_key_checked_operation_documents_the_key_errors_and_every_error_its_body() {
        let doc = document();
        let mut checked = 0;
        for (method, path, operation) in operations(&doc) {
            let responses = &operation["responses"];
            let open = operation["security"].as_array().is_some_and(|s| s.iter().any(|r| r == &serde_json::json!({})));
            if !open {
                checked += 1;
                for status in ["401", "429"] {
                    assert!(responses[status].is_object(), "{method} {path} does not document {status}");
                }
                assert!(responses["429"]["headers"]["Retry-After"].is_object(), "{method} {path}");
                if path.contains("{tenant}") {
                    assert!(responses["403"].is_object() && responses["404"].is_object(), "{method} {path}");
                }
            }
            for (status, response) in responses.as_object().unwrap() {
                if status.starts_with(['4', '5']) && !path.starts_with("/readyz") {
                    let schema = &response["content"]["application/json"]["schema"]["$ref"];
                    assert_eq!(schema, "#/components/schemas/ErrorBody", "{method} {path} {status}");
                }
            }
        }
        assert!(checked > 25, "only {checked} operations are key-checked");
        for open in ["/healthz", "/v1/tenants/{tenant}/bookings", "/v1/oauth/callback"] {
            let operation = doc["paths"][open].as_object().unwrap().values().next().unwrap();
            assert_eq!(operation["security"], serde_json::json!([{}]), "{open} needs no API key");
        }
    }

    #[test]
    fn times_are_rfc3339_strings() {
        let doc = document();
        let schemas = &doc["components"]["schemas"];
        for (schema, field) in [
            ("TenantView", "created_at"),
            ("KeyView", "created_at"),
            ("KeyView", "revoked_at"),
            ("ConnectionView", "updated_at"),
            ("ActivationView", "activated_at"),
            ("VersionView", "uploaded_at"),
            ("JobView", "created_at"),
            ("AuditView", "committed_at"),
            ("ErasureView", "erased_at"),
        ] {
            let kind = &properties(schemas, schema)[field]["type"];
            assert!(kind == "string" || kind == &serde_json::json!(["string", "null"]), "{schema}.{field}: {kind}");
        }
    }

    fn properties<'a>(schemas: &'a Value, name: &str) -> &'a Value {
        &schemas[name]["properties"]
    }
}
