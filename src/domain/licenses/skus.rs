//! The tenant's license pools as the JSON API names them (Microsoft Graph's `subscribedSkus`):
//! one entry per product, by a stored GUID per tenant and product (Graph's `skuId`), with its
//! counts by subscription state and the apps (service plans) it carries.

use super::*;
use crate::domain::schema::{apps_turned_off, license_pools};

/// One product's licenses in a tenant, over all its pools (the tenant's own and any
/// self-service purchases, as Graph lists one entry per SKU).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubscribedSku {
    pub product: ProductId,
    /// The pool's GUID: Graph's `skuId`.
    pub sku_id: String,
    /// The product code: Graph's `skuPartNumber`.
    pub code: String,
    pub name: String,
    /// Licenses of active subscriptions.
    pub enabled: i64,
    /// Licenses of past-due subscriptions: still usable, in their grace period.
    pub warning: i64,
    /// Licenses of disabled subscriptions: not usable until the payment is fixed.
    pub suspended: i64,
    /// Licenses assigned, as the Licenses page counts them.
    pub consumed: i64,
    pub plans: Vec<ServicePlan>,
}

impl SubscribedSku {
    /// Graph's `capabilityStatus`.
    pub fn status(&self) -> &'static str {
        if self.enabled > 0 {
            "Enabled"
        } else if self.warning > 0 {
            "Warning"
        } else {
            "Suspended"
        }
    }
}

/// An app of a product as Graph names it: a service plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServicePlan {
    pub id: String,
    pub name: String,
}

/// A license a user holds, as Graph's `assignedLicenses` lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssignedSku {
    pub sku_id: String,
    /// The service plan ids of the apps turned off in it.
    pub disabled_plans: Vec<String>,
}

/// The tenant's products with licenses or assignments, by name: what the Licenses page lists,
/// summed per product.
pub fn subscribed_skus(
    conn: &mut DbConnection,
    actor: &Actor,
    tenant: TenantId,
) -> Result<Vec<SubscribedSku>, DomainError> {
    authz::may(actor, Action::ViewLicenses, &Target::Tenant(tenant))?;
    let pools = load_pools(conn, tenant)?;
    let mut products: Vec<ProductId> = pools.iter().map(|p| p.product).collect();
    products.sort();
    products.dedup();
    let ids = pool_ids(conn, tenant, &products)?;
    let by_state: Vec<(i64, SubscriptionState, i32)> = subscriptions::table
        .filter(subscriptions::tenant_id.eq(tenant.0))
        .filter(subscriptions::state.eq_any(LISTED_STATES))
        .select((
            subscriptions::product_id,
            subscriptions::state,
            subscriptions::quantity,
        ))
        .load(conn)?;
    let catalog: Vec<(i64, String, String)> = products::table
        .filter(products::id.eq_any(products.iter().map(|p| p.0).collect::<Vec<_>>()))
        .select((products::id, products::code, products::name))
        .load(conn)?;
    let services: Vec<(i64, String)> = product_services::table
        .filter(
            product_services::product_id.eq_any(products.iter().map(|p| p.0).collect::<Vec<_>>()),
        )
        .order((product_services::product_id, product_services::id))
        .select((product_services::product_id, product_services::name))
        .load(conn)?;
    let mut skus: Vec<SubscribedSku> = catalog
        .into_iter()
        .map(|(id, code, name)| {
            let product = ProductId(id);
            let quantity = |state: SubscriptionState| -> i64 {
                by_state
                    .iter()
                    .filter(|(p, s, _)| *p == id && *s == state)
                    .map(|(_, _, q)| i64::from(*q))
                    .sum()
            };
            let plans = services
                .iter()
                .filter(|(p, _)| *p == id)
                .map(|(_, service)| ServicePlan {
                    id: service_plan_id(&code, service),
                    name: service_plan_name(service),
                })
                .collect();
            SubscribedSku {
                product,
                sku_id: ids.get(&product).cloned().unwrap_or_default(),
                enabled: quantity(SubscriptionState::Active),
                warning: quantity(SubscriptionState::PastDue),
                suspended: quantity(SubscriptionState::Disabled),
                consumed: pools
                    .iter()
                    .filter(|p| p.product == product)
                    .map(|p| p.assigned)
                    .sum(),
                code,
                name,
                plans,
            }
        })
        .collect();
    skus.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(skus)
}

