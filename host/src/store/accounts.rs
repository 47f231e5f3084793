//! People: users, their memberships (a role per tenant) and tenants' custom roles.

use super::{Store, StoreError, on_pool, on_read_pool};

/// A stored user. The password hash and TOTP secret never leave the service.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct UserRow {
    /// Its id.
    pub id: String,
    /// Its email, lowercase.
    pub email: String,
    /// The Argon2id PHC string (`None` until a password is set).
    pub password_hash: Option<String>,
    /// When the password was last set.
    pub password_changed_at: Option<i64>,
    /// `1` for platform staff.
    pub platform_admin: i64,
    /// The sealed TOTP secret, once enrolment is confirmed.
    pub totp_secret: Option<String>,
    /// The sealed TOTP secret of an enrolment not yet confirmed.
    pub totp_pending: Option<String>,
    /// The last TOTP time step accepted (a code is good once).
    pub totp_last_step: Option<i64>,
    /// A JSON array of hex SHA-256 of the unused recovery codes.
    pub recovery_codes: String,
    /// Unix ms.
    pub created_at: i64,
    /// When the account was disabled.
    pub disabled_at: Option<i64>,
    /// `1` when sign-in needs a code sent by email.
    pub email_2fa: i64,
}

/// A membership: a user's role in one tenant.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct MembershipRow {
    /// The user.
    pub user_id: String,
    /// Their email.
    pub email: String,
    /// The tenant.
    pub tenant_id: String,
    /// The role's name (built-in or custom).
    pub role: String,
    /// Unix ms.
    pub created_at: i64,
}

/// A tenant's custom role.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct RoleRow {
    /// The tenant.
    pub tenant_id: String,
    /// Its name.
    pub name: String,
    /// Its permissions, space-separated names.
    pub permissions: String,
    /// Unix ms.
    pub created_at: i64,
}

const USER_COLUMNS: &str = "id, email, password_hash, password_changed_at, platform_admin, totp_secret, totp_pending, \
     totp_last_step, recovery_codes, created_at, disabled_at, email_2fa";
const MEMBER_SELECT: &str =
    "SELECT m.user_id, u.email, m.tenant_id, m.role, m.created_at FROM memberships m JOIN users u ON u.id = m.user_id";

impl Store {
    /// Creates a user; `false` when the email is taken.
    pub async fn insert_user(&self, user: &UserRow) -> Result<bool, StoreError> {
        let done = on_pool!(self, |pool| {
            sqlx::query(
                "INSERT INTO users (id, email, password_hash, password_changed_at, platform_admin, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
            )
            .bind(&user.id)
            .bind(&user.email)
            .bind(&user.password_hash)
            .bind(user.password_changed_at)
            .bind(user.platform_admin)
            .bind(user.created_at)
            .execute(pool)
            .await?
            .rows_affected()
        });
        Ok(done == 1)
    }

