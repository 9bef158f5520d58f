//! Assigning a product to a group and unassigning it; Reprocess; which groups carry a product.

use super::*;

/// Checks that `product` is one the tenant has a pool of (not a self-service purchase).
fn tenant_product(
    conn: &mut DbConnection,
    tenant: TenantId,
    product: ProductId,
) -> Result<String, DomainError> {
    licenses::load_pools(conn, tenant)?
        .into_iter()
        .find(|p| p.product == product && p.self_service.is_none())
        .map(|p| p.product_name)
        .ok_or(DomainError::NotFound)
}

fn members_of(conn: &mut DbConnection, group: GroupId) -> Result<Vec<UserId>, DomainError> {
    Ok(group_members::table
        .filter(group_members::group_id.eq(group.0))
        .order(group_members::user_id)
        .select(group_members::user_id)
        .load::<i64>(conn)?
        .into_iter()
        .map(UserId)
        .collect())
}

/// Assigns `product` to the group: every member inherits it, seats allowing (the rest are
/// listed under Errors & issues). Within the request for up to `IN_REQUEST` members, else in
/// the background: `None` then, and the group's page shows the progress.
pub fn assign_product(
    conn: &mut DbConnection,
    actor: &Actor,
    now: DateTime<Utc>,
    tenant: TenantId,
    group: GroupId,
    product: ProductId,
) -> Result<Option<licenses::Given>, DomainError> {
    authz::may(actor, Action::AssignGroupLicenses, &Target::Tenant(tenant))?;
    crate::domain::db::transaction(conn, |conn| {
        licenses::lock(conn, tenant)?;
        let name = group_name(conn, tenant, group)?;
        let product_name = tenant_product(conn, tenant, product)?;
        let carried: i64 = group_licenses::table
            .filter(group_licenses::group_id.eq(group.0))
            .filter(group_licenses::product_id.eq(product.0))
            .count()
            .get_result(conn)?;
        if carried > 0 {
            return Err(DomainError::Conflict(format!(
                "{name} already has {product_name}."
            )));
        }
        diesel::insert_into(group_licenses::table)
            .values((
                group_licenses::tenant_id.eq(tenant.0),
                group_licenses::group_id.eq(group.0),
                group_licenses::product_id.eq(product.0),
                group_licenses::assigned_at.eq(naive(now)),
            ))
            .execute(conn)?;
        audit::record(
            conn,
            actor,
            now,
            Some(tenant),
            "Assigned license to group",
            &name,
            &product_name,
        )?;
        let members = members_of(conn, group)?;
        if members.len() > IN_REQUEST {
            jobs::start(conn, actor, now, tenant, group, &name)?;
            return Ok(None);
        }
        let gp = GroupProduct {
            group,
            group_name: &name,
            product,
            product_name: &product_name,
        };
        licenses::give_inherited(conn, actor, now, tenant, &gp, &members).map(Some)
    })
}

/// What unassigning a product from a group did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupUnassigned {
    pub product_name: String,
    /// Seats freed because nothing else gives them.
    pub licenses_freed: usize,
    pub data_held_until: Option<DateTime<Utc>>,
}

/// Unassigns `product` from the group: members keep it only where it is also assigned
/// directly or by another group; the others lose it, with the 30-day data hold.
pub fn unassign_product(
    conn: &mut DbConnection,
    actor: &Actor,
    now: DateTime<Utc>,
    tenant: TenantId,
    group: GroupId,
    product: ProductId,
) -> Result<GroupUnassigned, DomainError> {
    authz::may(actor, Action::AssignGroupLicenses, &Target::Tenant(tenant))?;
    crate::domain::db::transaction(conn, |conn| {
        licenses::lock(conn, tenant)?;
        let name = group_name(conn, tenant, group)?;
        let product_name: String = group_licenses::table
            .inner_join(products::table)
            .filter(group_licenses::group_id.eq(group.0))
            .filter(group_licenses::product_id.eq(product.0))
            .select(products::name)
            .first(conn)?;
        let holders: Vec<UserId> = inherited_licenses::table
            .filter(inherited_licenses::group_id.eq(group.0))
            .filter(inherited_licenses::product_id.eq(product.0))
            .select(inherited_licenses::user_id)
            .load::<i64>(conn)?
            .into_iter()
            .map(UserId)
            .collect();
        let gp = GroupProduct {
            group,
            group_name: &name,
            product,
            product_name: &product_name,
        };
        let (freed, held_until) =
            licenses::take_inherited(conn, actor, now, tenant, &gp, &holders)?;
        diesel::delete(
            group_license_errors::table
                .filter(group_license_errors::group_id.eq(group.0))
                .filter(group_license_errors::product_id.eq(product.0)),
        )
        .execute(conn)?;
        diesel::delete(
            group_licenses::table
                .filter(group_licenses::group_id.eq(group.0))
                .filter(group_licenses::product_id.eq(product.0)),
        )
        .execute(conn)?;
        audit::record(
            conn,
            actor,
            now,
            Some(tenant),
            "Unassigned license from group",
            &name,
            &format!("{product_name}: {freed} licenses freed"),
        )?;
        Ok(GroupUnassigned {
            product_name,
            licenses_freed: freed,
            data_held_until: held_until,
        })
    })
}

