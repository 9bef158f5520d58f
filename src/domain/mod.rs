//! The rules and the storage of allot. Nothing here knows of HTTP or templates.
//!
//! Every public function takes the connection, the actor, the time and typed ids, asks
//! `authz::may` first, and makes each change in one transaction. Areas that grew are folders
//! split along their sections: `licenses`, `users`, `subscriptions`, `service_requests`,
//! `agreements`, `backup`.

pub mod accounts;
pub mod agreements;
pub mod api_tokens;
pub mod audit;
pub mod authz;
pub mod backup;
pub mod billing;
pub mod clock;
pub mod db;
pub mod demo;
pub mod groups;
pub mod home;
pub mod licenses;
pub mod messages;
pub mod notifications;
pub mod outbox;
pub mod passwords;
pub mod portal;
pub mod provisioning;
pub mod schema;
pub mod service_requests;
pub mod sessions;
pub mod signin;
pub mod subscriptions;
pub mod tenants;
pub mod text;
pub mod text_enum;
pub mod users;

use std::fmt;

pub use authz::{Action, Role, Scope, StaffRole};
pub use clock::Clock;
pub use db::{DbConnection, Pool};

macro_rules! id_type {
    ($($(#[$doc:meta])* $name:ident),* $(,)?) => {$(
        $(#[$doc])*
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize,
            serde::Deserialize, diesel::expression::AsExpression, diesel::deserialize::FromSqlRow,
        )]
        #[serde(transparent)]
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        pub struct $name(pub i64);

        /// Stored as its number, on every backend.
        impl<DB> diesel::serialize::ToSql<diesel::sql_types::BigInt, DB> for $name
        where
            DB: diesel::backend::Backend,
            i64: diesel::serialize::ToSql<diesel::sql_types::BigInt, DB>,
        {
            fn to_sql<'b>(
                &'b self,
                out: &mut diesel::serialize::Output<'b, '_, DB>,
            ) -> diesel::serialize::Result {
                <i64 as diesel::serialize::ToSql<diesel::sql_types::BigInt, DB>>::to_sql(&self.0, out)
            }
        }

        impl<DB> diesel::deserialize::FromSql<diesel::sql_types::BigInt, DB> for $name
        where
            DB: diesel::backend::Backend,
            i64: diesel::deserialize::FromSql<diesel::sql_types::BigInt, DB>,
        {
            fn from_sql(bytes: DB::RawValue<'_>) -> diesel::deserialize::Result<Self> {
                <i64 as diesel::deserialize::FromSql<diesel::sql_types::BigInt, DB>>::from_sql(bytes)
                    .map($name)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }
    )*};
}

id_type!(
    /// A customer organization.
    TenantId,
    /// A person of a tenant: an admin or an end user.
    UserId,
    /// A member of the provider's staff (billing support, partner).
    StaffId,
    /// A product (a SKU).
    ProductId,
    /// An app (service plan) of a product: a mailbox, file storage, chat.
    ServiceId,
    /// A subscription of one tenant to one product.
    SubscriptionId,
    /// A tenant's service request; its number on every page and email.
    ServiceRequestId,
    /// A tenant's card on file.
    PaymentMethodId,
    /// A bill of a tenant (its number is what people see).
    BillId,
    /// A volume licensing agreement.
    AgreementId,
    /// A tenant's group of users.
    GroupId,
    /// A tenant's API token (Settings > API access).
    ApiTokenId,
);

/// Who is acting. Every domain function that reads or changes a tenant's data takes one,
/// and `authz::may` decides from it alone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    /// A tenant admin holding one or more admin roles in their tenant.
    Admin {
        user: UserId,
        tenant: TenantId,
        email: String,
        roles: Vec<Role>,
    },
    /// A member of the provider's staff.
    Staff {
        staff: StaffId,
        email: String,
        role: StaffRole,
    },
    /// An end user in the service portal.
    EndUser {
        user: UserId,
        tenant: TenantId,
        email: String,
    },
    /// An API token of a tenant, calling `/api/v1`: it may do what its scopes grant, and no
    /// more than the admin role each scope stands for (`authz::may`).
    ApiToken {
        tenant: TenantId,
        token: ApiTokenId,
        name: String,
        scopes: Vec<Scope>,
    },
    /// The command line or a scheduled job.
    System(&'static str),
}

