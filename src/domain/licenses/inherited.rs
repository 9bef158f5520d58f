//! Licenses members inherit from their groups (as in Entra ID's group-based licensing): one
//! seat per user and product, however many groups and a direct assignment give it. A seat
//! remembers whether it was assigned directly (`license_assignments.direct`) and which groups
//! give it (`inherited_licenses`); it is freed when neither is left. Called under the tenant's
//! license lock, by the groups area and by direct assignment.

use super::*;
use crate::domain::GroupId;
use crate::domain::schema::{group_license_errors, inherited_licenses};

/// What giving a group's product to some of its members did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Given {
    /// Members who got a seat now.
    pub assigned: usize,
    /// Members who already held the product (directly or by another group): it now also comes
    /// from this group.
    pub already: usize,
    /// Members left without it for want of licenses (listed under Errors & issues).
    pub failed: usize,
}

/// A group and product, named, as the audit log and the errors say them.
pub(crate) struct GroupProduct<'a> {
    pub group: GroupId,
    pub group_name: &'a str,
    pub product: ProductId,
    pub product_name: &'a str,
}

/// The users among `ids` who are not deleted, with their sign-in names, in id order.
fn living(
    conn: &mut DbConnection,
    tenant: TenantId,
    ids: &[UserId],
) -> Result<Vec<(i64, String)>, DomainError> {
    let mut found = Vec::with_capacity(ids.len());
    let all: Vec<i64> = ids.iter().map(|u| u.0).collect();
    for chunk in all.chunks(5000) {
        // Read by primary key and checked for the tenant here: with `tenant_id = ?` in the
        // query, SQLite (which allot never has ANALYZE) walks the tenant's users index, all
        // 100,000 of them for each step of a group's job (issue 13's benchmark).
        found.extend(
            users::table
                .filter(users::id.eq_any(chunk))
                .filter(users::state.ne(UserState::Deleted))
                .select((users::id, users::email, users::tenant_id))
                .load::<(i64, String, i64)>(conn)?
                .into_iter()
                .filter(|(_, _, of)| *of == tenant.0)
                .map(|(id, email, _)| (id, email)),
        );
    }
    found.sort();
    Ok(found)
}

/// Gives `gp.product` (the tenant's pool) to `members` as inherited from `gp.group`. Members
/// who hold it already keep their seat and gain the group as a source; the others get one
/// while the pool has licenses left, in id order, and the rest are recorded as errors with
/// the reason. Deleted members are skipped. Under the tenant's license lock.
pub(crate) fn give_inherited(
    conn: &mut DbConnection,
    actor: &Actor,
    now: DateTime<Utc>,
    tenant: TenantId,
    gp: &GroupProduct<'_>,
    members: &[UserId],
) -> Result<Given, DomainError> {
    let members = living(conn, tenant, members)?;
    let ids: Vec<UserId> = members.iter().map(|(id, _)| UserId(*id)).collect();
    let held = holders_among(conn, gp.product, &ids)?;
    let sourced: BTreeSet<i64> = sourced_by(conn, gp.group, gp.product, &ids)?;
    let (licenses, assigned_before) = pool_counts(conn, tenant, PoolRef::Tenant(gp.product))?;
    let mut available = (licenses - assigned_before).max(0);

    let mut already = Vec::new();
    let mut seats = Vec::new();
    let mut failed = Vec::new();
    for (id, email) in members {
        if held.contains(&id) {
            already.push(id);
        } else if available > 0 {
            available -= 1;
            seats.push((id, email));
        } else {
            failed.push(id);
        }
    }

    let rows: Vec<_> = seats
        .iter()
        .map(|(user, _)| {
            (
                license_assignments::tenant_id.eq(tenant.0),
                license_assignments::user_id.eq(*user),
                license_assignments::product_id.eq(gp.product.0),
                license_assignments::self_service_subscription_id.eq(None::<i64>),
                license_assignments::assigned_at.eq(naive(now)),
                license_assignments::direct.eq(false),
            )
        })
        .collect();
    for chunk in rows.chunks(1000) {
        crate::domain::db::insert_batch!(conn, license_assignments::table, chunk)?;
    }
    adjust_count(conn, tenant, gp.product, None, seats.len() as i64)?;
    check_alert(conn, now, tenant, gp.product)?;

    // Members who held the seat already may gain apps this group turns on.
    let apps_then = apps_before(conn, gp.product, &already)?;
    let newly_sourced: Vec<i64> = seats
        .iter()
        .map(|(id, _)| *id)
        .chain(already.iter().copied())
        .filter(|id| !sourced.contains(id))
        .collect();
    let source_rows: Vec<_> = newly_sourced
        .iter()
        .map(|user| {
            (
                inherited_licenses::tenant_id.eq(tenant.0),
                inherited_licenses::user_id.eq(*user),
                inherited_licenses::product_id.eq(gp.product.0),
                inherited_licenses::group_id.eq(gp.group.0),
            )
        })
        .collect();
    for chunk in source_rows.chunks(1000) {
        crate::domain::db::insert_batch!(conn, inherited_licenses::table, chunk)?;
    }

    // A seat given back brings back the data still held for it (but for the apps this seat
    // has off, below).
    let seated: Vec<i64> = seats.iter().map(|(id, _)| *id).collect();
    let license_held = license_holds_of(conn, gp.product, &seated)?;
    for chunk in seated.chunks(5000) {
        diesel::delete(
            data_holds::table
                .filter(data_holds::product_id.eq(gp.product.0))
                .filter(data_holds::user_id.eq_any(chunk)),
        )
        .execute(conn)?;
    }

    // Errors: the members who have the product now have none; the others get this one.
    let all: Vec<i64> = ids.iter().map(|u| u.0).collect();
    clear_errors(conn, gp.group, gp.product, &all)?;
    // A seat given now is one the members' other groups waiting for it give as well: their
    // errors turn into sources, as when the seat is assigned directly.
    settle_errors(conn, tenant, gp.product, &seated)?;
    keep_holding_apps_off(conn, now, tenant, gp.product, &license_held)?;
    settle_apps(
        conn,
        actor,
        now,
        tenant,
        apps_then,
        &format!("inherited from {}", gp.group_name),
    )?;
    let reason = format!("Not enough licenses: 0 of {licenses} available");
    let error_rows: Vec<_> = failed
        .iter()
        .map(|user| {
            (
                group_license_errors::tenant_id.eq(tenant.0),
                group_license_errors::group_id.eq(gp.group.0),
                group_license_errors::product_id.eq(gp.product.0),
                group_license_errors::user_id.eq(*user),
                group_license_errors::reason.eq(&reason),
                group_license_errors::noted_at.eq(naive(now)),
            )
        })
        .collect();
    for chunk in error_rows.chunks(1000) {
        crate::domain::db::insert_batch!(conn, group_license_errors::table, chunk)?;
    }

    let mut count = assigned_before;
    let entries: Vec<(String, String)> = seats
        .iter()
        .map(|(_, email)| {
            count += 1;
            (
                email.clone(),
                format!(
                    "{}: {count} of {licenses} assigned; inherited from {}",
                    gp.product_name, gp.group_name
                ),
            )
        })
        .collect();
    audit::record_many(conn, actor, now, Some(tenant), "Assigned license", &entries)?;
    Ok(Given {
        assigned: seats.len(),
        already: already.len(),
        failed: failed.len(),
    })
}

