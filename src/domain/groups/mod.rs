//! Groups: a tenant's sets of users (no nesting, as the design says), and group-based
//! licensing: a product assigned to a group is inherited by its members (licenses/inherited).
//! Members who can't get a seat are listed as errors until reprocessed. Big groups are given
//! their licenses in the background (jobs).

mod apps;
mod directory;
mod jobs;
mod licensing;
mod members;

pub use apps::*;
pub use directory::*;
pub use jobs::*;
pub use licensing::*;
pub use members::*;

use chrono::{DateTime, Utc};
use diesel::dsl::count_star;
use diesel::prelude::*;
use std::collections::BTreeMap;

use super::authz::Target;
use super::licenses::{self, GroupProduct};
use super::schema::{
    group_jobs, group_license_errors, group_licenses, group_members, inherited_licenses, products,
    user_groups, users,
};
use super::{
    Action, Actor, DbConnection, DomainError, GroupId, ProductId, TenantId, UserId, audit, authz,
    naive, text, utc,
};

/// Members given their licenses within the request; a bigger change runs in the background.
pub const IN_REQUEST: usize = 500;

/// A group as Groups lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupRow {
    pub id: GroupId,
    pub name: String,
    pub description: String,
    pub members: i64,
    /// The products assigned to it, by name.
    pub licenses: Vec<String>,
}

/// What a group's page shows above its members.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupDetail {
    pub id: GroupId,
    pub name: String,
    pub description: String,
    pub members: i64,
    pub licenses: Vec<GroupLicense>,
    pub errors: Vec<GroupError>,
    /// The background work, while it runs or when it last finished.
    pub job: Option<JobProgress>,
}

/// A product assigned to a group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupLicense {
    pub product: ProductId,
    pub product_name: String,
    /// Members who hold it through this group.
    pub assigned: i64,
    /// Members it could not be given to.
    pub failed: i64,
    /// The apps it turns off for its members, by name.
    pub apps_off: Vec<String>,
}

/// A member a group could not give a product (Errors & issues).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupError {
    pub user: UserId,
    pub display_name: String,
    pub email: String,
    pub product_name: String,
    pub reason: String,
}

fn name_of(name: &str) -> Result<(String, String), DomainError> {
    let name = text::line(
        "name",
        name,
        1..=256,
        "Enter a group name (up to 256 characters).",
    )?;
    let key = name.to_lowercase();
    Ok((name, key))
}

fn description_of(description: &str) -> Result<String, DomainError> {
    text::line(
        "description",
        description,
        0..=1024,
        "Keep the description to 1,024 characters.",
    )
}

/// The tenant's groups, by name.
pub fn list(
    conn: &mut DbConnection,
    actor: &Actor,
    tenant: TenantId,
) -> Result<Vec<GroupRow>, DomainError> {
    list_sorted(conn, actor, tenant, GroupSort::Name, false)
}

/// What Groups sorts by (its column headers); equal ones by name.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum GroupSort {
    #[default]
    Name,
    Members,
}

/// The tenant's groups in the order asked. A tenant has few groups: the list is whole, not
/// paged, so its length is its total.
pub fn list_sorted(
    conn: &mut DbConnection,
    actor: &Actor,
    tenant: TenantId,
    sort: GroupSort,
    descending: bool,
) -> Result<Vec<GroupRow>, DomainError> {
    authz::may(actor, Action::ViewGroups, &Target::Tenant(tenant))?;
    // The database keeps each group's member count (migration 000010): counting them here
    // would read every membership of the tenant.
    let query = user_groups::table
        .filter(user_groups::tenant_id.eq(tenant.0))
        .into_boxed();
    let query = match (sort, descending) {
        (GroupSort::Name, false) => query.order((user_groups::name_key, user_groups::id)),
        (GroupSort::Name, true) => {
            query.order((user_groups::name_key.desc(), user_groups::id.desc()))
        }
        (GroupSort::Members, false) => query.order((
            user_groups::member_count,
            user_groups::name_key,
            user_groups::id,
        )),
        (GroupSort::Members, true) => query.order((
            user_groups::member_count.desc(),
            user_groups::name_key,
            user_groups::id,
        )),
    };
    let groups: Vec<(i64, String, String, i64)> = query
        .select((
            user_groups::id,
            user_groups::name,
            user_groups::description,
            user_groups::member_count,
        ))
        .load(conn)?;
    let mut licensed: std::collections::BTreeMap<i64, Vec<String>> = Default::default();
    for (group, product) in group_licenses::table
        .inner_join(products::table)
        .filter(group_licenses::tenant_id.eq(tenant.0))
        .order(products::name)
        .select((group_licenses::group_id, products::name))
        .load::<(i64, String)>(conn)?
    {
        licensed.entry(group).or_default().push(product);
    }
    Ok(groups
        .into_iter()
        .map(|(id, name, description, members)| GroupRow {
            id: GroupId(id),
            name,
            description,
            members,
            licenses: licensed.remove(&id).unwrap_or_default(),
        })
        .collect())
}