impl Actor {
    /// How the audit log names this actor.
    pub fn label(&self) -> String {
        match self {
            Actor::Admin { email, .. }
            | Actor::Staff { email, .. }
            | Actor::EndUser { email, .. } => email.clone(),
            Actor::ApiToken { name, .. } => format!("API token '{name}'"),
            Actor::System(what) => format!("system ({what})"),
        }
    }

    pub fn tenant(&self) -> Option<TenantId> {
        match self {
            Actor::Admin { tenant, .. }
            | Actor::EndUser { tenant, .. }
            | Actor::ApiToken { tenant, .. } => Some(*tenant),
            Actor::Staff { .. } | Actor::System(_) => None,
        }
    }
}

/// What went wrong, in the words a user needs to hear.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum DomainError {
    #[error("You don't have permission to do this.")]
    Forbidden,
    /// Forbidden, with the rule that forbids it.
    #[error("{0}")]
    Refused(String),
    #[error("We couldn't find what you were looking for.")]
    NotFound,
    #[error("{message}")]
    Invalid {
        field: &'static str,
        message: String,
    },
    #[error("{0}")]
    Conflict(String),
    #[error("Only {available} licenses are available.")]
    NoLicensesLeft { available: i64 },
    /// A change asked on a version that is no longer the current one (SCIM's `If-Match`).
    #[error("It has changed since you read it. Read it again, then make your change.")]
    Stale,
    /// The database failed in a way the person cannot fix; the cause is logged, not shown.
    #[error("The database could not complete the request.")]
    Storage(StorageError),
    /// The database is busy (SQLite busy or locked, a PostgreSQL serialization failure or lock
    /// timeout) or no connection was free in time. Nothing was changed; trying again helps.
    #[error("allot is busy right now. Nothing was changed; try again in a moment.")]
    Busy,
}

impl DomainError {
    pub fn invalid(field: &'static str, message: impl Into<String>) -> Self {
        DomainError::Invalid {
            field,
            message: message.into(),
        }
    }

    /// A storage failure that is not the database's own error (a password that cannot be hashed).
    pub fn storage(message: impl Into<String>) -> Self {
        DomainError::Storage(StorageError::Other(message.into().into()))
    }
}

/// Why storage failed, kept with its type so callers can tell kinds apart (a unique key, a
/// check constraint) without reading messages. Shared, so `DomainError` stays `Clone`.
#[derive(Debug, Clone, thiserror::Error)]
pub enum StorageError {
    #[error("{0}")]
    Database(std::sync::Arc<diesel::result::Error>),
    #[error("{0}")]
    Other(std::sync::Arc<str>),
}

impl StorageError {
    /// The database's kind of error (unique violation, check violation…), when it has one.
    pub fn kind(&self) -> Option<diesel::result::DatabaseErrorKind> {
        match self {
            StorageError::Database(e) => match e.as_ref() {
                diesel::result::Error::DatabaseError(kind, _) => Some(*kind),
                _ => None,
            },
            StorageError::Other(_) => None,
        }
    }
}

/// Equal when of the same kind: diesel's errors do not compare, and tests ask "which kind".
impl PartialEq for StorageError {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (StorageError::Database(a), StorageError::Database(b)) => {
                std::mem::discriminant(a.as_ref()) == std::mem::discriminant(b.as_ref())
                    && self.kind() == other.kind()
            }
            (StorageError::Other(a), StorageError::Other(b)) => a == b,
            _ => false,
        }
    }
}

impl Eq for StorageError {}

impl From<diesel::result::Error> for DomainError {
    fn from(e: diesel::result::Error) -> Self {
        match e {
            diesel::result::Error::NotFound => DomainError::NotFound,
            other if db::is_busy(&other) => DomainError::Busy,
            other => DomainError::Storage(StorageError::Database(std::sync::Arc::new(other))),
        }
    }
}

/// `Pool::get` fails only when no connection came free within the pool's timeout: busy.
impl From<diesel::r2d2::PoolError> for DomainError {
    fn from(e: diesel::r2d2::PoolError) -> Self {
        tracing::warn!("no database connection came free in time: {e}");
        DomainError::Busy
    }
}

/// Timestamps are stored as UTC without an offset on both backends.
pub(crate) fn naive(t: chrono::DateTime<chrono::Utc>) -> chrono::NaiveDateTime {
    t.naive_utc()
}

pub(crate) fn utc(t: chrono::NaiveDateTime) -> chrono::DateTime<chrono::Utc> {
    t.and_utc()
}
