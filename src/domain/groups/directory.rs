//! The tenant's groups as the JSON API reads and changes them (Microsoft Graph's `/groups`):
//! by their stored GUID, in id order a page at a time, each with the licenses it carries by
//! `skuId`. Thin doors to the functions of the Groups pages, keyed by GUID.

use super::*;
use crate::domain::ServiceId;
use crate::domain::licenses::{AssignedSku, LicenseToAdd, products_of_skus, service_plan_id};
use crate::domain::schema::{group_apps_turned_off, product_services};
use crate::domain::users::{
    self, DirectoryCursor, DirectoryFilter, FilteredPage, UserKey, find_directory_user,
};

/// The most groups (or members) one page holds, as Graph's `$top`.
pub const GROUP_PAGE_MAX: i64 = 999;

/// A group as the directory shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirectoryGroup {
    pub id: GroupId,
    pub guid: String,
    pub display_name: String,
    pub description: String,
    pub created_at: DateTime<Utc>,
    /// The licenses it carries, with the apps it turns off in each.
    pub licenses: Vec<AssignedSku>,
}

/// One page of groups, and the last group's id to continue after, when more follow.
#[derive(Debug, Clone)]
pub struct GroupPage {
    pub groups: Vec<DirectoryGroup>,
    pub next: Option<GroupId>,
}

type GroupRecord = (i64, String, String, String, chrono::NaiveDateTime);

/// `top` groups of `tenant` after the group `after`, in id order.
pub fn directory(
    conn: &mut DbConnection,
    actor: &Actor,
    tenant: TenantId,
    top: i64,
    after: Option<GroupId>,
) -> Result<GroupPage, DomainError> {
    authz::may(actor, Action::ViewGroups, &Target::Tenant(tenant))?;
    if !(1..=GROUP_PAGE_MAX).contains(&top) {
        return Err(DomainError::invalid(
            "$top",
            format!("$top is from 1 to {GROUP_PAGE_MAX}."),
        ));
    }
    let mut rows: Vec<GroupRecord> = user_groups::table
        .filter(user_groups::tenant_id.eq(tenant.0))
        .filter(user_groups::id.gt(after.map_or(0, |g| g.0)))
        .order(user_groups::id)
        .limit(top + 1)
        .select((
            user_groups::id,
            user_groups::guid,
            user_groups::name,
            user_groups::description,
            user_groups::created_at,
        ))
        .load(conn)?;
    let more = rows.len() as i64 > top;
    rows.truncate(top as usize);
    let groups = with_licenses(conn, tenant, rows)?;
    let next = if more {
        groups.last().map(|g| g.id)
    } else {
        None
    };
    Ok(GroupPage { groups, next })
}

/// One group of `tenant` by its GUID; another tenant's, or an id that is no GUID, is not found.
pub fn directory_group(
    conn: &mut DbConnection,
    actor: &Actor,
    tenant: TenantId,
    guid: &str,
) -> Result<DirectoryGroup, DomainError> {
    authz::may(actor, Action::ViewGroups, &Target::Tenant(tenant))?;
    let group = find_group(conn, tenant, guid)?;
    load_group(conn, tenant, group)
}

/// The group of `tenant` with this GUID.
pub(crate) fn find_group(
    conn: &mut DbConnection,
    tenant: TenantId,
    guid: &str,
) -> Result<GroupId, DomainError> {
    let guid = uuid::Uuid::parse_str(guid.trim())
        .map_err(|_| DomainError::NotFound)?
        .hyphenated()
        .to_string();
    Ok(GroupId(
        user_groups::table
            .filter(user_groups::tenant_id.eq(tenant.0))
            .filter(user_groups::guid.eq(guid))
            .select(user_groups::id)
            .first(conn)?,
    ))
}

fn load_group(
    conn: &mut DbConnection,
    tenant: TenantId,
    group: GroupId,
) -> Result<DirectoryGroup, DomainError> {
    let row: GroupRecord = user_groups::table
        .filter(user_groups::tenant_id.eq(tenant.0))
        .filter(user_groups::id.eq(group.0))
        .select((
            user_groups::id,
            user_groups::guid,
            user_groups::name,
            user_groups::description,
            user_groups::created_at,
        ))
        .first(conn)?;
    with_licenses(conn, tenant, vec![row])?
        .pop()
        .ok_or(DomainError::NotFound)
}

