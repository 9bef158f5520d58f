//! Microsoft Graph's `assignLicense` for one user: licenses removed and added, each added one
//! with the apps (service plans) to turn off, in one transaction under the tenant's license
//! lock. All or nothing: a refusal of any part changes nothing. And `licenseDetails`: the
//! licenses a user holds with each app on or off.

use super::*;
use crate::domain::ServiceId;
use crate::domain::schema::license_pools;
use crate::domain::users::{DirectoryUser, UserKey, find_directory_user};

/// A license to add: the pool's GUID (Graph's `skuId`) and the service plan ids of the apps to
/// turn off in it (Graph's `disabledPlans`; every other app is on).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LicenseToAdd {
    pub sku_id: String,
    pub disabled_plans: Vec<String>,
}

/// What `assign_license` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LicenseChange {
    /// Every change was made; the user as they are now.
    Done(DirectoryUser),
    /// Too few licenses of a product were left: nothing was changed.
    TooFew {
        product_name: String,
        sku_id: String,
        available: i64,
    },
}

/// Graph's message for a license the user has only through groups.
pub const INHERITED_REFUSAL: &str = "User license is inherited from a group membership";

/// Removes the licenses `remove` from `user` and adds `add`, as Graph's `assignLicense`: one
/// transaction under the tenant's license lock, all or nothing. An added license the user
/// holds already keeps its seat and gets the apps asked for. A `skuId` or service plan id
/// the tenant doesn't have is refused (`Invalid`), so is removing a license the user doesn't
/// hold or has only through a group; a user of another tenant is not found.
pub fn assign_license(
    conn: &mut DbConnection,
    actor: &Actor,
    now: DateTime<Utc>,
    tenant: TenantId,
    user: &UserKey,
    add: &[LicenseToAdd],
    remove: &[String],
) -> Result<LicenseChange, DomainError> {
    let tenant_pool = Target::Pool {
        tenant,
        buyer: None,
    };
    authz::may(actor, Action::AssignLicenses, &tenant_pool)?;
    let mut short_of: Option<(String, String)> = None;
    let done = crate::domain::db::transaction(conn, |conn| {
        short_of = None;
        lock(conn, tenant)?;
        // Under the lock, as every change of licenses: the token may have been revoked or the
        // admin's role changed since the first check only in a way `may` sees again here.
        authz::may(actor, Action::AssignLicenses, &tenant_pool)?;
        let who = find_directory_user(conn, tenant, user)?.id;
        let removing = products_of_skus(conn, tenant, remove, "removeLicenses")?;
        let adding = products_of_skus(
            conn,
            tenant,
            &add.iter().map(|a| a.sku_id.clone()).collect::<Vec<_>>(),
            "addLicenses",
        )?;
        if let Some((sku, _)) = adding
            .iter()
            .find(|(_, p)| removing.iter().any(|(_, r)| r == p))
        {
            return Err(DomainError::invalid(
                "removeLicenses",
                format!("License {sku} can't be both added and removed."),
            ));
        }
        for (sku, product) in &removing {
            let held: Option<(bool, Option<i64>)> = license_assignments::table
                .filter(license_assignments::tenant_id.eq(tenant.0))
                .filter(license_assignments::user_id.eq(who.0))
                .filter(license_assignments::product_id.eq(product.0))
                .select((
                    license_assignments::direct,
                    license_assignments::self_service_subscription_id,
                ))
                .first(conn)
                .optional()?;
            match held {
                None => {
                    return Err(DomainError::invalid(
                        "removeLicenses",
                        format!("User does not have a license {sku} to remove."),
                    ));
                }
                Some((_, Some(_))) => {
                    return Err(DomainError::Refused(SELF_SERVICE_REFUSAL.into()));
                }
                Some((false, None)) => {
                    let groups = sources_of(conn, who)?
                        .remove(&product.0)
                        .unwrap_or_default()
                        .join(", ");
                    return Err(DomainError::invalid(
                        "removeLicenses",
                        format!(
                            "{INHERITED_REFUSAL} ({groups}): license {sku} can't be removed \
                             from the user. Remove the user from the group, or the license \
                             from the group."
                        ),
                    ));
                }
                Some((true, None)) => {
                    unassign_locked(conn, actor, now, tenant, PoolRef::Tenant(*product), &[who])?;
                }
            }
        }
        for (wanted, (sku, product)) in add.iter().zip(&adding) {
            let services: Vec<(i64, String)> = product_services::table
                .filter(product_services::product_id.eq(product.0))
                .order(product_services::id)
                .select((product_services::id, product_services::name))
                .load(conn)?;
            let code: String = products::table
                .find(product.0)
                .select(products::code)
                .first(conn)?;
            let mut off: BTreeSet<i64> = BTreeSet::new();
            for plan in &wanted.disabled_plans {
                let id = services
                    .iter()
                    .find(|(_, name)| service_plan_id(&code, name).eq_ignore_ascii_case(plan))
                    .map(|(id, _)| *id)
                    .ok_or_else(|| {
                        DomainError::invalid(
                            "disabledPlans",
                            format!("Service plan {plan} is not a plan of license {sku}."),
                        )
                    })?;
                off.insert(id);
            }
            match assign_locked(conn, actor, now, tenant, PoolRef::Tenant(*product), &[who]) {
                Err(DomainError::NoLicensesLeft { available }) => {
                    let name: String = products::table
                        .find(product.0)
                        .select(products::name)
                        .first(conn)?;
                    short_of = Some((name, sku.clone()));
                    return Err(DomainError::NoLicensesLeft { available });
                }
                other => other?,
            };
            let off_now: BTreeSet<i64> = apps_turned_off::table
                .filter(apps_turned_off::user_id.eq(who.0))
                .filter(apps_turned_off::product_id.eq(product.0))
                .select(apps_turned_off::service_id)
                .load::<i64>(conn)?
                .into_iter()
                .collect();
            if off_now != off {
                let on: Vec<ServiceId> = services
                    .iter()
                    .filter(|(id, _)| !off.contains(id))
                    .map(|(id, _)| ServiceId(*id))
                    .collect();
                set_apps_locked(conn, actor, now, tenant, who, *product, &on)?;
            }
        }
        find_directory_user(conn, tenant, user)
    });
    match (done, short_of) {
        (Ok(user), _) => Ok(LicenseChange::Done(user)),
        (Err(DomainError::NoLicensesLeft { available }), Some((product_name, sku_id))) => {
            Ok(LicenseChange::TooFew {
                product_name,
                sku_id,
                available,
            })
        }
        (Err(e), _) => Err(e),
    }
}

