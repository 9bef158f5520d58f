//! Assigning and unassigning from a pool under the tenant license lock, with data holds.

use super::*;

/// What an assignment did.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Assigned {
    /// Users who got the license now.
    pub assigned: Vec<UserId>,
    /// Users who already had it (nothing changed for them).
    pub already: Vec<UserId>,
    pub available_after: i64,
}

/// The active, non-deleted users among `ids` in `tenant`, with their sign-in names; any id
/// that is not such a user makes the whole request NotFound.
pub(crate) fn tenant_users(
    conn: &mut DbConnection,
    tenant: TenantId,
    ids: &[UserId],
) -> Result<Vec<(UserId, String)>, DomainError> {
    let wanted: BTreeSet<i64> = ids.iter().map(|u| u.0).collect();
    let mut found: Vec<(i64, String)> = Vec::with_capacity(wanted.len());
    let all: Vec<i64> = wanted.iter().copied().collect();
    for chunk in all.chunks(5000) {
        found.extend(
            users::table
                .filter(users::tenant_id.eq(tenant.0))
                .filter(users::id.eq_any(chunk))
                .filter(users::state.ne(UserState::Deleted))
                .select((users::id, users::email))
                .load::<(i64, String)>(conn)?,
        );
    }
    if found.len() != wanted.len() {
        return Err(DomainError::NotFound);
    }
    Ok(found.into_iter().map(|(id, e)| (UserId(id), e)).collect())
}

pub(crate) fn holders_among(
    conn: &mut DbConnection,
    product: ProductId,
    ids: &[UserId],
) -> Result<BTreeSet<i64>, DomainError> {
    let mut held = BTreeSet::new();
    let all: Vec<i64> = ids.iter().map(|u| u.0).collect();
    for chunk in all.chunks(5000) {
        held.extend(
            license_assignments::table
                .filter(license_assignments::product_id.eq(product.0))
                .filter(license_assignments::user_id.eq_any(chunk))
                .select(license_assignments::user_id)
                .load::<i64>(conn)?,
        );
    }
    Ok(held)
}

/// Assigns the pool's product to `users`: all of them or none. Refused as a whole with
/// `NoLicensesLeft` when the pool has fewer available licenses than users who need one.
pub fn assign(
    conn: &mut DbConnection,
    actor: &Actor,
    now: DateTime<Utc>,
    tenant: TenantId,
    pool: PoolRef,
    users: &[UserId],
) -> Result<Assigned, DomainError> {
    authz::may(
        actor,
        Action::AssignLicenses,
        &pool_target(conn, tenant, pool)?,
    )?;
    if users.is_empty() {
        return Err(DomainError::invalid("users", "Select at least one user."));
    }
    crate::domain::db::transaction(conn, |conn| {
        lock(conn, tenant)?;
        assign_locked(conn, actor, now, tenant, pool, users)
    })
}

