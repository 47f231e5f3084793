//! Single-use account tokens: invitations and password resets. Only the token's SHA-256 is
//! stored; using one is one statement, so two replicas never both accept it.

use super::{Store, StoreError, on_pool, on_read_pool};

/// What a token is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenKind {
    /// Join a tenant with a role (and set a password if new).
    Invitation,
    /// Set a new password.
    Reset,
    /// A sign-in (or enrolment) code sent by email.
    EmailCode,
}

impl TokenKind {
    /// Its stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            TokenKind::Invitation => "invitation",
            TokenKind::Reset => "reset",
            TokenKind::EmailCode => "email-code",
        }
    }
}

/// A stored token.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct TokenRow {
    /// Hex SHA-256 of the token.
    pub token_hash: String,
    /// Its public id.
    pub id: String,
    /// `invitation` or `reset`.
    pub kind: String,
    /// Whom it is for (lowercase).
    pub email: String,
    /// The tenant an invitation joins.
    pub tenant_id: Option<String>,
    /// The role an invitation gives.
    pub role: Option<String>,
    /// Who made it.
    pub created_by: String,
    /// Unix ms.
    pub created_at: i64,
    /// When it stops working.
    pub expires_at: i64,
    /// When it was used.
    pub used_at: Option<i64>,
    /// When it was withdrawn.
    pub revoked_at: Option<i64>,
}

const TOKEN_COLUMNS: &str =
    "token_hash, id, kind, email, tenant_id, role, created_by, created_at, expires_at, used_at, revoked_at";

impl Store {
    /// Stores a token.
    pub async fn insert_token(&self, t: &TokenRow) -> Result<(), StoreError> {
        on_pool!(self, |pool| {
            sqlx::query(
                "INSERT INTO account_tokens (token_hash, id, kind, email, tenant_id, role, created_by, created_at, expires_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT DO NOTHING",
            )
            .bind(&t.token_hash)
            .bind(&t.id)
            .bind(&t.kind)
            .bind(&t.email)
            .bind(&t.tenant_id)
            .bind(&t.role)
            .bind(&t.created_by)
            .bind(t.created_at)
            .bind(t.expires_at)
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    /// Uses a token of `kind`: marks it used and returns it, or `None` when it is unknown,
    /// used, withdrawn or expired.
    pub async fn use_token(
        &self,
        token_hash: &str,
        kind: TokenKind,
        now_ms: i64,
    ) -> Result<Option<TokenRow>, StoreError> {
        let sql = format!(
            "UPDATE account_tokens SET used_at = $1 WHERE token_hash = $2 AND kind = $3 AND used_at IS NULL \
             AND revoked_at IS NULL AND expires_at > $1 RETURNING {TOKEN_COLUMNS}"
        );
        Ok(on_pool!(self, |pool| {
            sqlx::query_as(&sql).bind(now_ms).bind(token_hash).bind(kind.as_str()).fetch_optional(pool).await?
        }))
    }

    /// A live token of `kind` (for checks before it is used).
    pub async fn peek_token(
        &self,
        token_hash: &str,
        kind: TokenKind,
        now_ms: i64,
    ) -> Result<Option<TokenRow>, StoreError> {
        let sql = format!(
            "SELECT {TOKEN_COLUMNS} FROM account_tokens WHERE token_hash = $1 AND kind = $2 AND used_at IS NULL \
             AND revoked_at IS NULL AND expires_at > $3"
        );
        Ok(on_pool!(self, |pool| {
            sqlx::query_as(&sql).bind(token_hash).bind(kind.as_str()).bind(now_ms).fetch_optional(pool).await?
        }))
    }

    /// Withdraws every open token of `kind` for `email`; how many.
    pub async fn revoke_tokens(&self, email: &str, kind: TokenKind, now_ms: i64) -> Result<u64, StoreError> {
        Ok(on_pool!(self, |pool| {
            sqlx::query(
                "UPDATE account_tokens SET revoked_at = $1 WHERE email = $2 AND kind = $3 AND used_at IS NULL AND revoked_at IS NULL",
            )
            .bind(now_ms)
            .bind(email)
            .bind(kind.as_str())
            .execute(pool)
            .await?
            .rows_affected()
        }))
    }

    /// A tenant's invitations, newest first.
    pub async fn invitations(&self, tenant: &str) -> Result<Vec<TokenRow>, StoreError> {
        let sql = format!(
            "SELECT {TOKEN_COLUMNS} FROM account_tokens WHERE tenant_id = $1 AND kind = 'invitation' \
             ORDER BY created_at DESC, id LIMIT 500"
        );
        Ok(on_read_pool!(self, |pool| sqlx::query_as(&sql).bind(tenant).fetch_all(pool).await?))
    }

    /// Withdraws a tenant's unused invitation; `false` when there is none.
    pub async fn revoke_invitation(&self, tenant: &str, id: &str, now_ms: i64) -> Result<bool, StoreError> {
        let done = on_pool!(self, |pool| {
            sqlx::query(
                "UPDATE account_tokens SET revoked_at = $1 WHERE tenant_id = $2 AND id = $3 AND kind = 'invitation' \
                 AND used_at IS NULL AND revoked_at IS NULL",
            )
            .bind(now_ms)
            .bind(tenant)
            .bind(id)
            .execute(pool)
            .await?
            .rows_affected()
        });
        Ok(done == 1)
    }
}
