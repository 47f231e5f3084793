//! Who is acting: a person signed in, an API key, or the operator at the command line, with
//! what they may do in each tenant they can see.

use super::permission::{Permission, Permissions};
use super::{ApiError, OpResult};
use std::net::IpAddr;

/// Who acts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Actor {
    /// A person, by a session.
    User {
        /// Their id.
        id: String,
        /// Their email.
        email: String,
    },
    /// An API key.
    Key {
        /// Its public prefix.
        prefix: String,
    },
    /// The operator, at the command line with the database's credentials.
    Operator,
    /// Someone not authenticated, naming the account they tried.
    Claimed(String),
}

impl Actor {
    /// How logs and the security log name it: `user:ada@example.com`, `key:1a2b…`, `operator`.
    pub fn label(&self) -> String {
        match self {
            Actor::User { email, .. } => format!("user:{email}"),
            Actor::Key { prefix } => format!("key:{prefix}"),
            Actor::Operator => "operator".to_owned(),
            Actor::Claimed(email) => format!("unauthenticated:{email}"),
        }
    }
}

/// What a principal may do in one tenant.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TenantGrant {
    /// The tenant.
    pub tenant: String,
    /// The role it holds there (for a child tenant: its role in the parent).
    pub role: String,
    /// What the role allows.
    pub permissions: Permissions,
    /// The parent tenant it acts from, when this is a reseller's child tenant.
    pub via: Option<String>,
    /// The tenant requires two-factor authentication and this person has not enrolled: they
    /// may do nothing there until they do.
    pub needs_2fa: bool,
}

/// An authenticated caller.
#[derive(Clone, Debug)]
pub struct Principal {
    /// Who.
    pub actor: Actor,
    /// From where (absent at the command line).
    pub address: Option<IpAddr>,
    /// Permissions in every tenant (platform staff).
    pub platform: Permissions,
    /// Platform staff who must enrol two-factor authentication before acting as staff.
    pub platform_needs_2fa: bool,
    /// Permissions per tenant.
    pub grants: Vec<TenantGrant>,
    /// The session this request came by, if a person's.
    pub session: Option<String>,
}

/// Leave to act in a tenant.
#[derive(Clone, Copy, Debug)]
pub struct Access<'a> {
    /// The tenant.
    pub tenant: &'a str,
    /// The parent tenant a reseller acts from.
    pub via: Option<&'a str>,
}

impl Principal {
    /// The operator at the command line: may do everything.
    pub fn operator() -> Principal {
        Principal {
            actor: Actor::Operator,
            address: None,
            platform: Permissions::all(),
            platform_needs_2fa: false,
            grants: Vec::new(),
            session: None,
        }
    }

    /// Someone not (yet) authenticated, who claimed to be `email`: may do nothing.
    pub fn nobody(email: &str) -> Principal {
        Principal {
            actor: Actor::Claimed(email.to_owned()),
            address: None,
            platform: Permissions::NONE,
            platform_needs_2fa: false,
            grants: Vec::new(),
            session: None,
        }
    }

    /// Its grant in `tenant`, if any.
    pub fn grant(&self, tenant: &str) -> Option<&TenantGrant> {
        self.grants.iter().find(|g| g.tenant == tenant)
    }

    /// What it may do in `tenant` (platform permissions included).
    pub fn permissions_in(&self, tenant: &str) -> Permissions {
        let own = self.grant(tenant).filter(|g| !g.needs_2fa).map_or(Permissions::NONE, |g| g.permissions);
        self.platform.or(own)
    }

    /// Whether it may see `tenant` at all.
    pub fn sees(&self, tenant: &str) -> bool {
        !self.platform.and(Permissions::tenant()).list().is_empty() || self.grant(tenant).is_some()
    }

    /// Checks it holds `permission` in `tenant`. A tenant it cannot see is not found, exactly
    /// as if it did not exist; one it sees but may not do this in is forbidden, naming what is
    /// missing.
    pub fn require<'a>(&'a self, tenant: &'a str, permission: Permission) -> OpResult<Access<'a>> {
        if self.platform_needs_2fa && self.grant(tenant).is_none() {
            return Err(two_factor_required("the platform"));
        }
        if self.platform.has(permission) {
            return Ok(Access { tenant, via: None });
        }
        let Some(grant) = self.grant(tenant) else {
            return Err(ApiError::not_found(format!("no tenant `{tenant}`")));
        };
        if grant.needs_2fa {
            return Err(two_factor_required(&format!("tenant `{tenant}`")));
        }
        if !grant.permissions.has(permission) {
            return Err(ApiError::forbidden(format!(
                "this needs the `{}` permission in tenant `{tenant}`; the role `{}` does not hold it",
                permission.as_str(),
                grant.role
            )));
        }
        Ok(Access { tenant, via: grant.via.as_deref() })
    }

    /// Checks it holds the platform permission `permission`.
    pub fn require_platform(&self, permission: Permission) -> OpResult<()> {
        if self.platform_needs_2fa {
            return Err(two_factor_required("the platform"));
        }
        if self.platform.has(permission) {
            Ok(())
        } else {
            Err(ApiError::forbidden(format!("this needs the platform permission `{}`", permission.as_str())))
        }
    }
}

fn two_factor_required(scope: &str) -> ApiError {
    ApiError::forbidden_code(
        "two-factor-required",
        format!("{scope} requires two-factor authentication: enrol at POST /v1/me/totp first"),
    )
}

#[cfg(test)]
mod tests {
    use super::super::permission::BuiltinRole;
    use super::*;

    fn member(role: BuiltinRole, via: Option<&str>) -> Principal {
        Principal {
            actor: Actor::Key { prefix: "k".into() },
            address: None,
            platform: Permissions::NONE,
            platform_needs_2fa: false,
            grants: vec![TenantGrant {
                tenant: "acme".into(),
                role: role.as_str().into(),
                permissions: role.permissions(),
                via: via.map(str::to_owned),
                needs_2fa: false,
            }],
            session: None,
        }
    }

    #[test]
    fn unseen_tenants_are_not_found_and_missing_permissions_forbidden() {
        let viewer = member(BuiltinRole::Viewer, None);
        assert!(viewer.require("acme", Permission::JobsView).is_ok());
        assert_eq!(viewer.require("acme", Permission::JobsReplay).unwrap_err().status, 403);
        assert_eq!(viewer.require("globex", Permission::JobsView).unwrap_err().status, 404);
        assert_eq!(viewer.require_platform(Permission::PlatformTenants).unwrap_err().status, 403);
        assert!(Principal::operator().require("anything", Permission::UsersManage).is_ok());
    }

    #[test]
    fn a_reseller_acts_via_its_parent_and_2fa_gates_everything() {
        let reseller = member(BuiltinRole::TenantAdmin, Some("agency"));
        assert_eq!(reseller.require("acme", Permission::PluginsView).unwrap().via, Some("agency"));
        let mut unenrolled = member(BuiltinRole::TenantOwner, None);
        unenrolled.grants[0].needs_2fa = true;
        let refused = unenrolled.require("acme", Permission::JobsView).unwrap_err();
        assert_eq!((refused.status.as_u16(), refused.code), (403, "two-factor-required"));
        assert_eq!(unenrolled.permissions_in("acme"), Permissions::NONE);
    }
}