/// The licenses each of `users` (of `tenant`) holds, by their pools' GUIDs, with the apps
/// turned off in each. One query per thousand users for each of assignments and apps.
pub(crate) fn assigned_skus(
    conn: &mut DbConnection,
    tenant: TenantId,
    users: &[UserId],
) -> Result<BTreeMap<UserId, Vec<AssignedSku>>, DomainError> {
    let mut held: Vec<(i64, i64)> = Vec::new();
    let mut off: Vec<(i64, i64, String, String)> = Vec::new();
    // By user only, the tenant checked on each row here: with `tenant_id = ?` in the query,
    // SQLite walks the tenant's whole index (2M rows at 1M users) instead of probing by user.
    for chunk in users.chunks(1000) {
        let keys: Vec<i64> = chunk.iter().map(|u| u.0).collect();
        held.extend(
            license_assignments::table
                .filter(license_assignments::user_id.eq_any(&keys))
                .select((
                    license_assignments::tenant_id,
                    license_assignments::user_id,
                    license_assignments::product_id,
                ))
                .load::<(i64, i64, i64)>(conn)?
                .into_iter()
                .filter(|(t, _, _)| *t == tenant.0)
                .map(|(_, user, product)| (user, product)),
        );
        off.extend(
            apps_turned_off::table
                .inner_join(product_services::table)
                .inner_join(products::table.on(products::id.eq(apps_turned_off::product_id)))
                .filter(apps_turned_off::user_id.eq_any(&keys))
                .select((
                    apps_turned_off::tenant_id,
                    apps_turned_off::user_id,
                    apps_turned_off::product_id,
                    products::code,
                    product_services::name,
                ))
                .load::<(i64, i64, i64, String, String)>(conn)?
                .into_iter()
                .filter(|(t, ..)| *t == tenant.0)
                .map(|(_, user, product, code, service)| (user, product, code, service)),
        );
    }
    let mut products: Vec<ProductId> = held.iter().map(|(_, p)| ProductId(*p)).collect();
    products.sort();
    products.dedup();
    let ids = pool_ids(conn, tenant, &products)?;
    let mut out: BTreeMap<UserId, Vec<AssignedSku>> = BTreeMap::new();
    held.sort();
    for (user, product) in held {
        let mut disabled_plans: Vec<String> = off
            .iter()
            .filter(|(u, p, _, _)| *u == user && *p == product)
            .map(|(_, _, code, service)| service_plan_id(code, service))
            .collect();
        disabled_plans.sort();
        out.entry(UserId(user)).or_default().push(AssignedSku {
            sku_id: ids.get(&ProductId(product)).cloned().unwrap_or_default(),
            disabled_plans,
        });
    }
    Ok(out)
}

/// The GUID of the tenant's pool of each product. A pool the migration did not know (its
/// first subscription came later) gets one now, once: the row is kept, so the id is stable.
pub(crate) fn pool_ids(
    conn: &mut DbConnection,
    tenant: TenantId,
    products: &[ProductId],
) -> Result<BTreeMap<ProductId, String>, DomainError> {
    let keys: Vec<i64> = products.iter().map(|p| p.0).collect();
    let read = |conn: &mut DbConnection| -> Result<BTreeMap<ProductId, String>, DomainError> {
        Ok(license_pools::table
            .filter(license_pools::tenant_id.eq(tenant.0))
            .filter(license_pools::product_id.eq_any(&keys))
            .select((license_pools::product_id, license_pools::sku_id))
            .load::<(i64, String)>(conn)?
            .into_iter()
            .map(|(p, id)| (ProductId(p), id))
            .collect())
    };
    let mut ids = read(conn)?;
    let missing: Vec<_> = products
        .iter()
        .filter(|p| !ids.contains_key(p))
        .map(|p| {
            (
                license_pools::tenant_id.eq(tenant.0),
                license_pools::product_id.eq(p.0),
                license_pools::sku_id.eq(uuid::Uuid::new_v4().to_string()),
            )
        })
        .collect();
    if !missing.is_empty() {
        // Two first readers at once: one row wins, and both read it back.
        match conn {
            DbConnection::Sqlite(c) => diesel::insert_into(license_pools::table)
                .values(&missing)
                .on_conflict_do_nothing()
                .execute(c)?,
            DbConnection::Postgresql(c) => diesel::insert_into(license_pools::table)
                .values(&missing)
                .on_conflict_do_nothing()
                .execute(c)?,
        };
        ids = read(conn)?;
    }
    Ok(ids)
}

/// A stable GUID for an app of a product, the same in every installation: derived from the
/// product's code and the app's name (a version 8 UUID of their SHA-256), as Graph's service
/// plan ids are fixed per plan. Renaming the app gives it a new id.
pub fn service_plan_id(product_code: &str, service: &str) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(format!("allot service plan\0{product_code}\0{service}"));
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    uuid::Builder::from_custom_bytes(bytes)
        .into_uuid()
        .to_string()
}

/// Graph's `servicePlanName` style: upper case, words joined by underscores.
pub(crate) fn service_plan_name(service: &str) -> String {
    let mut name = String::new();
    for word in service
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
    {
        if !name.is_empty() {
            name.push('_');
        }
        name.push_str(&word.to_ascii_uppercase());
    }
    name
}