/// `assign` inside a transaction that already holds the tenant's license lock.
pub(crate) fn assign_locked(
    conn: &mut DbConnection,
    actor: &Actor,
    now: DateTime<Utc>,
    tenant: TenantId,
    pool: PoolRef,
    users: &[UserId],
) -> Result<Assigned, DomainError> {
    let (product, product_name) = pool_product(conn, tenant, pool)?;
    let targets = tenant_users(conn, tenant, users)?;
    let held = holders_among(conn, product, users)?;
    let (licenses, assigned_before) = pool_counts(conn, tenant, pool)?;
    let available = (licenses - assigned_before).max(0);
    let (already, new): (Vec<_>, Vec<_>) =
        targets.into_iter().partition(|(u, _)| held.contains(&u.0));
    if new.len() as i64 > available {
        return Err(DomainError::NoLicensesLeft { available });
    }
    let self_service = match pool {
        PoolRef::SelfService(sub) => Some(sub.0),
        PoolRef::Tenant(_) => None,
    };
    let rows: Vec<_> = new
        .iter()
        .map(|(user, _)| {
            (
                license_assignments::tenant_id.eq(tenant.0),
                license_assignments::user_id.eq(user.0),
                license_assignments::product_id.eq(product.0),
                license_assignments::self_service_subscription_id.eq(self_service),
                license_assignments::assigned_at.eq(naive(now)),
                license_assignments::direct.eq(true),
            )
        })
        .collect();
    for chunk in rows.chunks(1000) {
        crate::domain::db::insert_batch!(conn, license_assignments::table, chunk)?;
    }
    adjust_count(conn, tenant, product, self_service, new.len() as i64)?;
    if self_service.is_none() {
        check_alert(conn, now, tenant, product)?;
    }
    // A seat a group gives becomes direct too, so removing the user from the group keeps it;
    // the direct assignment turns every app on.
    let already_ids: Vec<i64> = already.iter().map(|(u, _)| u.0).collect();
    let apps_then = apps_before(conn, product, &already_ids)?;
    for chunk in already_ids.chunks(5000) {
        diesel::update(
            license_assignments::table
                .filter(license_assignments::product_id.eq(product.0))
                .filter(license_assignments::user_id.eq_any(chunk))
                .filter(license_assignments::direct.eq(false)),
        )
        .set(license_assignments::direct.eq(true))
        .execute(conn)?;
    }
    settle_apps(conn, actor, now, tenant, apps_then, "assigned directly")?;
    let new_ids: Vec<i64> = new.iter().map(|(u, _)| u.0).collect();
    if self_service.is_none() {
        settle_errors(conn, tenant, product, &new_ids)?;
    }
    // A license given back brings back the data still held for it, its apps' too: it comes
    // back with every app on (unassigning dropped the apps turned off, with the assignment).
    for chunk in new_ids.chunks(5000) {
        diesel::delete(
            data_holds::table
                .filter(data_holds::product_id.eq(product.0))
                .filter(data_holds::user_id.eq_any(chunk)),
        )
        .execute(conn)?;
    }
    let mut count = assigned_before;
    let entries: Vec<(String, String)> = new
        .iter()
        .map(|(_, email)| {
            count += 1;
            (
                email.clone(),
                format!("{product_name}: {} of {licenses} assigned", count),
            )
        })
        .collect();
    audit::record_many(conn, actor, now, Some(tenant), "Assigned license", &entries)?;
    Ok(Assigned {
        assigned: new.into_iter().map(|(u, _)| u).collect(),
        already: already.into_iter().map(|(u, _)| u).collect(),
        available_after: available - (count - assigned_before),
    })
}

/// What an unassignment did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unassigned {
    pub unassigned: Vec<UserId>,
    /// Users whose direct assignment was removed but who keep the license through a group.
    pub kept_through_groups: Vec<UserId>,
    /// Until when the users' data for this product is kept; `None` when the product holds none.
    pub data_held_until: Option<DateTime<Utc>>,
}

/// Removes the pool's product from `users`, all or nothing. Their data for the product's
/// data-holding services is kept for 30 days (the seeds' rule), then deleted by `tick`.
pub fn unassign(
    conn: &mut DbConnection,
    actor: &Actor,
    now: DateTime<Utc>,
    tenant: TenantId,
    pool: PoolRef,
    users: &[UserId],
) -> Result<Unassigned, DomainError> {
    authz::may(
        actor,
        Action::AssignLicenses,
        &pool_target(conn, tenant, pool)?,
    )?;
    if users.is_empty() {
        return Err(DomainError::invalid("users", "Select at least one user."));
    }
    crate::domain::db::transaction(conn, |conn| {
        lock(conn, tenant)?;
        unassign_locked(conn, actor, now, tenant, pool, users)
    })
}

