//! The tenant's users as the JSON API reads them (Microsoft Graph's `/users`): by their stored
//! GUID, in id order a page at a time, each with the licenses they hold by `skuId`.

use super::*;
use crate::domain::licenses::AssignedSku;
use crate::domain::schema::license_pools;

/// The most users one page of the directory holds (Graph's `$top` limit for users).
pub const DIRECTORY_PAGE_MAX: i64 = 999;
/// A license's holders (or a group's members) read at a time when the directory is filtered
/// by a license (or a group).
const HOLDERS_BATCH: i64 = 1000;

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
/// A row of a filtered listing: a directory row and the name key it may be ordered by.
type ListedRow = (i64, String, String, String, UserState, String);

/// One condition of a directory listing (Graph's `$filter` forms the API reads); a listing
/// holds the users that meet all of them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DirectoryFilter {
    /// `assignedLicenses/any(x:x/skuId eq {skuId})`: holds the license of the pool with this
    /// GUID (directly or through a group). An unknown `skuId` holds nobody.
    HasLicense(String),
    /// `startswith(displayName,'…')`: the display name starts with this, in any case.
    DisplayNameStartsWith(String),
    /// `userPrincipalName eq '…'`: the sign-in name is this, in any case.
    SignInName(String),
    /// `accountEnabled eq true|false`: may sign in (`true`) or is blocked.
    AccountEnabled(bool),
    /// A member of the group (a group's `members`).
    MemberOf(GroupId),
}

/// Where the next page of a listing starts: after this user, in the listing's order. A listing
/// with `DisplayNameStartsWith` is walked by name (its index), so its cursor has the name key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirectoryCursor {
    pub id: UserId,
    pub name_key: Option<String>,
}

/// One page of a filtered listing, and where the next one starts when more follow.
#[derive(Debug, Clone)]
pub struct FilteredPage {
    pub users: Vec<DirectoryUser>,
    pub next: Option<DirectoryCursor>,
}

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
    let after = after.map(|id| DirectoryCursor { id, name_key: None });
    let page = filtered(conn, tenant, &[], top, after)?;
    Ok(DirectoryPage {
        users: page.users,
        next: page.next.map(|c| c.id),
    })
}

/// `top` users of `tenant` (not deleted) meeting every one of `filters`, after `after`: in id
/// order, or in name order when one filter is on the name. Each filter is read from an index,
/// so a page costs the same at any depth.
pub fn directory_filtered(
    conn: &mut DbConnection,
    actor: &Actor,
    tenant: TenantId,
    filters: &[DirectoryFilter],
    top: i64,
    after: Option<DirectoryCursor>,
) -> Result<FilteredPage, DomainError> {
    authz::may(actor, Action::ViewUsers, &Target::Tenant(tenant))?;
    filtered(conn, tenant, filters, top, after)
}