/// Add a group: a name unique in the tenant (whatever its case) and a description.
pub fn create(
    conn: &mut DbConnection,
    actor: &Actor,
    now: DateTime<Utc>,
    tenant: TenantId,
    name: &str,
    description: &str,
) -> Result<GroupId, DomainError> {
    authz::may(actor, Action::ManageGroups, &Target::Tenant(tenant))?;
    let (name, key) = name_of(name)?;
    let description = description_of(description)?;
    crate::domain::db::transaction(conn, |conn| {
        let taken: i64 = user_groups::table
            .filter(user_groups::tenant_id.eq(tenant.0))
            .filter(user_groups::name_key.eq(&key))
            .count()
            .get_result(conn)?;
        let exists = || {
            DomainError::invalid(
                "name",
                format!("A group named {name} already exists. Choose another name."),
            )
        };
        if taken > 0 {
            return Err(exists());
        }
        // Two adds of one name at once both find it free; the unique key lets one in, and
        // the other hears what it would have heard a moment later.
        let id: i64 = match diesel::insert_into(user_groups::table)
            .values((
                user_groups::tenant_id.eq(tenant.0),
                user_groups::name.eq(&name),
                user_groups::name_key.eq(&key),
                user_groups::description.eq(&description),
                user_groups::created_at.eq(naive(now)),
            ))
            .returning(user_groups::id)
            .get_result(conn)
        {
            Err(diesel::result::Error::DatabaseError(
                diesel::result::DatabaseErrorKind::UniqueViolation,
                _,
            )) => return Err(exists()),
            other => other?,
        };
        audit::record(
            conn,
            actor,
            now,
            Some(tenant),
            "Added group",
            &name,
            &description,
        )?;
        Ok(GroupId(id))
    })
}

/// Rename a group: a name unique in the tenant, as when it was added.
pub fn rename(
    conn: &mut DbConnection,
    actor: &Actor,
    now: DateTime<Utc>,
    tenant: TenantId,
    group: GroupId,
    name: &str,
) -> Result<(), DomainError> {
    authz::may(actor, Action::ManageGroups, &Target::Tenant(tenant))?;
    let (name, key) = name_of(name)?;
    crate::domain::db::transaction(conn, |conn| {
        let before = group_name(conn, tenant, group)?;
        let taken: i64 = user_groups::table
            .filter(user_groups::tenant_id.eq(tenant.0))
            .filter(user_groups::name_key.eq(&key))
            .filter(user_groups::id.ne(group.0))
            .count()
            .get_result(conn)?;
        if taken > 0 {
            return Err(DomainError::invalid(
                "name",
                format!("A group named {name} already exists. Choose another name."),
            ));
        }
        diesel::update(user_groups::table.find(group.0))
            .set((
                user_groups::name.eq(&name),
                user_groups::name_key.eq(&key),
                user_groups::updated_at.eq(Some(naive(now))),
            ))
            .execute(conn)?;
        audit::record(
            conn,
            actor,
            now,
            Some(tenant),
            "Renamed group",
            &before,
            &format!("now {name}"),
        )
    })
}

/// The group's name, checking it belongs to `tenant` (another tenant's is not found).
pub(crate) fn group_name(
    conn: &mut DbConnection,
    tenant: TenantId,
    group: GroupId,
) -> Result<String, DomainError> {
    Ok(user_groups::table
        .filter(user_groups::id.eq(group.0))
        .filter(user_groups::tenant_id.eq(tenant.0))
        .select(user_groups::name)
        .first(conn)?)
}