/// The products of the tenant's pools `skus` names (GUIDs, any case), in their order; one
/// the tenant has no pool of, or one named twice, is refused as `field`.
pub(crate) fn products_of_skus(
    conn: &mut DbConnection,
    tenant: TenantId,
    skus: &[String],
    field: &'static str,
) -> Result<Vec<(String, ProductId)>, DomainError> {
    let mut found = Vec::with_capacity(skus.len());
    for sku in skus {
        let sku = sku.trim().to_ascii_lowercase();
        // Every skuId is a GUID: anything else names no license (and a NUL would not even
        // reach PostgreSQL's text).
        if uuid::Uuid::parse_str(&sku).is_err() {
            return Err(DomainError::invalid(
                field,
                format!(
                    "License {} does not correspond to a valid company License.",
                    sku.escape_debug()
                ),
            ));
        }
        let product: Option<i64> = license_pools::table
            .filter(license_pools::tenant_id.eq(tenant.0))
            .filter(license_pools::sku_id.eq(&sku))
            .select(license_pools::product_id)
            .first(conn)
            .optional()?;
        let product = product.ok_or_else(|| {
            DomainError::invalid(
                field,
                format!("License {sku} does not correspond to a valid company License."),
            )
        })?;
        if found.iter().any(|(_, p)| *p == ProductId(product)) {
            return Err(DomainError::invalid(
                field,
                format!("License {sku} is named more than once."),
            ));
        }
        found.push((sku, ProductId(product)));
    }
    Ok(found)
}

/// One license a user holds, as Graph's `licenseDetails` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LicenseDetail {
    pub sku_id: String,
    /// The product code: Graph's `skuPartNumber`.
    pub code: String,
    /// The product's apps in its order, each on (`true`) or off.
    pub plans: Vec<(ServicePlan, bool)>,
}

/// The licenses `user` holds, by `skuId`, with each app (service plan) on or off. Readable
/// with the users' or the licenses' read rights.
pub fn license_details(
    conn: &mut DbConnection,
    actor: &Actor,
    tenant: TenantId,
    user: &UserKey,
) -> Result<Vec<LicenseDetail>, DomainError> {
    authz::may(actor, Action::ViewUsers, &Target::Tenant(tenant))
        .or_else(|_| authz::may(actor, Action::ViewLicenses, &Target::Tenant(tenant)))?;
    let who = find_directory_user(conn, tenant, user)?.id;
    let held = effective_apps(conn, tenant, who)?;
    let mut products: Vec<ProductId> = held.iter().map(|l| l.product).collect();
    products.sort();
    products.dedup();
    let ids = pool_ids(conn, tenant, &products)?;
    let codes: BTreeMap<i64, String> = products::table
        .filter(products::id.eq_any(products.iter().map(|p| p.0).collect::<Vec<_>>()))
        .select((products::id, products::code))
        .load::<(i64, String)>(conn)?
        .into_iter()
        .collect();
    Ok(held
        .into_iter()
        .map(|license| {
            let code = codes.get(&license.product.0).cloned().unwrap_or_default();
            LicenseDetail {
                sku_id: ids.get(&license.product).cloned().unwrap_or_default(),
                plans: license
                    .apps
                    .iter()
                    .map(|app| {
                        (
                            ServicePlan {
                                id: service_plan_id(&code, &app.name),
                                name: service_plan_name(&app.name),
                            },
                            app.on,
                        )
                    })
                    .collect(),
                code,
            }
        })
        .collect())
}
