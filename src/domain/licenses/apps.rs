//! Apps (service plans): the services a product carries, each on or off in one user's
//! license. Turning an app off keeps the license; an app that holds data keeps it for 30 days
//! (the seeds' rule for a removed license, applied to one app), and turning it back on within
//! that time keeps it.

use super::*;
use crate::domain::ServiceId;
use crate::domain::users::user_email;

/// One app of a product in a user's license.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct App {
    pub id: ServiceId,
    pub name: String,
    pub holds_data: bool,
    pub on: bool,
    /// Until when the data of this app, turned off, is kept.
    pub held_until: Option<DateTime<Utc>>,
}

/// A license a user holds, with its apps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LicenseApps {
    pub product: ProductId,
    pub product_name: String,
    /// From a self-service purchase, whose apps only its buyer manages.
    pub self_service: bool,
    /// False when the user is beyond the count of a pool in conflict.
    pub usable: bool,
    /// The groups it comes from (besides a direct assignment or not): its apps are changed
    /// through the group, not on the user.
    pub from_groups: Vec<String>,
    pub apps: Vec<App>,
}

impl LicenseApps {
    /// The names of the apps turned on.
    pub fn apps_on(&self) -> Vec<String> {
        self.apps
            .iter()
            .filter(|a| a.on)
            .map(|a| a.name.clone())
            .collect()
    }

    /// A license whose product has apps, all of them off: it gives no service.
    pub fn every_app_off(&self) -> bool {
        !self.apps.is_empty() && self.apps.iter().all(|a| !a.on)
    }
}

/// Whether `user` has `service` of `product` now: holds the license and the app is on.
pub(crate) fn has_app(
    conn: &mut DbConnection,
    tenant: TenantId,
    user: UserId,
    product: ProductId,
    service: ServiceId,
) -> Result<bool, DomainError> {
    let holds: i64 = license_assignments::table
        .filter(license_assignments::tenant_id.eq(tenant.0))
        .filter(license_assignments::user_id.eq(user.0))
        .filter(license_assignments::product_id.eq(product.0))
        .count()
        .get_result(conn)?;
    Ok(holds > 0
        && !apps_off(conn, tenant, user)?
            .get(&product)
            .is_some_and(|off| off.contains(&service)))
}

/// The licenses `user` holds, each with its apps (in the order the product lists them) on or
/// off and the hold of those turned off: what the service gives them. No permission check: for the domain's own callers (the
/// portal, the user's page).
pub(crate) fn effective_apps(
    conn: &mut DbConnection,
    tenant: TenantId,
    user: UserId,
) -> Result<Vec<LicenseApps>, DomainError> {
    let held = held_by(conn, tenant, user)?;
    let products: Vec<i64> = held.iter().map(|l| l.product.0).collect();
    let services: Vec<(i64, i64, String, bool)> = product_services::table
        .filter(product_services::product_id.eq_any(&products))
        .order((product_services::product_id, product_services::id))
        .select((
            product_services::id,
            product_services::product_id,
            product_services::name,
            product_services::holds_data,
        ))
        .load(conn)?;
    let holds: BTreeMap<i64, DateTime<Utc>> = data_holds::table
        .filter(data_holds::tenant_id.eq(tenant.0))
        .filter(data_holds::user_id.eq(user.0))
        .select((data_holds::service_id, data_holds::held_until))
        .load::<(Option<i64>, chrono::NaiveDateTime)>(conn)?
        .into_iter()
        .filter_map(|(service, until)| Some((service?, utc(until))))
        .collect();
    let off = apps_off(conn, tenant, user)?;
    let none = BTreeSet::new();
    Ok(held
        .into_iter()
        .map(|l| {
            let off = off.get(&l.product).unwrap_or(&none);
            LicenseApps {
                apps: services
                    .iter()
                    .filter(|(_, product, _, _)| *product == l.product.0)
                    .map(|(id, _, name, holds_data)| {
                        let on = !off.contains(&ServiceId(*id));
                        App {
                            id: ServiceId(*id),
                            name: name.clone(),
                            holds_data: *holds_data,
                            on,
                            held_until: if on { None } else { holds.get(id).copied() },
                        }
                    })
                    .collect(),
                self_service: l.from_self_service(),
                from_groups: l.inherited_from.clone(),
                usable: l.usable,
                product: l.product,
                product_name: l.product_name,
            }
        })
        .collect())
}

/// Licenses and apps > Apps: every license `user` holds with its apps, on or off.
pub fn apps_of(
    conn: &mut DbConnection,
    actor: &Actor,
    tenant: TenantId,
    user: UserId,
) -> Result<Vec<LicenseApps>, DomainError> {
    authz::may(actor, Action::ViewUsers, &Target::Tenant(tenant))?;
    user_email(conn, tenant, user, false)?;
    effective_apps(conn, tenant, user)
}

/// An app `set_apps` turned off.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TurnedOff {
    pub name: String,
    /// Until when its data is kept; `None` for an app that holds none.
    pub held_until: Option<DateTime<Utc>>,
}

/// An app `set_apps` turned on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TurnedOn {
    pub name: String,
    /// Its data was still held, and is kept.
    pub data_kept: bool,
}

/// What `set_apps` changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppsChanged {
    pub product_name: String,
    pub turned_off: Vec<TurnedOff>,
    pub turned_on: Vec<TurnedOn>,
}