/// A group's page: its licenses with counts, its errors, its background work.
pub fn detail(
    conn: &mut DbConnection,
    actor: &Actor,
    tenant: TenantId,
    group: GroupId,
) -> Result<GroupDetail, DomainError> {
    authz::may(actor, Action::ViewGroups, &Target::Tenant(tenant))?;
    // The member count the database keeps: counting a group of 100,000 on every view of its
    // page took half the page's time (issue 13's benchmark).
    let (name, description, members): (String, String, i64) = user_groups::table
        .filter(user_groups::id.eq(group.0))
        .filter(user_groups::tenant_id.eq(tenant.0))
        .select((
            user_groups::name,
            user_groups::description,
            user_groups::member_count,
        ))
        .first(conn)?;
    let products_of: Vec<(i64, String)> = group_licenses::table
        .inner_join(products::table)
        .filter(group_licenses::group_id.eq(group.0))
        .order(products::name)
        .select((products::id, products::name))
        .load(conn)?;
    // One query for each count, whatever the number of products.
    let assigned: BTreeMap<i64, i64> = inherited_licenses::table
        .filter(inherited_licenses::group_id.eq(group.0))
        .group_by(inherited_licenses::product_id)
        .select((inherited_licenses::product_id, count_star()))
        .load::<(i64, i64)>(conn)?
        .into_iter()
        .collect();
    let failed: BTreeMap<i64, i64> = group_license_errors::table
        .filter(group_license_errors::group_id.eq(group.0))
        .group_by(group_license_errors::product_id)
        .select((group_license_errors::product_id, count_star()))
        .load::<(i64, i64)>(conn)?
        .into_iter()
        .collect();
    let mut apps_off = apps_turned_off_by(conn, group)?;
    let licenses = products_of
        .into_iter()
        .map(|(product, product_name)| GroupLicense {
            product: ProductId(product),
            product_name,
            assigned: assigned.get(&product).copied().unwrap_or(0),
            failed: failed.get(&product).copied().unwrap_or(0),
            apps_off: apps_off.remove(&product).unwrap_or_default(),
        })
        .collect();
    let errors = group_license_errors::table
        .inner_join(users::table)
        .inner_join(products::table)
        .filter(group_license_errors::group_id.eq(group.0))
        .order((users::name_key, users::id, products::name))
        .limit(200)
        .select((
            users::id,
            users::display_name,
            users::email,
            products::name,
            group_license_errors::reason,
        ))
        .load::<(i64, String, String, String, String)>(conn)?
        .into_iter()
        .map(
            |(id, display_name, email, product_name, reason)| GroupError {
                user: UserId(id),
                display_name,
                email,
                product_name,
                reason,
            },
        )
        .collect();
    Ok(GroupDetail {
        id: group,
        name,
        description,
        members,
        licenses,
        errors,
        job: jobs::progress(conn, group)?,
    })
}

/// Delete group: refused while it carries licenses (unassign them first, so nobody loses a
/// license by surprise). Its members stay users.
pub fn delete(
    conn: &mut DbConnection,
    actor: &Actor,
    now: DateTime<Utc>,
    tenant: TenantId,
    group: GroupId,
) -> Result<(), DomainError> {
    authz::may(actor, Action::ManageGroups, &Target::Tenant(tenant))?;
    crate::domain::db::transaction(conn, |conn| {
        licenses::lock(conn, tenant)?;
        let name = group_name(conn, tenant, group)?;
        let carried: Vec<String> = group_licenses::table
            .inner_join(products::table)
            .filter(group_licenses::group_id.eq(group.0))
            .order(products::name)
            .select(products::name)
            .load(conn)?;
        if !carried.is_empty() {
            return Err(DomainError::Conflict(format!(
                "{name} can't be deleted while it carries licenses ({}). Unassign them from the group first.",
                carried.join(", ")
            )));
        }
        diesel::delete(
            group_license_errors::table.filter(group_license_errors::group_id.eq(group.0)),
        )
        .execute(conn)?;
        diesel::delete(inherited_licenses::table.filter(inherited_licenses::group_id.eq(group.0)))
            .execute(conn)?;
        diesel::delete(group_jobs::table.filter(group_jobs::group_id.eq(group.0))).execute(conn)?;
        let members =
            diesel::delete(group_members::table.filter(group_members::group_id.eq(group.0)))
                .execute(conn)?;
        diesel::delete(user_groups::table.find(group.0)).execute(conn)?;
        audit::record(
            conn,
            actor,
            now,
            Some(tenant),
            "Deleted group",
            &name,
            &format!("{members} members"),
        )
    })
}