/// `unassign` inside a transaction that already holds the tenant's license lock. Every user
/// must hold the license from this pool.
pub(crate) fn unassign_locked(
    conn: &mut DbConnection,
    actor: &Actor,
    now: DateTime<Utc>,
    tenant: TenantId,
    pool: PoolRef,
    users: &[UserId],
) -> Result<Unassigned, DomainError> {
    let (product, product_name) = pool_product(conn, tenant, pool)?;
    let targets = tenant_users(conn, tenant, users)?;
    let (licenses, assigned_before) = pool_counts(conn, tenant, pool)?;
    let all_ids: Vec<i64> = targets.iter().map(|(u, _)| u.0).collect();
    // A seat that groups give as well stays, no longer direct; one that only groups give is
    // changed through the group, not here.
    let inherited = sourced_anyhow(conn, product, &all_ids)?;
    if !inherited.is_empty() && matches!(pool, PoolRef::Tenant(_)) {
        let kept: Vec<i64> = inherited.iter().copied().collect();
        let mut only_inherited = None;
        for chunk in kept.chunks(5000) {
            only_inherited = license_assignments::table
                .filter(license_assignments::product_id.eq(product.0))
                .filter(license_assignments::user_id.eq_any(chunk))
                .filter(license_assignments::direct.eq(false))
                .inner_join(users::table)
                .select((users::id, users::email))
                .first::<(i64, String)>(conn)
                .optional()?;
            if only_inherited.is_some() {
                break;
            }
        }
        if let Some((user, email)) = only_inherited {
            let groups = sources_of(conn, UserId(user))?
                .remove(&product.0)
                .unwrap_or_default()
                .join(", ");
            return Err(DomainError::Conflict(format!(
                "{email} has {product_name} through a group ({groups}), so it can't be unassigned here. Remove them from the group, or unassign {product_name} from the group."
            )));
        }
        let apps_then = apps_before(conn, product, &kept)?;
        for chunk in kept.chunks(5000) {
            diesel::update(
                license_assignments::table
                    .filter(license_assignments::product_id.eq(product.0))
                    .filter(license_assignments::user_id.eq_any(chunk)),
            )
            .set(license_assignments::direct.eq(false))
            .execute(conn)?;
            // The direct assignment goes with the apps it turned off; the groups' choice of
            // apps is what is left.
            diesel::delete(
                apps_turned_off::table
                    .filter(apps_turned_off::product_id.eq(product.0))
                    .filter(apps_turned_off::user_id.eq_any(chunk)),
            )
            .execute(conn)?;
        }
        settle_apps(
            conn,
            actor,
            now,
            tenant,
            apps_then,
            "kept through a group, no longer assigned directly",
        )?;
    }
    let ids: Vec<i64> = all_ids
        .iter()
        .copied()
        .filter(|id| !inherited.contains(id))
        .collect();
    let mut removed = 0;
    for chunk in ids.chunks(5000) {
        let in_pool = license_assignments::table
            .filter(license_assignments::tenant_id.eq(tenant.0))
            .filter(license_assignments::product_id.eq(product.0))
            .filter(license_assignments::user_id.eq_any(chunk));
        removed += match pool {
            PoolRef::Tenant(_) => diesel::delete(
                in_pool.filter(license_assignments::self_service_subscription_id.is_null()),
            )
            .execute(conn)?,
            PoolRef::SelfService(sub) => diesel::delete(
                in_pool.filter(license_assignments::self_service_subscription_id.eq(sub.0)),
            )
            .execute(conn)?,
        };
    }
    let pool_key = match pool {
        PoolRef::SelfService(sub) => Some(sub.0),
        PoolRef::Tenant(_) => None,
    };
    adjust_count(conn, tenant, product, pool_key, -(removed as i64))?;
    if pool_key.is_none() {
        check_alert(conn, now, tenant, product)?;
    }
    if removed != ids.len() {
        // Rolls the transaction back: someone in the list did not hold this license.
        return Err(DomainError::Conflict(format!(
            "Some of the selected users don't have a {product_name} license any more. Reload the page and try again."
        )));
    }
    let held_until = hold_data(conn, now, tenant, product, &ids)?;
    let mut count = assigned_before;
    let entries: Vec<(String, String)> = targets
        .iter()
        .filter(|(u, _)| !inherited.contains(&u.0))
        .map(|(_, email)| {
            count -= 1;
            let hold = held_until
                .map(|d| format!("; data kept until {}", d.format("%Y-%m-%d")))
                .unwrap_or_default();
            (
                email.clone(),
                format!("{product_name}: {count} of {licenses} assigned{hold}"),
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
    let (kept, unassigned): (Vec<_>, Vec<_>) = targets
        .into_iter()
        .partition(|(u, _)| inherited.contains(&u.0));
    let entries: Vec<(String, String)> = kept
        .iter()
        .map(|(_, email)| {
            (
                email.clone(),
                format!("{product_name}: kept, inherited from a group"),
            )
        })
        .collect();
    audit::record_many(
        conn,
        actor,
        now,
        Some(tenant),
        "Removed direct assignment",
        &entries,
    )?;
    Ok(Unassigned {
        unassigned: unassigned.into_iter().map(|(u, _)| u).collect(),
        kept_through_groups: kept.into_iter().map(|(u, _)| u).collect(),
        data_held_until: held_until.filter(|_| !ids.is_empty()),
    })
}

/// Starts the 30-day data hold for `users` and `product` when the product holds data. The
/// apps the users had turned off go with the assignment (`apps_turned_off` cascades).
pub(crate) fn hold_data(
    conn: &mut DbConnection,
    now: DateTime<Utc>,
    tenant: TenantId,
    product: ProductId,
    users: &[i64],
) -> Result<Option<DateTime<Utc>>, DomainError> {
    let holds_data: i64 = product_services::table
        .filter(product_services::product_id.eq(product.0))
        .filter(product_services::holds_data.eq(true))
        .count()
        .get_result(conn)?;
    if holds_data == 0 {
        return Ok(None);
    }
    let until = now + DATA_HOLD;
    // The holds of apps turned off earlier keep their own (earlier) dates.
    for chunk in users.chunks(5000) {
        diesel::delete(
            data_holds::table
                .filter(data_holds::product_id.eq(product.0))
                .filter(data_holds::user_id.eq_any(chunk))
                .filter(data_holds::service_id.is_null()),
        )
        .execute(conn)?;
    }
    let rows: Vec<_> = users
        .iter()
        .map(|user| {
            (
                data_holds::tenant_id.eq(tenant.0),
                data_holds::user_id.eq(*user),
                data_holds::product_id.eq(product.0),
                data_holds::held_until.eq(naive(until)),
                data_holds::created_at.eq(naive(now)),
            )
        })
        .collect();
    for chunk in rows.chunks(1000) {
        crate::domain::db::insert_batch!(conn, data_holds::table, chunk)?;
    }
    Ok(Some(until))
}

/// `pool` as `authz::may` sees it: the tenant's pool of a product, or a self-service
/// purchase with its buyer. A purchase that was taken over (or never was one) is not found.
pub(crate) fn pool_target(
    conn: &mut DbConnection,
    tenant: TenantId,
    pool: PoolRef,
) -> Result<Target, DomainError> {
    let buyer = match pool {
        PoolRef::Tenant(_) => None,
        PoolRef::SelfService(sub) => {
            let buyer: Option<i64> = subscriptions::table
                .filter(subscriptions::id.eq(sub.0))
                .filter(subscriptions::tenant_id.eq(tenant.0))
                .select(subscriptions::self_service_buyer_id)
                .first::<Option<i64>>(conn)
                .optional()?
                .flatten();
            Some(UserId(buyer.ok_or(DomainError::NotFound)?))
        }
    };
    Ok(Target::Pool { tenant, buyer })
}
