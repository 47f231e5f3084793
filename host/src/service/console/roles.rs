//! The team page's roles: the built-in ones, the tenant's own with their permission toggles, and
//! defining, editing or deleting one (`roles:manage`).

use super::layout::{self, req};
use super::{Viewer, fragment};
use crate::service::AppState;
use crate::service::ops::{self, BuiltinRole, Permission, Permissions};
use crate::store::RoleRow;
use axum::extract::{Path, State};
use axum::response::Response;
use maud::{Markup, html};

/// The roles section: every role with its permissions; for those who may manage roles, a form
/// per custom role and one to define a new role.
pub fn section(tenant: &str, roles: &[RoleRow], may: Permissions) -> Markup {
    let manage = may.has(Permission::RolesManage);
    html! {
        section.card #roles {
            h2 { "Roles" }
            div.table-wrap tabindex="0" { table {
                thead { tr { th { "Role" } th { "Permissions" } @if manage { th { span.visually-hidden { "Actions" } } } } }
                tbody {
                    @for r in BuiltinRole::ALL.iter().filter(|r| **r != BuiltinRole::PlatformAdmin) {
                        tr { td { (r.as_str()) " " span.muted { "(built in)" } } td { (r.permissions().names().join(", ")) } @if manage { td {} } }
                    }
                    @for r in roles { tr {
                        td { (r.name) } td { (ops::members::role_view(r).join(", ")) }
                        @if manage { td.actions {
                            details { summary { "Edit " span.visually-hidden { (r.name) } }
                                (role_form(tenant, Some(r))) }
                            button.small.danger hx-post={ "/t/" (tenant) "/team/roles/" (r.name) "/delete" } hx-target="next .delete-result"
                                hx-confirm={ "Delete the role " (r.name) "? Members and keys that hold it must be given another role first." }
                                { "Delete" }
                            div.delete-result aria-live="polite" {}
                        } }
                    } }
                }
            } }
            @if manage {
                h3 { "Define a role" }
                (role_form(tenant, None))
            }
        }
    }
}

/// The toggles of a role: a new one (its name asked), or `existing` (its name kept).
fn role_form(tenant: &str, existing: Option<&RoleRow>) -> Markup {
    let held = existing.map_or(Permissions::NONE, |r| ops::keys::parse_permissions(&r.permissions));
    let id = existing.map_or_else(|| "new-role".to_owned(), |r| format!("role-{}", r.name));
    html! {
        form hx-post={ "/t/" (tenant) "/team/roles" } hx-target={ "#" (id) "-result" } {
            @match existing {
                Some(r) => { input type="hidden" name="name" value=(r.name); }
                None => { (layout::field("Name (lowercase letters, digits, -)", "name", "text", "", None, req("off"))) }
            }
            fieldset { legend { "Permissions" @if let Some(r) = existing { " of " (r.name) } }
                ul.tree { @for p in Permission::ALL.iter().filter(|p| !p.is_platform()) {
                    li { label { input type="checkbox" name="permission" value=(p.as_str()) checked[held.has(*p)]; " " code { (p.as_str()) } } }
                } }
            }
            div.actions { button type="submit" { "Save the role" } }
            div id={ (id) "-result" } aria-live="polite" {}
        }
    }
}

/// `POST /t/{tenant}/team/roles` (`name`, `permission` repeated): creates or replaces the role.
pub async fn put_role(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(tenant): Path<String>,
    body: axum::body::Bytes,
) -> Response {
    let mut name = String::new();
    let mut permissions = Vec::new();
    for (k, v) in url::form_urlencoded::parse(&body) {
        match k.as_ref() {
            "name" => name = v.trim().to_owned(),
            "permission" => permissions.extend(Permission::parse(&v)),
            _ => {}
        }
    }
    fragment(ops::members::put_role(&state, &viewer.who, &tenant, &name, &permissions).await, |r| {
        layout::notice(&format!("Role {} saved; reload to see it in the lists.", r.name))
    })
}

/// `POST /t/{tenant}/team/roles/{name}/delete`: the team page again, without it.
pub async fn delete_role(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((tenant, name)): Path<(String, String)>,
) -> Response {
    super::go_after(ops::members::delete_role(&state, &viewer.who, &tenant, &name).await, |()| {
        format!("/t/{tenant}/team")
    })
}