/// The listing, for callers that have checked who may see it (a group's members).
pub(crate) fn filtered(
    conn: &mut DbConnection,
    tenant: TenantId,
    filters: &[DirectoryFilter],
    top: i64,
    after: Option<DirectoryCursor>,
) -> Result<FilteredPage, DomainError> {
    if !(1..=DIRECTORY_PAGE_MAX).contains(&top) {
        return Err(DomainError::invalid(
            "$top",
            format!("$top is from 1 to {DIRECTORY_PAGE_MAX}."),
        ));
    }
    let by_name = filters
        .iter()
        .any(|f| matches!(f, DirectoryFilter::DisplayNameStartsWith(_)));
    // The text each filter compares, checked once; a license by its product.
    let mut products: Vec<i64> = Vec::new();
    let mut texts: Vec<String> = Vec::new();
    for filter in filters {
        match filter {
            DirectoryFilter::HasLicense(sku) => {
                let product: Option<i64> = license_pools::table
                    .filter(license_pools::tenant_id.eq(tenant.0))
                    .filter(
                        license_pools::sku_id
                            .eq(crate::domain::text::search("$filter", sku)?.to_ascii_lowercase()),
                    )
                    .select(license_pools::product_id)
                    .first(conn)
                    .optional()?;
                let Some(product) = product else {
                    // A license the tenant has no pool of: nobody holds it.
                    return Ok(FilteredPage {
                        users: Vec::new(),
                        next: None,
                    });
                };
                products.push(product);
            }
            DirectoryFilter::DisplayNameStartsWith(text) | DirectoryFilter::SignInName(text) => {
                texts.push(crate::domain::text::search("$filter", text)?.to_lowercase());
            }
            DirectoryFilter::AccountEnabled(_) | DirectoryFilter::MemberOf(_) => {}
        }
    }
    match (by_name, &after) {
        (_, None)
        | (
            true,
            Some(DirectoryCursor {
                name_key: Some(_), ..
            }),
        )
        | (false, Some(DirectoryCursor { name_key: None, .. })) => {}
        _ => {
            return Err(DomainError::invalid(
                "$skiptoken",
                "The $skiptoken belongs to another listing.",
            ));
        }
    }
    // Up to `limit` users meeting the filters after the cursor, in the listing's order; with
    // `holders`, only among those users (a batch of a license's holders or a group's members).
    let page = |conn: &mut DbConnection,
                holders: Option<&[i64]>,
                limit: i64|
     -> Result<Vec<ListedRow>, DomainError> {
        let mut query = users::table
            .filter(users::tenant_id.eq(tenant.0))
            .filter(users::state.ne(UserState::Deleted))
            .select((
                users::id,
                users::guid,
                users::display_name,
                users::email,
                users::state,
                users::name_key,
            ))
            .into_boxed();
        let mut text = texts.iter();
        for filter in filters {
            query = match filter {
                // Below, by product.
                DirectoryFilter::HasLicense(_) => query,
                DirectoryFilter::DisplayNameStartsWith(_) => {
                    let low = text.next().cloned().unwrap_or_default();
                    let high = format!("{low}\u{10ffff}");
                    query.filter(users::name_key.ge(low).and(users::name_key.lt(high)))
                }
                DirectoryFilter::SignInName(_) => {
                    query.filter(users::email.eq(text.next().cloned().unwrap_or_default()))
                }
                DirectoryFilter::AccountEnabled(enabled) => {
                    query.filter(users::state.eq(if *enabled {
                        UserState::Active
                    } else {
                        UserState::Blocked
                    }))
                }
                DirectoryFilter::MemberOf(group) => query.filter(
                    users::id.eq_any(
                        group_members::table
                            .filter(group_members::group_id.eq(group.0))
                            .select(group_members::user_id),
                    ),
                ),
            };
        }
        for product in &products {
            query = query.filter(
                users::id.eq_any(
                    license_assignments::table
                        .filter(license_assignments::tenant_id.eq(tenant.0))
                        .filter(license_assignments::product_id.eq(*product))
                        .select(license_assignments::user_id),
                ),
            );
        }
        if let Some(ids) = holders {
            query = query.filter(users::id.eq_any(ids.to_vec()));
        }
        query = match &after {
            Some(DirectoryCursor {
                id,
                name_key: Some(key),
            }) => query.filter(users::name_key.ge(key.clone())).filter(
                users::name_key
                    .gt(key.clone())
                    .or(users::name_key.eq(key.clone()).and(users::id.gt(id.0))),
            ),
            Some(DirectoryCursor { id, name_key: None }) => query.filter(users::id.gt(id.0)),
            None => query,
        };
        query = if by_name {
            query.order((users::name_key, users::id))
        } else {
            query.order(users::id)
        };
        Ok(query.limit(limit).load(conn)?)
    };
    let group = filters.iter().find_map(|f| match f {
        DirectoryFilter::MemberOf(group) => Some(*group),
        _ => None,
    });
    let mut rows = if by_name || (products.is_empty() && group.is_none()) {
        page(conn, None, top + 1)?
    } else {
        // A license's holders (or a group's members) are walked in id order from their own
        // index, a batch at a time, and the filters applied to each batch: a page costs what
        // its holders do, not the tenant's users between them (a product few hold, or a small
        // group, in a tenant of a million).
        let mut rows = Vec::new();
        let mut from = after.as_ref().map_or(0, |c| c.id.0);
        loop {
            let batch: Vec<i64> = match (products.first(), group) {
                (Some(product), _) => license_assignments::table
                    .filter(license_assignments::tenant_id.eq(tenant.0))
                    .filter(license_assignments::product_id.eq(*product))
                    .filter(license_assignments::user_id.gt(from))
                    .order(license_assignments::user_id)
                    .limit(HOLDERS_BATCH)
                    .select(license_assignments::user_id)
                    .load(conn)?,
                (None, Some(group)) => group_members::table
                    .filter(group_members::group_id.eq(group.0))
                    .filter(group_members::user_id.gt(from))
                    .order(group_members::user_id)
                    .limit(HOLDERS_BATCH)
                    .select(group_members::user_id)
                    .load(conn)?,
                (None, None) => Vec::new(),
            };
            let Some(last) = batch.last().copied() else {
                break;
            };
            from = last;
            rows.extend(page(conn, Some(&batch), top + 1 - rows.len() as i64)?);
            if rows.len() as i64 > top || (batch.len() as i64) < HOLDERS_BATCH {
                break;
            }
        }
        rows
    };
    let more = rows.len() as i64 > top;
    rows.truncate(top as usize);
    let next = if more {
        rows.last().map(|r| DirectoryCursor {
            id: UserId(r.0),
            name_key: by_name.then(|| r.5.clone()),
        })
    } else {
        None
    };
    let rows = rows
        .into_iter()
        .map(|(id, guid, name, email, state, _)| (id, guid, name, email, state))
        .collect();
    Ok(FilteredPage {
        users: with_licenses(conn, tenant, rows)?,
        next,
    })
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
    // No GUID or sign-in name holds a control character (and PostgreSQL refuses a NUL).
    let (UserKey::Guid(text) | UserKey::SignInName(text)) = key;
    crate::domain::text::search("id", text).map_err(|_| DomainError::NotFound)?;
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
