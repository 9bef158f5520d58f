//! API tokens (Settings > API access): a tenant's named secret with scopes and an expiry, for
//! the JSON API. The secret is shown once; the database keeps only its SHA-256, so a copy of
//! the database holds no usable token. Every API call looks its token's row up (one indexed
//! read), so revoking it ends it at once in every server process.

use chrono::{DateTime, Duration, Utc};
use diesel::prelude::*;
use rand::RngCore;
use sha2::{Digest, Sha256};

use super::authz::{self, Scope, Target};
use super::schema::api_tokens;
use super::{Action, Actor, ApiTokenId, DbConnection, DomainError, TenantId, audit, naive, utc};

/// What every secret starts with, so a leaked one is recognisable (secret scanners, logs).
pub const SECRET_PREFIX: &str = "allot_";
/// The lifetimes Add a token offers, in days.
pub const EXPIRY_DAYS: [i64; 3] = [30, 90, 365];
/// `last_used_at` is written at most this often, so a busy token does not write on every call.
pub const USED_EVERY: Duration = Duration::minutes(1);

/// A token just made: the secret is in here and nowhere else, to be shown once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewToken {
    pub id: ApiTokenId,
    pub name: String,
    pub scopes: Vec<Scope>,
    pub expires_at: DateTime<Utc>,
    pub secret: String,
}

/// One row of Settings > API access.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRow {
    pub id: ApiTokenId,
    pub name: String,
    pub scopes: Vec<Scope>,
    pub created_at: DateTime<Utc>,
    pub created_by: String,
    pub expires_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    /// Past its expiry: the API refuses it; revoking it frees its name.
    pub expired: bool,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = api_tokens)]
struct TokenRecord {
    id: i64,
    tenant_id: i64,
    name: String,
    scopes: String,
    created_by: String,
    created_at: chrono::NaiveDateTime,
    expires_at: chrono::NaiveDateTime,
    last_used_at: Option<chrono::NaiveDateTime>,
    revoked_at: Option<chrono::NaiveDateTime>,
}

impl TokenRecord {
    fn scopes(&self) -> Result<Vec<Scope>, DomainError> {
        Scope::parse_list(self.scopes.split(' '))
    }
}

/// The stored key of a secret: its SHA-256 in hex. A 256-bit random secret needs no salt or
/// slow hash: nobody can guess it, and the hash is what the lookup goes by.
fn hash_of(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

fn name_of(name: &str) -> Result<(String, String), DomainError> {
    let name = super::text::line(
        "name",
        name,
        1..=120,
        "Enter a name for the token (up to 120 characters).",
    )?;
    let key = name.to_lowercase();
    Ok((name, key))
}

/// Adds a token to `tenant` with `scopes`, valid for `days` (30, 90 or 365), and returns its
/// secret, which is not kept. The name is unique among the tenant's tokens not revoked.
pub fn create(
    conn: &mut DbConnection,
    actor: &Actor,
    now: DateTime<Utc>,
    tenant: TenantId,
    name: &str,
    scopes: &[Scope],
    days: i64,
) -> Result<NewToken, DomainError> {
    authz::may(actor, Action::ManageApiTokens, &Target::Tenant(tenant))?;
    let (name, key) = name_of(name)?;
    let mut scopes = scopes.to_vec();
    scopes.sort();
    scopes.dedup();
    if scopes.is_empty() {
        return Err(DomainError::invalid(
            "scopes",
            "Choose at least one scope for the token.",
        ));
    }
    if !EXPIRY_DAYS.contains(&days) {
        return Err(DomainError::invalid(
            "expires",
            "Choose when the token expires: in 30, 90 or 365 days.",
        ));
    }
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let secret = format!("{SECRET_PREFIX}{}", hex::encode(bytes));
    let expires_at = now + Duration::days(days);
    let stored_scopes = scopes
        .iter()
        .map(|s| s.as_str())
        .collect::<Vec<_>>()
        .join(" ");
    let taken = || {
        DomainError::invalid(
            "name",
            format!("A token named {name} already exists. Choose another name."),
        )
    };
    let id = super::db::transaction(conn, |conn| {
        let existing: i64 = api_tokens::table
            .filter(api_tokens::tenant_id.eq(tenant.0))
            .filter(api_tokens::name_key.eq(&key))
            .filter(api_tokens::revoked_at.is_null())
            .count()
            .get_result(conn)?;
        if existing > 0 {
            return Err(taken());
        }
        // Two adds of one name at once both find it free; the unique index lets one in.
        let id: i64 = match diesel::insert_into(api_tokens::table)
            .values((
                api_tokens::tenant_id.eq(tenant.0),
                api_tokens::name.eq(&name),
                api_tokens::name_key.eq(&key),
                api_tokens::scopes.eq(&stored_scopes),
                api_tokens::secret_hash.eq(hash_of(&secret)),
                api_tokens::created_by.eq(actor.label()),
                api_tokens::created_at.eq(naive(now)),
                api_tokens::expires_at.eq(naive(expires_at)),
            ))
            .returning(api_tokens::id)
            .get_result(conn)
        {
            Err(diesel::result::Error::DatabaseError(
                diesel::result::DatabaseErrorKind::UniqueViolation,
                _,
            )) => return Err(taken()),
            other => other?,
        };
        audit::record(
            conn,
            actor,
            now,
            Some(tenant),
            "Added API token",
            &name,
            &format!(
                "Scopes: {}; expires {}",
                stored_scopes,
                expires_at.format("%Y-%m-%d")
            ),
        )?;
        Ok(id)
    })?;
    Ok(NewToken {
        id: ApiTokenId(id),
        name,
        scopes,
        expires_at,
        secret,
    })
}

/// The tenant's tokens that were not revoked, newest first.
pub fn list(
    conn: &mut DbConnection,
    actor: &Actor,
    now: DateTime<Utc>,
    tenant: TenantId,
) -> Result<Vec<TokenRow>, DomainError> {
    authz::may(actor, Action::ManageApiTokens, &Target::Tenant(tenant))?;
    api_tokens::table
        .filter(api_tokens::tenant_id.eq(tenant.0))
        .filter(api_tokens::revoked_at.is_null())
        .order(api_tokens::id.desc())
        .select(TokenRecord::as_select())
        .load(conn)?
        .into_iter()
        .map(|r| {
            Ok(TokenRow {
                id: ApiTokenId(r.id),
                scopes: r.scopes()?,
                name: r.name,
                created_at: utc(r.created_at),
                created_by: r.created_by,
                expires_at: utc(r.expires_at),
                last_used_at: r.last_used_at.map(utc),
                expired: utc(r.expires_at) <= now,
            })
        })
        .collect()
}

/// What API access sorts its tokens by (its column headers).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum TokenSort {
    #[default]
    Created,
    Name,
    Expires,
    LastUsed,
}