fn with_licenses(
    conn: &mut DbConnection,
    tenant: TenantId,
    rows: Vec<GroupRecord>,
) -> Result<Vec<DirectoryGroup>, DomainError> {
    let ids: Vec<i64> = rows.iter().map(|r| r.0).collect();
    let carried: Vec<(i64, i64)> = group_licenses::table
        .filter(group_licenses::tenant_id.eq(tenant.0))
        .filter(group_licenses::group_id.eq_any(&ids))
        .order((group_licenses::group_id, group_licenses::product_id))
        .select((group_licenses::group_id, group_licenses::product_id))
        .load(conn)?;
    let off: Vec<(i64, i64, String, String)> = group_apps_turned_off::table
        .inner_join(product_services::table)
        .inner_join(products::table.on(products::id.eq(group_apps_turned_off::product_id)))
        .filter(group_apps_turned_off::group_id.eq_any(&ids))
        .select((
            group_apps_turned_off::group_id,
            group_apps_turned_off::product_id,
            products::code,
            product_services::name,
        ))
        .load(conn)?;
    let mut products: Vec<ProductId> = carried.iter().map(|(_, p)| ProductId(*p)).collect();
    products.sort();
    products.dedup();
    let skus = licenses::pool_ids(conn, tenant, &products)?;
    let mut held: BTreeMap<i64, Vec<AssignedSku>> = BTreeMap::new();
    for (group, product) in carried {
        let mut disabled_plans: Vec<String> = off
            .iter()
            .filter(|(g, p, _, _)| *g == group && *p == product)
            .map(|(_, _, code, service)| service_plan_id(code, service))
            .collect();
        disabled_plans.sort();
        held.entry(group).or_default().push(AssignedSku {
            sku_id: skus.get(&ProductId(product)).cloned().unwrap_or_default(),
            disabled_plans,
        });
    }
    Ok(rows
        .into_iter()
        .map(
            |(id, guid, display_name, description, created_at)| DirectoryGroup {
                id: GroupId(id),
                licenses: held.remove(&id).unwrap_or_default(),
                guid,
                display_name,
                description,
                created_at: utc(created_at),
            },
        )
        .collect())
}

/// One page of the group's members (users, not deleted), in id order after `after`.
pub fn directory_members(
    conn: &mut DbConnection,
    actor: &Actor,
    tenant: TenantId,
    guid: &str,
    top: i64,
    after: Option<UserId>,
) -> Result<FilteredPage, DomainError> {
    authz::may(actor, Action::ViewGroups, &Target::Tenant(tenant))?;
    let group = find_group(conn, tenant, guid)?;
    users::filtered(
        conn,
        tenant,
        &[DirectoryFilter::MemberOf(group)],
        top,
        after.map(|id| DirectoryCursor { id, name_key: None }),
    )
}

/// Adds the user to the group (Graph's `members/$ref`), giving them the group's licenses as
/// Add members does. A user already a member stays one; another tenant's user or group is not
/// found.
pub fn add_member(
    conn: &mut DbConnection,
    actor: &Actor,
    now: DateTime<Utc>,
    tenant: TenantId,
    guid: &str,
    user: &UserKey,
) -> Result<MembersAdded, DomainError> {
    authz::may(actor, Action::ManageGroups, &Target::Tenant(tenant))?;
    crate::domain::db::transaction(conn, |conn| {
        let group = find_group(conn, tenant, guid)?;
        let who = find_directory_user(conn, tenant, user)?.id;
        add_members(conn, actor, now, tenant, group, &[who])
    })
}

/// Removes the user from the group: they lose what only this group gave them, with the data
/// hold. A user who is not a member is not found.
pub fn remove_member(
    conn: &mut DbConnection,
    actor: &Actor,
    now: DateTime<Utc>,
    tenant: TenantId,
    guid: &str,
    user: &UserKey,
) -> Result<MembersRemoved, DomainError> {
    authz::may(actor, Action::ManageGroups, &Target::Tenant(tenant))?;
    crate::domain::db::transaction(conn, |conn| {
        let group = find_group(conn, tenant, guid)?;
        let who = find_directory_user(conn, tenant, user)?.id;
        remove_members(conn, actor, now, tenant, group, &[who])
    })
}

/// Adds a group (Graph's `POST /groups`) and returns it as the directory shows it.
pub fn create_directory_group(
    conn: &mut DbConnection,
    actor: &Actor,
    now: DateTime<Utc>,
    tenant: TenantId,
    name: &str,
    description: &str,
) -> Result<DirectoryGroup, DomainError> {
    authz::may(actor, Action::ManageGroups, &Target::Tenant(tenant))?;
    crate::domain::db::transaction(conn, |conn| {
        let group = create(conn, actor, now, tenant, name, description)?;
        load_group(conn, tenant, group)
    })
}

