//! The tenant's users as the JSON API reads them (Microsoft Graph's `/users`): by their stored
//! GUID, in id order a page at a time, each with the licenses they hold by `skuId`.

use super::*;
use crate::domain::licenses::AssignedSku;

/// The most users one page of the directory holds (Graph's `$top` limit for users).
pub const DIRECTORY_PAGE_MAX: i64 = 999;

/// A user as the directory shows them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirectoryUser {
    pub id: UserId,
    pub guid: String,
    pub display_name: String,
    pub email: String,
    /// May sign in: not blocked.
    pub enabled: bool,
    pub licenses: Vec<AssignedSku>,
}

/// One page of the directory, and the last user's id to continue after, when more follow.
#[derive(Debug, Clone)]
pub struct DirectoryPage {
    pub users: Vec<DirectoryUser>,
    pub next: Option<UserId>,
}

/// How a caller names one user: by GUID, or by sign-in name (as Graph accepts either).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserKey {
    Guid(String),
    SignInName(String),
}

type DirectoryRow = (i64, String, String, String, UserState);

/// `top` users of `tenant` (not deleted) after the user `after`, in id order: every page costs
/// the same at any depth, and a walk sees each user once.
pub fn directory(
    conn: &mut DbConnection,
    actor: &Actor,
    tenant: TenantId,
    top: i64,
    after: Option<UserId>,
) -> Result<DirectoryPage, DomainError> {
    authz::may(actor, Action::ViewUsers, &Target::Tenant(tenant))?;
    if !(1..=DIRECTORY_PAGE_MAX).contains(&top) {
        return Err(DomainError::invalid(
            "$top",
            format!("$top is from 1 to {DIRECTORY_PAGE_MAX}."),
        ));
    }
    let mut rows: Vec<DirectoryRow> = users::table
        .filter(users::tenant_id.eq(tenant.0))
        .filter(users::state.ne(UserState::Deleted))
        .filter(users::id.gt(after.map_or(0, |u| u.0)))
        .order(users::id)
        .limit(top + 1)
        .select((
            users::id,
            users::guid,
            users::display_name,
            users::email,
            users::state,
        ))
        .load(conn)?;
    let more = rows.len() as i64 > top;
    rows.truncate(top as usize);
    let users = with_licenses(conn, tenant, rows)?;
    let next = if more {
        users.last().map(|u| u.id)
    } else {
        None
    };
    Ok(DirectoryPage { users, next })
}

/// One user of `tenant` (not deleted) by GUID or sign-in name; another tenant's is not found.
pub fn directory_user(
    conn: &mut DbConnection,
    actor: &Actor,
    tenant: TenantId,
    key: &UserKey,
) -> Result<DirectoryUser, DomainError> {
    authz::may(actor, Action::ViewUsers, &Target::Tenant(tenant))?;
    find_directory_user(conn, tenant, key)
}

/// `directory_user` without the permission check: for domain functions that have made their
/// own (assigning licenses names the user the same way).
pub(crate) fn find_directory_user(
    conn: &mut DbConnection,
    tenant: TenantId,
    key: &UserKey,
) -> Result<DirectoryUser, DomainError> {
    let query = users::table
        .filter(users::tenant_id.eq(tenant.0))
        .filter(users::state.ne(UserState::Deleted))
        .select((
            users::id,
            users::guid,
            users::display_name,
            users::email,
            users::state,
        ))
        .into_boxed();
    let query = match key {
        UserKey::Guid(guid) => query.filter(users::guid.eq(guid.to_lowercase())),
        UserKey::SignInName(email) => query.filter(users::email.eq(email.to_lowercase())),
    };
    let row: DirectoryRow = query.first(conn)?;
    with_licenses(conn, tenant, vec![row])?
        .pop()
        .ok_or(DomainError::NotFound)
}

fn with_licenses(
    conn: &mut DbConnection,
    tenant: TenantId,
    rows: Vec<DirectoryRow>,
) -> Result<Vec<DirectoryUser>, DomainError> {
    let ids: Vec<UserId> = rows.iter().map(|r| UserId(r.0)).collect();
    let mut held = licenses::assigned_skus(conn, tenant, &ids)?;
    Ok(rows
        .into_iter()
        .map(|(id, guid, display_name, email, state)| DirectoryUser {
            id: UserId(id),
            licenses: held.remove(&UserId(id)).unwrap_or_default(),
            guid,
            display_name,
            email,
            enabled: state.is_active(),
        })
        .collect())
}