/// Reprocess: tries again to give the members listed under Errors & issues what the group
/// carries (after licenses were bought or freed). Within the request for up to `IN_REQUEST`
/// of them, else in the background (`None`).
pub fn reprocess(
    conn: &mut DbConnection,
    actor: &Actor,
    now: DateTime<Utc>,
    tenant: TenantId,
    group: GroupId,
) -> Result<Option<licenses::Given>, DomainError> {
    authz::may(actor, Action::AssignGroupLicenses, &Target::Tenant(tenant))?;
    crate::domain::db::transaction(conn, |conn| {
        licenses::lock(conn, tenant)?;
        let name = group_name(conn, tenant, group)?;
        let waiting: Vec<UserId> = group_license_errors::table
            .filter(group_license_errors::group_id.eq(group.0))
            .select(group_license_errors::user_id)
            .distinct()
            .order(group_license_errors::user_id)
            .load::<i64>(conn)?
            .into_iter()
            .map(UserId)
            .collect();
        if waiting.len() > IN_REQUEST {
            jobs::start(conn, actor, now, tenant, group, &name)?;
            return Ok(None);
        }
        let given = give_group_licenses(conn, actor, now, tenant, group, &name, &waiting)?;
        audit::record(
            conn,
            actor,
            now,
            Some(tenant),
            "Reprocessed group licenses",
            &name,
            &format!("{} assigned, {} failed", given.assigned, given.failed),
        )?;
        Ok(Some(given))
    })
}

/// A group that carries a product (the product's page, Groups).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProductGroup {
    pub id: GroupId,
    pub name: String,
    pub members: i64,
    /// Members it could not be given to.
    pub failed: i64,
}

/// The groups of a product's page: those carrying it, and the others it could be assigned to.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ProductGroups {
    pub carrying: Vec<ProductGroup>,
    pub others: Vec<(GroupId, String)>,
}

/// The groups carrying `product`, and the tenant's other groups it could be assigned to.
pub fn for_product(
    conn: &mut DbConnection,
    actor: &Actor,
    tenant: TenantId,
    product: ProductId,
) -> Result<ProductGroups, DomainError> {
    authz::may(actor, Action::ViewGroups, &Target::Tenant(tenant))?;
    let all = list(conn, actor, tenant)?;
    let carrying: std::collections::BTreeSet<i64> = group_licenses::table
        .filter(group_licenses::tenant_id.eq(tenant.0))
        .filter(group_licenses::product_id.eq(product.0))
        .select(group_licenses::group_id)
        .load::<i64>(conn)?
        .into_iter()
        .collect();
    // The errors of every group for this product in one query, not one a group.
    let failures: std::collections::BTreeMap<i64, i64> = group_license_errors::table
        .filter(group_license_errors::tenant_id.eq(tenant.0))
        .filter(group_license_errors::product_id.eq(product.0))
        .group_by(group_license_errors::group_id)
        .select((group_license_errors::group_id, diesel::dsl::count_star()))
        .load::<(i64, i64)>(conn)?
        .into_iter()
        .collect();
    let mut with = Vec::new();
    let mut without = Vec::new();
    for g in all {
        if carrying.contains(&g.id.0) {
            let failed = failures.get(&g.id.0).copied().unwrap_or(0);
            with.push(ProductGroup {
                id: g.id,
                name: g.name,
                members: g.members,
                failed,
            });
        } else {
            without.push((g.id, g.name));
        }
    }
    Ok(ProductGroups {
        carrying: with,
        others: without,
    })
}
