//! Directory provisioning (SCIM 2.0, RFC 7643/7644): an identity provider creates, finds,
//! changes, deactivates and deletes the tenant's users and groups. The same rules as the pages
//! (`users::set_blocked`, `users::delete`, `groups::add_members`…), through `authz::may`, under
//! the tenant's license lock, with the audit log; what SCIM adds is here: its attributes
//! (`externalId`, `name`, a work email), its filters (`filter`, `query`) and versions for
//! `If-Match` (kept by the database: migration 000012).

pub mod filter;
mod groups;
mod query;
mod users;

pub use groups::*;
pub use query::Unsupported;
pub use users::*;

use chrono::{DateTime, Utc};

use super::{Action, Actor, DomainError, TenantId, authz};

/// The most resources one page of a list holds (SCIM's `count`).
pub const PAGE_MAX: i64 = 1000;

/// One page of a list: `total` matches in all, `start` (1-based) the first one shown.
#[derive(Debug, Clone)]
pub struct Listed<T> {
    pub total: i64,
    pub start: i64,
    pub resources: Vec<T>,
}

/// Which page of a list: SCIM's `startIndex` (from 1) and `count` (0 asks only the total).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub start: i64,
    pub count: i64,
}

impl Window {
    /// RFC 7644 §3.4.2.4: a `startIndex` below 1 is 1; a negative `count` is 0; a `count` above
    /// the most a page holds is that most.
    pub fn new(start: Option<i64>, count: Option<i64>) -> Window {
        Window {
            start: start.unwrap_or(1).max(1),
            count: count.unwrap_or(100).clamp(0, PAGE_MAX),
        }
    }
}

/// The resource's creation, last change and version, as SCIM's `meta` says them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Meta {
    pub created: DateTime<Utc>,
    pub last_modified: DateTime<Utc>,
    pub version: i64,
}

/// The door: a SCIM client must hold a token with the `scim` scope, whatever else it may do.
pub fn may_provision(actor: &Actor, tenant: TenantId) -> Result<(), DomainError> {
    authz::may(actor, Action::Provision, &authz::Target::Tenant(tenant))
}

/// A change made on a version the client has not seen (`If-Match` names an older one).
fn check_version(expected: Option<i64>, current: i64) -> Result<(), DomainError> {
    match expected {
        Some(version) if version != current => Err(DomainError::Stale),
        _ => Ok(()),
    }
}