/// The groups `user` is a member of, by name (the user's page).
pub fn of_user(
    conn: &mut DbConnection,
    actor: &Actor,
    tenant: TenantId,
    user: UserId,
) -> Result<Vec<(GroupId, String)>, DomainError> {
    authz::may(actor, Action::ViewUsers, &Target::Tenant(tenant))?;
    Ok(group_members::table
        .inner_join(user_groups::table)
        .filter(group_members::user_id.eq(user.0))
        .filter(group_members::tenant_id.eq(tenant.0))
        .order(user_groups::name_key)
        .select((user_groups::id, user_groups::name))
        .load::<(i64, String)>(conn)?
        .into_iter()
        .map(|(id, name)| (GroupId(id), name))
        .collect())
}

/// The products assigned to `group`, with their names.
pub(crate) fn products_of(
    conn: &mut DbConnection,
    group: GroupId,
) -> Result<Vec<(ProductId, String)>, DomainError> {
    Ok(group_licenses::table
        .inner_join(products::table)
        .filter(group_licenses::group_id.eq(group.0))
        .order(products::id)
        .select((products::id, products::name))
        .load::<(i64, String)>(conn)?
        .into_iter()
        .map(|(id, name)| (ProductId(id), name))
        .collect())
}

/// Gives every product of `group` to `members`, under the tenant's license lock.
pub(crate) fn give_group_licenses(
    conn: &mut DbConnection,
    actor: &Actor,
    now: DateTime<Utc>,
    tenant: TenantId,
    group: GroupId,
    group_name: &str,
    members: &[UserId],
) -> Result<licenses::Given, DomainError> {
    let mut total = licenses::Given::default();
    for (product, product_name) in products_of(conn, group)? {
        let gp = GroupProduct {
            group,
            group_name,
            product,
            product_name: &product_name,
        };
        let given = licenses::give_inherited(conn, actor, now, tenant, &gp, members)?;
        total.assigned += given.assigned;
        total.already += given.already;
        total.failed += given.failed;
    }
    Ok(total)
}

/// Gives back, on restore, what `user`'s groups give: called under the license lock.
pub(crate) fn rejoin(
    conn: &mut DbConnection,
    actor: &Actor,
    now: DateTime<Utc>,
    tenant: TenantId,
    user: UserId,
) -> Result<licenses::Given, DomainError> {
    let groups: Vec<(i64, String)> = group_members::table
        .inner_join(user_groups::table)
        .filter(group_members::user_id.eq(user.0))
        .select((user_groups::id, user_groups::name))
        .load(conn)?;
    let mut total = licenses::Given::default();
    for (group, name) in groups {
        let given = give_group_licenses(conn, actor, now, tenant, GroupId(group), &name, &[user])?;
        total.assigned += given.assigned;
        total.failed += given.failed;
    }
    Ok(total)
}

/// Forgets what `user`'s groups gave them (the user is being deleted: their seats are freed by
/// the caller). Their memberships stay, for a restore.
pub(crate) fn forget_inherited(conn: &mut DbConnection, user: UserId) -> Result<(), DomainError> {
    diesel::delete(inherited_licenses::table.filter(inherited_licenses::user_id.eq(user.0)))
        .execute(conn)?;
    diesel::delete(group_license_errors::table.filter(group_license_errors::user_id.eq(user.0)))
        .execute(conn)?;
    Ok(())
}

/// A purged user leaves every group.
pub(crate) fn leave_all(conn: &mut DbConnection, user: UserId) -> Result<(), DomainError> {
    forget_inherited(conn, user)?;
    diesel::delete(group_members::table.filter(group_members::user_id.eq(user.0))).execute(conn)?;
    Ok(())
}