/// Takes `gp.product` inherited from `gp.group` away from `members`: the group stops being a
/// source, and a seat with no source left (not direct, no other group) is freed, with the
/// 30-day data hold. Returns how many seats were freed and until when their data is kept.
pub(crate) fn take_inherited(
    conn: &mut DbConnection,
    actor: &Actor,
    now: DateTime<Utc>,
    tenant: TenantId,
    gp: &GroupProduct<'_>,
    members: &[UserId],
) -> Result<(usize, Option<DateTime<Utc>>), DomainError> {
    let all: Vec<i64> = members.iter().map(|u| u.0).collect();
    clear_errors(conn, gp.group, gp.product, &all)?;
    let sourced: Vec<i64> = sourced_by(conn, gp.group, gp.product, members)?
        .into_iter()
        .collect();
    // Members who keep the seat (directly or by another group) may lose apps this group
    // turned on.
    let apps_then = apps_before(conn, gp.product, &sourced)?;
    for chunk in sourced.chunks(5000) {
        diesel::delete(
            inherited_licenses::table
                .filter(inherited_licenses::group_id.eq(gp.group.0))
                .filter(inherited_licenses::product_id.eq(gp.product.0))
                .filter(inherited_licenses::user_id.eq_any(chunk)),
        )
        .execute(conn)?;
    }
    let still: BTreeSet<i64> = sourced_anyhow(conn, gp.product, &sourced)?;
    let orphans: Vec<i64> = sourced
        .iter()
        .copied()
        .filter(|id| !still.contains(id))
        .collect();
    let (licenses, assigned_before) = pool_counts(conn, tenant, PoolRef::Tenant(gp.product))?;
    let mut freed: Vec<i64> = Vec::new();
    for chunk in orphans.chunks(5000) {
        freed.extend(
            diesel::delete(
                license_assignments::table
                    .filter(license_assignments::tenant_id.eq(tenant.0))
                    .filter(license_assignments::product_id.eq(gp.product.0))
                    .filter(license_assignments::self_service_subscription_id.is_null())
                    .filter(license_assignments::direct.eq(false))
                    .filter(license_assignments::user_id.eq_any(chunk)),
            )
            .returning(license_assignments::user_id)
            .get_results::<i64>(conn)?,
        );
    }
    freed.sort();
    adjust_count(conn, tenant, gp.product, None, -(freed.len() as i64))?;
    check_alert(conn, now, tenant, gp.product)?;
    settle_apps(
        conn,
        actor,
        now,
        tenant,
        apps_then,
        &format!("no longer inherited from {}", gp.group_name),
    )?;
    // No seat freed, no data held: the answer must not say data is kept when none was.
    let held_until =
        hold_data(conn, now, tenant, gp.product, &freed)?.filter(|_| !freed.is_empty());
    let names = emails(conn, &freed)?;
    let mut count = assigned_before;
    let hold = held_until
        .map(|d| format!("; data kept until {}", d.format("%Y-%m-%d")))
        .unwrap_or_default();
    let entries: Vec<(String, String)> = names
        .into_iter()
        .map(|email| {
            count -= 1;
            (
                email,
                format!(
                    "{}: {count} of {licenses} assigned; was inherited from {}{hold}",
                    gp.product_name, gp.group_name
                ),
            )
        })
        .collect();
    audit::record_many(
        conn,
        actor,
        now,
        Some(tenant),
        "Unassigned license",
        &entries,
    )?;
    Ok((freed.len(), held_until))
}