/// The tenant's live tokens in the order asked. A tenant has a handful, all on one page, so
/// they are sorted here in Rust rather than in SQL; equal ones newest first.
pub fn list_sorted(
    conn: &mut DbConnection,
    actor: &Actor,
    now: DateTime<Utc>,
    tenant: TenantId,
    sort: TokenSort,
    descending: bool,
) -> Result<Vec<TokenRow>, DomainError> {
    let mut tokens = list(conn, actor, now, tenant)?;
    // `list` is newest first; a stable sort keeps that order among equals.
    tokens.sort_by(|a, b| {
        let ordering = match sort {
            TokenSort::Created => a.created_at.cmp(&b.created_at).then(a.id.0.cmp(&b.id.0)),
            TokenSort::Name => a.name.to_lowercase().cmp(&b.name.to_lowercase()),
            TokenSort::Expires => a.expires_at.cmp(&b.expires_at),
            // Never used sorts before any use.
            TokenSort::LastUsed => a.last_used_at.cmp(&b.last_used_at),
        };
        if descending {
            ordering.reverse()
        } else {
            ordering
        }
    });
    Ok(tokens)
}

/// Revokes a token of `tenant`: the next call with it is refused, in every server process.
/// Returns its name. Another tenant's token, or one already revoked, is not found.
pub fn revoke(
    conn: &mut DbConnection,
    actor: &Actor,
    now: DateTime<Utc>,
    tenant: TenantId,
    token: ApiTokenId,
) -> Result<String, DomainError> {
    authz::may(actor, Action::ManageApiTokens, &Target::Tenant(tenant))?;
    super::db::transaction(conn, |conn| {
        let name: String = diesel::update(
            api_tokens::table
                .filter(api_tokens::id.eq(token.0))
                .filter(api_tokens::tenant_id.eq(tenant.0))
                .filter(api_tokens::revoked_at.is_null()),
        )
        .set(api_tokens::revoked_at.eq(naive(now)))
        .returning(api_tokens::name)
        .get_result(conn)?;
        audit::record(
            conn,
            actor,
            now,
            Some(tenant),
            "Revoked API token",
            &name,
            "",
        )?;
        Ok(name)
    })
}

/// What a bearer secret is worth.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Authentication {
    /// A live token: the actor its calls act as.
    Valid(Actor),
    /// No token has this secret (or it is not one of ours at all).
    Unknown,
    Expired,
    Revoked,
}

/// Looks the secret's token up by its hash (one indexed read) and says whether it may call the
/// API now; a live token's last use is written at most once a minute. Nothing here is
/// cached, so a revoked token is refused at its next call in every process.
pub fn authenticate(
    conn: &mut DbConnection,
    now: DateTime<Utc>,
    secret: &str,
) -> Result<Authentication, DomainError> {
    if !secret.starts_with(SECRET_PREFIX) {
        return Ok(Authentication::Unknown);
    }
    let Some(record) = api_tokens::table
        .filter(api_tokens::secret_hash.eq(hash_of(secret)))
        .select(TokenRecord::as_select())
        .first(conn)
        .optional()?
    else {
        return Ok(Authentication::Unknown);
    };
    if record.revoked_at.is_some() {
        return Ok(Authentication::Revoked);
    }
    if utc(record.expires_at) <= now {
        return Ok(Authentication::Expired);
    }
    if record
        .last_used_at
        .is_none_or(|used| utc(used) + USED_EVERY <= now)
    {
        // Conditional, so processes seeing the same stale value write it once; and only a
        // note, so a busy database delays it rather than refusing the call.
        let noted = diesel::update(
            api_tokens::table
                .filter(api_tokens::id.eq(record.id))
                .filter(
                    api_tokens::last_used_at
                        .is_null()
                        .or(api_tokens::last_used_at.le(naive(now - USED_EVERY))),
                ),
        )
        .set(api_tokens::last_used_at.eq(naive(now)))
        .execute(conn);
        if let Err(e) = noted {
            tracing::warn!(token = record.id, "could not note the API token's use: {e}");
        }
    }
    Ok(Authentication::Valid(Actor::ApiToken {
        tenant: TenantId(record.tenant_id),
        token: ApiTokenId(record.id),
        scopes: record.scopes()?,
        name: record.name,
    }))
}
