//! A user's Licenses and apps, and Manage product licenses for many users at once.

use super::*;
use crate::domain::users::user_email;

/// Says which product ran out, for forms that assign several at once.
pub(crate) fn name_pool_error(
    conn: &mut DbConnection,
    product: ProductId,
    e: DomainError,
) -> DomainError {
    match e {
        DomainError::NoLicensesLeft { available } => {
            let name: String = products::table
                .find(product.0)
                .select(products::name)
                .first(conn)
                .unwrap_or_else(|_| "this product".into());
            DomainError::Conflict(format!(
                "There are not enough {name} licenses: {available} available. {}",
                MORE_LICENSES
            ))
        }
        other => other,
    }
}

/// The seeds' ways to get licenses when they run out.
pub const MORE_LICENSES: &str = "To get more, buy more licenses, remove licenses from other users, or delete users who no longer need them.";

/// Licenses and apps: gives `user` exactly `products` among the tenant's pools (self-service
/// licenses are left alone). One transaction: all changes or none.
pub fn set_licenses(
    conn: &mut DbConnection,
    actor: &Actor,
    now: DateTime<Utc>,
    tenant: TenantId,
    user: UserId,
    products: &[ProductId],
) -> Result<(usize, usize), DomainError> {
    authz::may(
        actor,
        Action::AssignLicenses,
        &authz::Target::Tenant(tenant),
    )?;
    crate::domain::db::transaction(conn, |conn| {
        lock(conn, tenant)?;
        user_email(conn, tenant, user, false)?;
        let licenses = held_by(conn, tenant, user)?;
        let held: BTreeSet<ProductId> = licenses
            .iter()
            .filter(|l| matches!(l.pool, PoolRef::Tenant(_)))
            .map(|l| l.product)
            .collect();
        // An inherited license's box is shown checked and disabled, so the form never sends
        // it: it stays, whatever the form says.
        let mut wanted: BTreeSet<ProductId> = products.iter().copied().collect();
        wanted.extend(
            licenses
                .iter()
                .filter(|l| l.only_inherited())
                .map(|l| l.product),
        );
        let mut removed = 0;
        for product in held.difference(&wanted) {
            unassign_locked(conn, actor, now, tenant, PoolRef::Tenant(*product), &[user])?;
            removed += 1;
        }
        let mut added = 0;
        for product in wanted.difference(&held) {
            assign_locked(conn, actor, now, tenant, PoolRef::Tenant(*product), &[user])
                .map_err(|e| name_pool_error(conn, *product, e))?;
            added += 1;
        }
        Ok((added, removed))
    })
}

/// Manage product licenses: what to do to several users at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ManageMode {
    /// Add the chosen products; keep what they have.
    AssignMore,
    /// Give exactly the chosen products; remove the others.
    Replace,
    /// Remove every license from the tenant's pools.
    UnassignAll,
}

/// What happened to one user in Manage product licenses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManageOutcome {
    pub user: UserId,
    pub display_name: String,
    pub assigned: Vec<String>,
    pub unassigned: Vec<String>,
    /// Products the user did not get, with why.
    pub not_assigned: Vec<(String, String)>,
    /// Products left as they were because only groups give them, with the groups' names.
    pub kept_inherited: Vec<(String, String)>,
}

