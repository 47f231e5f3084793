//! Permissions and the built-in roles.
//!
//! A permission is one area and action (`plugins:approve`); a role is a set of them. The
//! built-in roles are fixed here; a tenant's custom roles are stored sets. Every operation of
//! the application layer checks exactly one permission, so a role opens exactly the operations
//! its permissions name.

use serde::{Deserialize, Serialize};

/// One thing a principal may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema)]
pub enum Permission {
    /// See plugin versions, their grants and activations.
    #[serde(rename = "plugins:view")]
    PluginsView,
    /// Upload a plugin version.
    #[serde(rename = "plugins:upload")]
    PluginsUpload,
    /// Approve a version's grant.
    #[serde(rename = "plugins:approve")]
    PluginsApprove,
    /// Activate a version or roll back.
    #[serde(rename = "plugins:activate")]
    PluginsActivate,
    /// See the Salesforce connection.
    #[serde(rename = "connection:view")]
    ConnectionView,
    /// Connect, reconnect, preflight and disconnect the org; rotate the ingestion secret.
    #[serde(rename = "connection:manage")]
    ConnectionManage,
    /// Edit the plugin's settings (its mapping configuration).
    #[serde(rename = "mappings:edit")]
    MappingsEdit,
    /// See jobs and their results.
    #[serde(rename = "jobs:view")]
    JobsView,
    /// Replay jobs, mark them done, erase a person's data.
    #[serde(rename = "jobs:replay")]
    JobsReplay,
    /// Read the commit audit and the security log.
    #[serde(rename = "audit:view")]
    AuditView,
    /// Invite people, change their roles, remove them, reset their passwords, set the
    /// tenant's security policy.
    #[serde(rename = "users:manage")]
    UsersManage,
    /// Create, change and delete custom roles.
    #[serde(rename = "roles:manage")]
    RolesManage,
    /// Issue and revoke API keys.
    #[serde(rename = "keys:manage")]
    KeysManage,
    /// Register and change outbound webhook endpoints; replay deliveries.
    #[serde(rename = "webhooks:manage")]
    WebhooksManage,
    /// Create child tenants and act within them (resellers).
    #[serde(rename = "children:manage")]
    ChildrenManage,
    /// Platform: create and list every tenant, set sandbox limits.
    #[serde(rename = "platform:tenants")]
    PlatformTenants,
    /// Platform: read the whole security log, manage platform staff.
    #[serde(rename = "platform:users")]
    PlatformUsers,
}

use Permission::*;

impl Permission {
    /// Every permission, in order.
    pub const ALL: [Permission; 17] = [
        PluginsView,
        PluginsUpload,
        PluginsApprove,
        PluginsActivate,
        ConnectionView,
        ConnectionManage,
        MappingsEdit,
        JobsView,
        JobsReplay,
        AuditView,
        UsersManage,
        RolesManage,
        KeysManage,
        WebhooksManage,
        ChildrenManage,
        PlatformTenants,
        PlatformUsers,
    ];

    /// Its name, `area:action`.
    pub fn as_str(self) -> &'static str {
        match self {
            PluginsView => "plugins:view",
            PluginsUpload => "plugins:upload",
            PluginsApprove => "plugins:approve",
            PluginsActivate => "plugins:activate",
            ConnectionView => "connection:view",
            ConnectionManage => "connection:manage",
            MappingsEdit => "mappings:edit",
            JobsView => "jobs:view",
            JobsReplay => "jobs:replay",
            AuditView => "audit:view",
            UsersManage => "users:manage",
            RolesManage => "roles:manage",
            KeysManage => "keys:manage",
            WebhooksManage => "webhooks:manage",
            ChildrenManage => "children:manage",
            PlatformTenants => "platform:tenants",
            PlatformUsers => "platform:users",
        }
    }

    /// The permission named `s`.
    pub fn parse(s: &str) -> Option<Permission> {
        Permission::ALL.into_iter().find(|p| p.as_str() == s)
    }

    /// Whether only platform staff may hold it (never part of a tenant's role).
    pub fn is_platform(self) -> bool {
        matches!(self, PlatformTenants | PlatformUsers)
    }

    fn bit(self) -> u32 {
        1 << (self as u32)
    }
}

