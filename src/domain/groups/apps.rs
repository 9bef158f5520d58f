//! The apps a group's license gives its members: a group's assignment of a product can turn
//! apps off for all of them. A member has every app one of their seat's sources turns on
//! (licenses/app_sources), so a group turning an app off takes it only from the members who
//! have the product from nowhere else that turns it on.

use super::*;
use crate::domain::ServiceId;
use crate::domain::schema::{group_apps_turned_off, product_services};
use std::collections::BTreeSet;

/// One app of a product as a group's assignment gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupApp {
    pub id: ServiceId,
    pub name: String,
    pub holds_data: bool,
    pub on: bool,
}

/// A product a group carries, with its apps on or off (the group's Apps page).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupProductApps {
    pub group: GroupId,
    pub group_name: String,
    pub product: ProductId,
    pub product_name: String,
    /// Members who hold it through this group.
    pub members: i64,
    pub apps: Vec<GroupApp>,
}

/// The apps each product of `group` turns off, by name: product → names.
pub(crate) fn apps_turned_off_by(
    conn: &mut DbConnection,
    group: GroupId,
) -> Result<BTreeMap<i64, Vec<String>>, DomainError> {
    let mut off: BTreeMap<i64, Vec<String>> = BTreeMap::new();
    for (product, name) in group_apps_turned_off::table
        .inner_join(product_services::table)
        .filter(group_apps_turned_off::group_id.eq(group.0))
        .order(product_services::id)
        .select((group_apps_turned_off::product_id, product_services::name))
        .load::<(i64, String)>(conn)?
    {
        off.entry(product).or_default().push(name);
    }
    Ok(off)
}

/// The product's apps as `group` gives them. 404 for another tenant's group or a product the
/// group doesn't carry.
pub fn group_apps(
    conn: &mut DbConnection,
    actor: &Actor,
    tenant: TenantId,
    group: GroupId,
    product: ProductId,
) -> Result<GroupProductApps, DomainError> {
    authz::may(actor, Action::ViewGroups, &Target::Tenant(tenant))?;
    load(conn, tenant, group, product)
}

fn load(
    conn: &mut DbConnection,
    tenant: TenantId,
    group: GroupId,
    product: ProductId,
) -> Result<GroupProductApps, DomainError> {
    let group_name = group_name(conn, tenant, group)?;
    let product_name: String = group_licenses::table
        .inner_join(products::table)
        .filter(group_licenses::group_id.eq(group.0))
        .filter(group_licenses::product_id.eq(product.0))
        .select(products::name)
        .first(conn)?;
    let off: BTreeSet<i64> = group_apps_turned_off::table
        .filter(group_apps_turned_off::group_id.eq(group.0))
        .filter(group_apps_turned_off::product_id.eq(product.0))
        .select(group_apps_turned_off::service_id)
        .load::<i64>(conn)?
        .into_iter()
        .collect();
    let apps = product_services::table
        .filter(product_services::product_id.eq(product.0))
        .order(product_services::id)
        .select((
            product_services::id,
            product_services::name,
            product_services::holds_data,
        ))
        .load::<(i64, String, bool)>(conn)?
        .into_iter()
        .map(|(id, name, holds_data)| GroupApp {
            id: ServiceId(id),
            name,
            holds_data,
            on: !off.contains(&id),
        })
        .collect();
    let members = inherited_licenses::table
        .filter(inherited_licenses::group_id.eq(group.0))
        .filter(inherited_licenses::product_id.eq(product.0))
        .count()
        .get_result(conn)?;
    Ok(GroupProductApps {
        group,
        group_name,
        product,
        product_name,
        members,
        apps,
    })
}

/// What `set_group_apps` changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupAppsChanged {
    pub product_name: String,
    pub turned_off: Vec<String>,
    pub turned_on: Vec<String>,
    /// Members whose apps changed (others have the apps from another source).
    pub members_changed: usize,
    /// Until when the data of the data-holding apps turned off is kept.
    pub data_held_until: Option<DateTime<Utc>>,
}

/// Turns on exactly the apps `on` of the group's license of `product` and the others off, for
/// every member who has it through the group: one transaction under the license lock. Each
/// member whose apps change gets one audit entry; a data-holding app they lose starts its
/// 30-day hold, and one they get back keeps its held data.
pub fn set_group_apps(
    conn: &mut DbConnection,
    actor: &Actor,
    now: DateTime<Utc>,
    tenant: TenantId,
    group: GroupId,
    product: ProductId,
    on: &[ServiceId],
) -> Result<GroupAppsChanged, DomainError> {
    authz::may(actor, Action::AssignGroupLicenses, &Target::Tenant(tenant))?;
    crate::domain::db::transaction(conn, |conn| {
        licenses::lock(conn, tenant)?;
        let before = load(conn, tenant, group, product)?;
        if on.iter().any(|s| !before.apps.iter().any(|a| a.id == *s)) {
            return Err(DomainError::invalid(
                "apps",
                format!("Choose among the apps of {}.", before.product_name),
            ));
        }
        let want_on = |id: &ServiceId| on.contains(id);
        let turned_off: Vec<String> = before
            .apps
            .iter()
            .filter(|a| a.on && !want_on(&a.id))
            .map(|a| a.name.clone())
            .collect();
        let turned_on: Vec<String> = before
            .apps
            .iter()
            .filter(|a| !a.on && want_on(&a.id))
            .map(|a| a.name.clone())
            .collect();
        let mut changed = GroupAppsChanged {
            product_name: before.product_name.clone(),
            turned_off,
            turned_on,
            members_changed: 0,
            data_held_until: None,
        };
        if changed.turned_off.is_empty() && changed.turned_on.is_empty() {
            return Ok(changed);
        }
        let members: Vec<i64> = inherited_licenses::table
            .filter(inherited_licenses::group_id.eq(group.0))
            .filter(inherited_licenses::product_id.eq(product.0))
            .select(inherited_licenses::user_id)
            .load(conn)?;
        let apps_then = licenses::apps_before(conn, product, &members)?;
        diesel::delete(
            group_apps_turned_off::table
                .filter(group_apps_turned_off::group_id.eq(group.0))
                .filter(group_apps_turned_off::product_id.eq(product.0)),
        )
        .execute(conn)?;
        let rows: Vec<_> = before
            .apps
            .iter()
            .filter(|a| !want_on(&a.id))
            .map(|a| {
                (
                    group_apps_turned_off::tenant_id.eq(tenant.0),
                    group_apps_turned_off::group_id.eq(group.0),
                    group_apps_turned_off::product_id.eq(product.0),
                    group_apps_turned_off::service_id.eq(a.id.0),
                    group_apps_turned_off::turned_off_at.eq(naive(now)),
                )
            })
            .collect();
        if !rows.is_empty() {
            crate::domain::db::insert_batch!(conn, group_apps_turned_off::table, &rows)?;
        }
        let mut said = Vec::new();
        if !changed.turned_off.is_empty() {
            said.push(format!("turned off {}", changed.turned_off.join(", ")));
        }
        if !changed.turned_on.is_empty() {
            said.push(format!("turned on {}", changed.turned_on.join(", ")));
        }
        audit::record(
            conn,
            actor,
            now,
            Some(tenant),
            "Changed group apps",
            &before.group_name,
            &format!("{}: {}", before.product_name, said.join("; ")),
        )?;
        let (members_changed, held_until) = licenses::settle_apps(
            conn,
            actor,
            now,
            tenant,
            apps_then,
            &format!("apps of {}", before.group_name),
        )?;
        changed.members_changed = members_changed;
        changed.data_held_until = held_until;
        Ok(changed)
    })
}