/// Turns on exactly the apps `on` of `user`'s license of `product`, and the others off; the
/// license stays. An app that holds data starts its 30-day hold when turned off; turned on
/// before the hold runs out, its data is kept. A user, license or app that isn't there (or
/// is another tenant's) changes nothing. One transaction, under the tenant's license lock.
pub fn set_apps(
    conn: &mut DbConnection,
    actor: &Actor,
    now: DateTime<Utc>,
    tenant: TenantId,
    user: UserId,
    product: ProductId,
    on: &[ServiceId],
) -> Result<AppsChanged, DomainError> {
    authz::may(actor, Action::AssignLicenses, &Target::Tenant(tenant))?;
    crate::domain::db::transaction(conn, |conn| {
        lock(conn, tenant)?;
        set_apps_locked(conn, actor, now, tenant, user, product, on)
    })
}

/// `set_apps` inside a transaction that already holds the tenant's license lock.
pub(crate) fn set_apps_locked(
    conn: &mut DbConnection,
    actor: &Actor,
    now: DateTime<Utc>,
    tenant: TenantId,
    user: UserId,
    product: ProductId,
    on: &[ServiceId],
) -> Result<AppsChanged, DomainError> {
    let email = user_email(conn, tenant, user, false)?;
    let self_service: Option<i64> = license_assignments::table
        .filter(license_assignments::tenant_id.eq(tenant.0))
        .filter(license_assignments::user_id.eq(user.0))
        .filter(license_assignments::product_id.eq(product.0))
        .select(license_assignments::self_service_subscription_id)
        .first::<Option<i64>>(conn)
        .optional()?
        .ok_or(DomainError::NotFound)?;
    let pool = match self_service {
        Some(sub) => PoolRef::SelfService(SubscriptionId(sub)),
        None => PoolRef::Tenant(product),
    };
    // A self-service license's apps are its buyer's to manage, as the license is.
    authz::may(
        actor,
        Action::AssignLicenses,
        &pool_target(conn, tenant, pool)?,
    )?;
    let product_name: String = products::table
        .find(product.0)
        .select(products::name)
        .first(conn)?;
    // Inherited licenses are changed through the group (DESIGN.md, Group): while a group
    // gives the seat, the user has every app it turns on, whatever is chosen here.
    if let Some(groups) = sources_of(conn, user)?.remove(&product.0) {
        return Err(DomainError::Conflict(format!(
            "{email} has {product_name} through a group ({}): change its apps through the group.",
            groups.join(", ")
        )));
    }
    let services: Vec<(i64, String, bool)> = product_services::table
        .filter(product_services::product_id.eq(product.0))
        .order(product_services::id)
        .select((
            product_services::id,
            product_services::name,
            product_services::holds_data,
        ))
        .load(conn)?;
    if on
        .iter()
        .any(|s| !services.iter().any(|(id, _, _)| *id == s.0))
    {
        return Err(DomainError::invalid(
            "apps",
            format!("Choose among the apps of {product_name}."),
        ));
    }
    let off_before: BTreeSet<i64> = apps_turned_off::table
        .filter(apps_turned_off::user_id.eq(user.0))
        .filter(apps_turned_off::product_id.eq(product.0))
        .select(apps_turned_off::service_id)
        .load::<i64>(conn)?
        .into_iter()
        .collect();
    let mut changed = AppsChanged {
        product_name: product_name.clone(),
        turned_off: vec![],
        turned_on: vec![],
    };
    for (id, name, holds_data) in &services {
        let want_on = on.iter().any(|s| s.0 == *id);
        let was_on = !off_before.contains(id);
        let app_hold = data_holds::table
            .filter(data_holds::user_id.eq(user.0))
            .filter(data_holds::product_id.eq(product.0))
            .filter(data_holds::service_id.eq(*id));
        if was_on && !want_on {
            diesel::insert_into(apps_turned_off::table)
                .values((
                    apps_turned_off::tenant_id.eq(tenant.0),
                    apps_turned_off::user_id.eq(user.0),
                    apps_turned_off::product_id.eq(product.0),
                    apps_turned_off::service_id.eq(*id),
                    apps_turned_off::turned_off_at.eq(naive(now)),
                ))
                .execute(conn)?;
            let held_until = if *holds_data {
                let until = now + DATA_HOLD;
                diesel::delete(app_hold).execute(conn)?;
                diesel::insert_into(data_holds::table)
                    .values((
                        data_holds::tenant_id.eq(tenant.0),
                        data_holds::user_id.eq(user.0),
                        data_holds::product_id.eq(product.0),
                        data_holds::service_id.eq(Some(*id)),
                        data_holds::held_until.eq(naive(until)),
                        data_holds::created_at.eq(naive(now)),
                    ))
                    .execute(conn)?;
                Some(until)
            } else {
                None
            };
            let hold = held_until
                .map(|d| format!("; data kept until {}", d.format("%Y-%m-%d")))
                .unwrap_or_default();
            audit::record(
                conn,
                actor,
                now,
                Some(tenant),
                "Turned off app",
                &email,
                &format!("{product_name}: {name}{hold}"),
            )?;
            changed.turned_off.push(TurnedOff {
                name: name.clone(),
                held_until,
            });
        } else if !was_on && want_on {
            diesel::delete(
                apps_turned_off::table
                    .filter(apps_turned_off::user_id.eq(user.0))
                    .filter(apps_turned_off::product_id.eq(product.0))
                    .filter(apps_turned_off::service_id.eq(*id)),
            )
            .execute(conn)?;
            // Back within its hold: the data is kept.
            let data_kept = diesel::delete(app_hold).execute(conn)? > 0;
            let kept = if data_kept { "; held data kept" } else { "" };
            audit::record(
                conn,
                actor,
                now,
                Some(tenant),
                "Turned on app",
                &email,
                &format!("{product_name}: {name}{kept}"),
            )?;
            changed.turned_on.push(TurnedOn {
                name: name.clone(),
                data_kept,
            });
        }
    }
    Ok(changed)
}