    /// A user by (lowercase) email.
    pub async fn user_by_email(&self, email: &str) -> Result<Option<UserRow>, StoreError> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE email = $1");
        Ok(on_pool!(self, |pool| sqlx::query_as(&sql).bind(email).fetch_optional(pool).await?))
    }

    /// A user by id.
    pub async fn user(&self, id: &str) -> Result<Option<UserRow>, StoreError> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1");
        Ok(on_pool!(self, |pool| sqlx::query_as(&sql).bind(id).fetch_optional(pool).await?))
    }

    /// Sets a user's password hash.
    pub async fn set_password(&self, user: &str, hash: &str, now_ms: i64) -> Result<(), StoreError> {
        on_pool!(self, |pool| {
            sqlx::query("UPDATE users SET password_hash = $1, password_changed_at = $2 WHERE id = $3")
                .bind(hash)
                .bind(now_ms)
                .bind(user)
                .execute(pool)
                .await?;
        });
        Ok(())
    }

    /// Makes a user platform staff (or not).
    pub async fn set_platform_admin(&self, user: &str, admin: bool) -> Result<(), StoreError> {
        on_pool!(self, |pool| {
            sqlx::query("UPDATE users SET platform_admin = $1 WHERE id = $2")
                .bind(i64::from(admin))
                .bind(user)
                .execute(pool)
                .await?;
        });
        Ok(())
    }

    /// Sets the TOTP state: the pending secret, the confirmed one and the recovery codes.
    pub async fn set_totp(
        &self,
        user: &str,
        pending: Option<&str>,
        secret: Option<&str>,
        recovery_codes: &str,
    ) -> Result<(), StoreError> {
        on_pool!(self, |pool| {
            sqlx::query(
                "UPDATE users SET totp_pending = $1, totp_secret = $2, recovery_codes = $3, totp_last_step = NULL WHERE id = $4",
            )
            .bind(pending)
            .bind(secret)
            .bind(recovery_codes)
            .bind(user)
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    /// Turns sign-in codes by email on or off.
    pub async fn set_email_2fa(&self, user: &str, on: bool) -> Result<(), StoreError> {
        on_pool!(self, |pool| {
            sqlx::query("UPDATE users SET email_2fa = $1 WHERE id = $2")
                .bind(i64::from(on))
                .bind(user)
                .execute(pool)
                .await?;
        });
        Ok(())
    }

    /// Accepts TOTP step `step` for a user if it is later than the last one accepted (one
    /// statement: two replicas never both accept the same code); `false` when it was used.
    pub async fn use_totp_step(&self, user: &str, step: i64) -> Result<bool, StoreError> {
        let done = on_pool!(self, |pool| {
            sqlx::query(
                "UPDATE users SET totp_last_step = $1 WHERE id = $2 AND (totp_last_step IS NULL OR totp_last_step < $1)",
            )
            .bind(step)
            .bind(user)
            .execute(pool)
            .await?
            .rows_affected()
        });
        Ok(done == 1)
    }

    /// Replaces the recovery codes if they are still `expected` (a code is spent once, even
    /// by two replicas at once); `false` when they changed meanwhile.
    pub async fn swap_recovery_codes(&self, user: &str, expected: &str, new: &str) -> Result<bool, StoreError> {
        let done = on_pool!(self, |pool| {
            sqlx::query("UPDATE users SET recovery_codes = $1 WHERE id = $2 AND recovery_codes = $3")
                .bind(new)
                .bind(user)
                .bind(expected)
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(done == 1)
    }

    /// A user's memberships.
    pub async fn memberships(&self, user: &str) -> Result<Vec<MembershipRow>, StoreError> {
        let sql = format!("{MEMBER_SELECT} WHERE m.user_id = $1 ORDER BY m.tenant_id");
        Ok(on_pool!(self, |pool| sqlx::query_as(&sql).bind(user).fetch_all(pool).await?))
    }

    /// A tenant's members.
    pub async fn members(&self, tenant: &str) -> Result<Vec<MembershipRow>, StoreError> {
        let sql = format!("{MEMBER_SELECT} WHERE m.tenant_id = $1 ORDER BY u.email");
        Ok(on_read_pool!(self, |pool| sqlx::query_as(&sql).bind(tenant).fetch_all(pool).await?))
    }

    /// Gives a user a role in a tenant (replacing the one they had).
    pub async fn set_membership(&self, user: &str, tenant: &str, role: &str, now_ms: i64) -> Result<(), StoreError> {
        on_pool!(self, |pool| {
            sqlx::query(
                "INSERT INTO memberships (user_id, tenant_id, role, created_at) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (user_id, tenant_id) DO UPDATE SET role = excluded.role",
            )
            .bind(user)
            .bind(tenant)
            .bind(role)
            .bind(now_ms)
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    /// Removes a user from a tenant; `false` when they were not a member.
    pub async fn delete_membership(&self, user: &str, tenant: &str) -> Result<bool, StoreError> {
        let done = on_pool!(self, |pool| {
            sqlx::query("DELETE FROM memberships WHERE user_id = $1 AND tenant_id = $2")
                .bind(user)
                .bind(tenant)
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(done == 1)
    }

    /// A tenant's custom roles.
    pub async fn roles(&self, tenant: &str) -> Result<Vec<RoleRow>, StoreError> {
        Ok(on_pool!(self, |pool| {
            sqlx::query_as(
                "SELECT tenant_id, name, permissions, created_at FROM roles WHERE tenant_id = $1 ORDER BY name",
            )
            .bind(tenant)
            .fetch_all(pool)
            .await?
        }))
    }

    /// Creates or replaces a custom role.
    pub async fn put_role(&self, role: &RoleRow) -> Result<(), StoreError> {
        on_pool!(self, |pool| {
            sqlx::query(
                "INSERT INTO roles (tenant_id, name, permissions, created_at) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (tenant_id, name) DO UPDATE SET permissions = excluded.permissions",
            )
            .bind(&role.tenant_id)
            .bind(&role.name)
            .bind(&role.permissions)
            .bind(role.created_at)
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    /// Deletes a custom role nobody holds; `Ok(false)` when there is none, `Err` never for a
    /// held one: callers check [`Store::role_in_use`] first.
    pub async fn delete_role(&self, tenant: &str, name: &str) -> Result<bool, StoreError> {
        let done = on_pool!(self, |pool| {
            sqlx::query("DELETE FROM roles WHERE tenant_id = $1 AND name = $2")
                .bind(tenant)
                .bind(name)
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(done == 1)
    }

    /// How many members and live keys of the tenant hold the role.
    pub async fn role_in_use(&self, tenant: &str, name: &str) -> Result<i64, StoreError> {
        let (n,): (i64,) = on_pool!(self, |pool| {
            sqlx::query_as(
                "SELECT (SELECT COUNT(*) FROM memberships WHERE tenant_id = $1 AND role = $2) + \
                        (SELECT COUNT(*) FROM api_keys WHERE tenant_id = $1 AND role = $2 AND revoked_at IS NULL)",
            )
            .bind(tenant)
            .bind(name)
            .fetch_one(pool)
            .await?
        });
        Ok(n)
    }
}