/// The members among `ids` whose seat for `product` comes from `group`.
fn sourced_by(
    conn: &mut DbConnection,
    group: GroupId,
    product: ProductId,
    ids: &[UserId],
) -> Result<BTreeSet<i64>, DomainError> {
    let mut found = BTreeSet::new();
    let all: Vec<i64> = ids.iter().map(|u| u.0).collect();
    for chunk in all.chunks(5000) {
        found.extend(
            inherited_licenses::table
                .filter(inherited_licenses::group_id.eq(group.0))
                .filter(inherited_licenses::product_id.eq(product.0))
                .filter(inherited_licenses::user_id.eq_any(chunk))
                .select(inherited_licenses::user_id)
                .load::<i64>(conn)?,
        );
    }
    Ok(found)
}

/// The users among `ids` whose seat for `product` comes from any group.
pub(crate) fn sourced_anyhow(
    conn: &mut DbConnection,
    product: ProductId,
    ids: &[i64],
) -> Result<BTreeSet<i64>, DomainError> {
    let mut found = BTreeSet::new();
    for chunk in ids.chunks(5000) {
        found.extend(
            inherited_licenses::table
                .filter(inherited_licenses::product_id.eq(product.0))
                .filter(inherited_licenses::user_id.eq_any(chunk))
                .select(inherited_licenses::user_id)
                .load::<i64>(conn)?,
        );
    }
    Ok(found)
}

/// The groups each of `user`'s seats comes from, by product: (product, group names).
pub(crate) fn sources_of(
    conn: &mut DbConnection,
    user: UserId,
) -> Result<BTreeMap<i64, Vec<String>>, DomainError> {
    use crate::domain::schema::user_groups;
    let rows: Vec<(i64, String)> = inherited_licenses::table
        .inner_join(user_groups::table)
        .filter(inherited_licenses::user_id.eq(user.0))
        .order(user_groups::name_key)
        .select((inherited_licenses::product_id, user_groups::name))
        .load(conn)?;
    let mut by_product: BTreeMap<i64, Vec<String>> = BTreeMap::new();
    for (product, group) in rows {
        by_product.entry(product).or_default().push(group);
    }
    Ok(by_product)
}

fn clear_errors(
    conn: &mut DbConnection,
    group: GroupId,
    product: ProductId,
    users: &[i64],
) -> Result<(), DomainError> {
    for chunk in users.chunks(5000) {
        diesel::delete(
            group_license_errors::table
                .filter(group_license_errors::group_id.eq(group.0))
                .filter(group_license_errors::product_id.eq(product.0))
                .filter(group_license_errors::user_id.eq_any(chunk)),
        )
        .execute(conn)?;
    }
    Ok(())
}

pub(super) fn emails(conn: &mut DbConnection, ids: &[i64]) -> Result<Vec<String>, DomainError> {
    let mut found = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(5000) {
        found.extend(
            users::table
                .filter(users::id.eq_any(chunk))
                .order(users::id)
                .select(users::email)
                .load::<String>(conn)?,
        );
    }
    Ok(found)
}

/// When a user gets a seat directly, the groups that could not give them one can now: their
/// errors turn into sources.
pub(crate) fn settle_errors(
    conn: &mut DbConnection,
    tenant: TenantId,
    product: ProductId,
    users: &[i64],
) -> Result<(), DomainError> {
    for chunk in users.chunks(5000) {
        let waiting: Vec<(i64, i64)> = group_license_errors::table
            .filter(group_license_errors::product_id.eq(product.0))
            .filter(group_license_errors::user_id.eq_any(chunk))
            .select((
                group_license_errors::group_id,
                group_license_errors::user_id,
            ))
            .load(conn)?;
        if waiting.is_empty() {
            continue;
        }
        let rows: Vec<_> = waiting
            .iter()
            .map(|(group, user)| {
                (
                    inherited_licenses::tenant_id.eq(tenant.0),
                    inherited_licenses::user_id.eq(*user),
                    inherited_licenses::product_id.eq(product.0),
                    inherited_licenses::group_id.eq(*group),
                )
            })
            .collect();
        crate::domain::db::insert_batch!(conn, inherited_licenses::table, &rows)?;
        diesel::delete(
            group_license_errors::table
                .filter(group_license_errors::product_id.eq(product.0))
                .filter(group_license_errors::user_id.eq_any(chunk)),
        )
        .execute(conn)?;
    }
    Ok(())
}