/// Deletes the group by GUID: refused while it carries licenses, as Delete group is.
pub fn delete_directory_group(
    conn: &mut DbConnection,
    actor: &Actor,
    now: DateTime<Utc>,
    tenant: TenantId,
    guid: &str,
) -> Result<(), DomainError> {
    authz::may(actor, Action::ManageGroups, &Target::Tenant(tenant))?;
    crate::domain::db::transaction(conn, |conn| {
        let group = find_group(conn, tenant, guid)?;
        delete(conn, actor, now, tenant, group)
    })
}

/// What a group's `assignLicense` did: the group now, and whether its members are being given
/// their licenses in the background (a big group) rather than already.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupLicenseChange {
    pub group: DirectoryGroup,
    pub in_background: bool,
}

/// Graph's `assignLicense` for a group: removes the licenses `remove` from it and adds `add`,
/// each with the apps to turn off (`disabledPlans`), in one transaction under the license lock.
/// A license the group carries already gets the apps asked for. Members inherit as on the
/// group's page: within the request for a small group, else in the background; members left
/// without a seat are listed as the group's errors. A `skuId` or plan the tenant doesn't have,
/// or removing a license the group doesn't carry, is refused (`Invalid`), nothing changed.
pub fn assign_group_license(
    conn: &mut DbConnection,
    actor: &Actor,
    now: DateTime<Utc>,
    tenant: TenantId,
    guid: &str,
    add: &[LicenseToAdd],
    remove: &[String],
) -> Result<GroupLicenseChange, DomainError> {
    authz::may(actor, Action::AssignGroupLicenses, &Target::Tenant(tenant))?;
    crate::domain::db::transaction(conn, |conn| {
        licenses::lock(conn, tenant)?;
        let group = find_group(conn, tenant, guid)?;
        let removing = products_of_skus(conn, tenant, remove, "removeLicenses")?;
        let skus: Vec<String> = add.iter().map(|a| a.sku_id.clone()).collect();
        let adding = products_of_skus(conn, tenant, &skus, "addLicenses")?;
        if let Some((sku, _)) = adding
            .iter()
            .find(|(_, p)| removing.iter().any(|(_, r)| r == p))
        {
            return Err(DomainError::invalid(
                "removeLicenses",
                format!("License {sku} can't be both added and removed."),
            ));
        }
        let carried: Vec<ProductId> = products_of(conn, group)?
            .into_iter()
            .map(|(p, _)| p)
            .collect();
        for (sku, product) in &removing {
            if !carried.contains(product) {
                return Err(DomainError::invalid(
                    "removeLicenses",
                    format!("The group does not have a license {sku} to remove."),
                ));
            }
            unassign_product(conn, actor, now, tenant, group, *product)?;
        }
        let mut in_background = false;
        for (wanted, (sku, product)) in add.iter().zip(&adding) {
            let on = apps_left_on(conn, *product, sku, &wanted.disabled_plans)?;
            if !carried.contains(product) {
                in_background |=
                    assign_product(conn, actor, now, tenant, group, *product)?.is_none();
            }
            set_group_apps(conn, actor, now, tenant, group, *product, &on)?;
        }
        Ok(GroupLicenseChange {
            group: load_group(conn, tenant, group)?,
            in_background,
        })
    })
}

/// The apps of `product` left on when `disabled` (service plan ids) are turned off.
fn apps_left_on(
    conn: &mut DbConnection,
    product: ProductId,
    sku: &str,
    disabled: &[String],
) -> Result<Vec<ServiceId>, DomainError> {
    let code: String = products::table
        .find(product.0)
        .select(products::code)
        .first(conn)?;
    let services: Vec<(i64, String)> = product_services::table
        .filter(product_services::product_id.eq(product.0))
        .order(product_services::id)
        .select((product_services::id, product_services::name))
        .load(conn)?;
    for plan in disabled {
        if !services
            .iter()
            .any(|(_, name)| service_plan_id(&code, name).eq_ignore_ascii_case(plan))
        {
            return Err(DomainError::invalid(
                "disabledPlans",
                format!("Service plan {plan} is not a plan of license {sku}."),
            ));
        }
    }
    Ok(services
        .into_iter()
        .filter(|(_, name)| {
            let id = service_plan_id(&code, name);
            !disabled.iter().any(|plan| plan.eq_ignore_ascii_case(&id))
        })
        .map(|(id, _)| ServiceId(id))
        .collect())
}