/// A set of permissions.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Permissions(u32);

impl Permissions {
    /// No permission.
    pub const NONE: Permissions = Permissions(0);

    /// Every permission, platform ones included.
    pub fn all() -> Permissions {
        Permissions::of(&Permission::ALL)
    }

    /// Every permission a tenant role may hold.
    pub fn tenant() -> Permissions {
        Permissions::of(&Permission::ALL.into_iter().filter(|p| !p.is_platform()).collect::<Vec<_>>())
    }

    /// The set of `list`.
    pub fn of(list: &[Permission]) -> Permissions {
        Permissions(list.iter().fold(0, |bits, p| bits | p.bit()))
    }

    /// Whether it holds `p`.
    pub fn has(self, p: Permission) -> bool {
        self.0 & p.bit() != 0
    }

    /// Whether every permission of `other` is in this set.
    pub fn covers(self, other: Permissions) -> bool {
        other.0 & !self.0 == 0
    }

    /// What either holds.
    pub fn or(self, other: Permissions) -> Permissions {
        Permissions(self.0 | other.0)
    }

    /// What both hold.
    pub fn and(self, other: Permissions) -> Permissions {
        Permissions(self.0 & other.0)
    }

    /// Its members, in order.
    pub fn list(self) -> Vec<Permission> {
        Permission::ALL.into_iter().filter(|p| self.has(*p)).collect()
    }

    /// Its members' names, in order.
    pub fn names(self) -> Vec<&'static str> {
        self.list().into_iter().map(Permission::as_str).collect()
    }
}

/// A built-in role.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BuiltinRole {
    /// Platform staff: every permission in every tenant.
    PlatformAdmin,
    /// Every tenant permission, roles included.
    TenantOwner,
    /// Every tenant permission except managing roles: an admin grants only roles that exist.
    TenantAdmin,
    /// Reads everything, changes nothing.
    Viewer,
}

impl BuiltinRole {
    /// The built-in roles.
    pub const ALL: [BuiltinRole; 4] =
        [BuiltinRole::PlatformAdmin, BuiltinRole::TenantOwner, BuiltinRole::TenantAdmin, BuiltinRole::Viewer];

    /// Its name.
    pub fn as_str(self) -> &'static str {
        match self {
            BuiltinRole::PlatformAdmin => "platform-admin",
            BuiltinRole::TenantOwner => "tenant-owner",
            BuiltinRole::TenantAdmin => "tenant-admin",
            BuiltinRole::Viewer => "viewer",
        }
    }

    /// The built-in role named `s`.
    pub fn parse(s: &str) -> Option<BuiltinRole> {
        BuiltinRole::ALL.into_iter().find(|r| r.as_str() == s)
    }

    /// What it may do.
    pub fn permissions(self) -> Permissions {
        match self {
            BuiltinRole::PlatformAdmin => Permissions::all(),
            BuiltinRole::TenantOwner => Permissions::tenant(),
            BuiltinRole::TenantAdmin => {
                Permissions(Permissions::tenant().0 & !RolesManage.bit() & !ChildrenManage.bit())
            }
            BuiltinRole::Viewer => Permissions::of(&[PluginsView, ConnectionView, JobsView, AuditView]),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_match_serde() {
        for p in Permission::ALL {
            assert_eq!(Permission::parse(p.as_str()), Some(p));
            assert_eq!(serde_json::to_value(p).unwrap(), p.as_str());
        }
        assert_eq!(Permission::parse("plugins:everything"), None);
    }

    #[test]
    fn roles_nest() {
        let [platform, owner, admin, viewer] = BuiltinRole::ALL.map(BuiltinRole::permissions);
        assert!(platform.covers(owner) && owner.covers(admin) && admin.covers(viewer));
        assert!(!admin.covers(owner) && !owner.has(PlatformTenants) && !viewer.has(JobsReplay));
        assert_eq!(Permissions::of(&viewer.list()), viewer);
    }
}