/// Manage product licenses on several users, in one transaction. A product with fewer
/// available licenses than users who need it is given to none of them, and each of those
/// users is told why; the rest goes ahead.
pub fn manage_licenses(
    conn: &mut DbConnection,
    actor: &Actor,
    now: DateTime<Utc>,
    tenant: TenantId,
    users_chosen: &[UserId],
    mode: ManageMode,
    products_chosen: &[ProductId],
) -> Result<Vec<ManageOutcome>, DomainError> {
    authz::may(
        actor,
        Action::AssignLicenses,
        &authz::Target::Tenant(tenant),
    )?;
    if users_chosen.is_empty() {
        return Err(DomainError::invalid("users", "Select at least one user."));
    }
    if mode != ManageMode::UnassignAll && products_chosen.is_empty() {
        return Err(DomainError::invalid(
            "products",
            "Select at least one product.",
        ));
    }
    crate::domain::db::transaction(conn, |conn| {
        lock(conn, tenant)?;
        let mut outcomes: BTreeMap<i64, ManageOutcome> = BTreeMap::new();
        let mut held: BTreeMap<i64, BTreeSet<ProductId>> = BTreeMap::new();
        let mut inherited_only: BTreeMap<i64, BTreeMap<ProductId, String>> = BTreeMap::new();
        let mut holders = licenses_of_users(conn, tenant, users_chosen)?;
        for user in users_chosen {
            let Some(holder) = holders.remove(&user.0) else {
                continue; // chosen twice
            };
            held.insert(
                user.0,
                holder
                    .licenses
                    .iter()
                    .filter(|l| l.tenant_pool)
                    .map(|l| l.product)
                    .collect(),
            );
            inherited_only.insert(
                user.0,
                holder
                    .licenses
                    .iter()
                    .filter(|l| l.only_inherited())
                    .map(|l| (l.product, l.inherited_from.join(", ")))
                    .collect(),
            );
            outcomes.insert(
                user.0,
                ManageOutcome {
                    user: *user,
                    display_name: holder.display_name,
                    assigned: vec![],
                    unassigned: vec![],
                    not_assigned: vec![],
                    kept_inherited: vec![],
                },
            );
        }
        let names: BTreeMap<i64, String> = products::table
            .select((products::id, products::name))
            .load::<(i64, String)>(conn)?
            .into_iter()
            .collect();
        let chosen: BTreeSet<ProductId> = products_chosen.iter().copied().collect();

        // Removals first, so Replace can reuse freed licenses.
        let mut to_remove: BTreeMap<ProductId, Vec<UserId>> = BTreeMap::new();
        for (user, products) in &held {
            for product in products {
                let remove = match mode {
                    ManageMode::AssignMore => false,
                    ManageMode::Replace => !chosen.contains(product),
                    ManageMode::UnassignAll => true,
                };
                if !remove {
                    continue;
                }
                // Inherited only: changed through the group; the user keeps it.
                match inherited_only.get(user).and_then(|p| p.get(product)) {
                    Some(groups) => {
                        if let Some(o) = outcomes.get_mut(user) {
                            o.kept_inherited.push((
                                names.get(&product.0).cloned().unwrap_or_default(),
                                groups.clone(),
                            ));
                        }
                    }
                    None => to_remove.entry(*product).or_default().push(UserId(*user)),
                }
            }
        }
        for (product, who) in &to_remove {
            unassign_locked(conn, actor, now, tenant, PoolRef::Tenant(*product), who)?;
            for user in who {
                if let Some(o) = outcomes.get_mut(&user.0) {
                    o.unassigned
                        .push(names.get(&product.0).cloned().unwrap_or_default());
                }
            }
        }
        if mode != ManageMode::UnassignAll {
            for product in &chosen {
                let name = names
                    .get(&product.0)
                    .cloned()
                    .ok_or(DomainError::NotFound)?;
                let who: Vec<UserId> = held
                    .iter()
                    .filter(|(_, p)| !p.contains(product))
                    .map(|(u, _)| UserId(*u))
                    .collect();
                if who.is_empty() {
                    continue;
                }
                match assign_locked(conn, actor, now, tenant, PoolRef::Tenant(*product), &who) {
                    Ok(done) => {
                        for user in done.assigned {
                            if let Some(o) = outcomes.get_mut(&user.0) {
                                o.assigned.push(name.clone());
                            }
                        }
                    }
                    Err(DomainError::NoLicensesLeft { available }) => {
                        let why = format!(
                            "not enough licenses: {available} available for {} users",
                            who.len()
                        );
                        for user in who {
                            if let Some(o) = outcomes.get_mut(&user.0) {
                                o.not_assigned.push((name.clone(), why.clone()));
                            }
                        }
                    }
                    Err(e) => return Err(e),
                }
            }
        }
        Ok(users_chosen
            .iter()
            .filter_map(|u| outcomes.remove(&u.0))
            .collect())
    })
}
