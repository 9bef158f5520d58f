//! What a user holds, and the data kept for 30 days after a license is removed.

use super::*;

/// A product a user holds, and whether the service admits them with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeldLicense {
    pub product: ProductId,
    pub product_name: String,
    pub pool: PoolRef,
    pub assigned_at: DateTime<Utc>,
    /// False when the user is beyond the count of a pool in conflict.
    pub usable: bool,
    /// Assigned to the user directly (it may come from groups as well).
    pub direct: bool,
    /// The groups it is inherited from, by name.
    pub inherited_from: Vec<String>,
}

impl HeldLicense {
    /// Only groups give it: it is changed through the group, not on the user.
    pub fn only_inherited(&self) -> bool {
        !self.direct && !self.inherited_from.is_empty()
    }
}

/// The licenses `user` holds, each with whether it admits them to the service now.
pub(crate) fn held_by(
    conn: &mut DbConnection,
    tenant: TenantId,
    user: UserId,
) -> Result<Vec<HeldLicense>, DomainError> {
    let mut sources = sources_of(conn, user)?;
    let rows: Vec<(i64, String, Option<i64>, chrono::NaiveDateTime, bool)> =
        license_assignments::table
            .inner_join(products::table)
            .filter(license_assignments::user_id.eq(user.0))
            .filter(license_assignments::tenant_id.eq(tenant.0))
            .order(products::name)
            .select((
                products::id,
                products::name,
                license_assignments::self_service_subscription_id,
                license_assignments::assigned_at,
                license_assignments::direct,
            ))
            .load(conn)?;
    // The pools' kept counts, as the Licenses page shows them: a live count of each pool's
    // assignments made a user's page grow with the tenant (issue 17).
    let pools = if rows.is_empty() {
        Vec::new()
    } else {
        load_pools(conn, tenant)?
    };
    let mut held = Vec::with_capacity(rows.len());
    for (product, name, self_service, at, direct) in rows {
        let pool = match self_service {
            Some(sub) => PoolRef::SelfService(SubscriptionId(sub)),
            None => PoolRef::Tenant(ProductId(product)),
        };
        // A pool no longer listed (its subscriptions ended) admits no one.
        let usable = match pools.iter().find(|p| p.pool() == pool) {
            Some(p) => {
                p.assigned <= p.licenses
                    || !beyond_the_count(conn, tenant, pool, p.assigned - p.licenses)?
                        .contains(&user.0)
            }
            None => false,
        };
        held.push(HeldLicense {
            product: ProductId(product),
            product_name: name,
            pool,
            assigned_at: utc(at),
            usable,
            direct,
            inherited_from: sources.remove(&product).unwrap_or_default(),
        });
    }
    Ok(held)
}

/// A user a bulk change is about, with the licenses they hold: what Manage product licenses
/// and its removal confirmation need, read for thousands of users in a few statements.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct UserLicenses {
    pub display_name: String,
    pub email: String,
    /// By product name, as a user's page lists them.
    pub licenses: Vec<Holding>,
}

/// One license of a `UserLicenses`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Holding {
    pub product: ProductId,
    pub product_name: String,
    /// From the tenant's pool (not a self-service purchase).
    pub tenant_pool: bool,
    pub direct: bool,
    /// The groups it is inherited from, by name.
    pub inherited_from: Vec<String>,
}

impl Holding {
    /// Only groups give it: it is changed through the group, not on the user.
    pub fn only_inherited(&self) -> bool {
        !self.direct && !self.inherited_from.is_empty()
    }
}

/// The not deleted users `ids` of `tenant` with their licenses, by id; NotFound when any is
/// not such a user. Three statements per thousand users, whatever the tenant's size (issue 17:
/// a user's whole detail, read one by one, made a 10,000-user change take seconds).
pub(crate) fn licenses_of_users(
    conn: &mut DbConnection,
    tenant: TenantId,
    ids: &[UserId],
) -> Result<BTreeMap<i64, UserLicenses>, DomainError> {
    use crate::domain::schema::{inherited_licenses, user_groups, users};
    let wanted: BTreeSet<i64> = ids.iter().map(|u| u.0).collect();
    let wanted: Vec<i64> = wanted.into_iter().collect();
    let mut found: BTreeMap<i64, UserLicenses> = BTreeMap::new();
    for chunk in wanted.chunks(1000) {
        let people: Vec<(i64, String, String)> = users::table
            .filter(users::tenant_id.eq(tenant.0))
            .filter(users::id.eq_any(chunk))
            .filter(users::state.ne(UserState::Deleted))
            .filter(users::purged_at.is_null())
            .select((users::id, users::display_name, users::email))
            .load(conn)?;
        if people.len() != chunk.len() {
            return Err(DomainError::NotFound);
        }
        // The users are this tenant's, so are their licenses: the two reads below go by user
        // alone, as `tenant_id = ?` would have SQLite walk the tenant's index instead.
        for (id, display_name, email) in people {
            let licenses = Vec::new();
            found.insert(
                id,
                UserLicenses {
                    display_name,
                    email,
                    licenses,
                },
            );
        }
        let mut sources: BTreeMap<(i64, i64), Vec<String>> = BTreeMap::new();
        for (user, product, group) in inherited_licenses::table
            .inner_join(user_groups::table)
            .filter(inherited_licenses::user_id.eq_any(chunk))
            .order(user_groups::name_key)
            .select((
                inherited_licenses::user_id,
                inherited_licenses::product_id,
                user_groups::name,
            ))
            .load::<(i64, i64, String)>(conn)?
        {
            sources.entry((user, product)).or_default().push(group);
        }
        for (user, product, name, self_service, direct) in license_assignments::table
            .inner_join(products::table)
            .filter(license_assignments::user_id.eq_any(chunk))
            .order(products::name)
            .select((
                license_assignments::user_id,
                products::id,
                products::name,
                license_assignments::self_service_subscription_id,
                license_assignments::direct,
            ))
            .load::<(i64, i64, String, Option<i64>, bool)>(conn)?
        {
            if let Some(holder) = found.get_mut(&user) {
                holder.licenses.push(Holding {
                    product: ProductId(product),
                    product_name: name,
                    tenant_pool: self_service.is_none(),
                    direct,
                    inherited_from: sources.remove(&(user, product)).unwrap_or_default(),
                });
            }
        }
    }
    Ok(found)
}

/// Deletes the data whose 30-day hold has run out, one hold per transaction; a failed one is
/// counted in `failures` and the rest go on. Run by `tick`; idempotent.
pub fn purge_held_data(
    conn: &mut DbConnection,
    now: DateTime<Utc>,
    failures: &mut usize,
) -> Result<usize, DomainError> {
    type Due = (i64, i64, String, String, Option<(i64, i64, i64)>);
    let due: Vec<Due> = data_holds::table
        .inner_join(users::table)
        .inner_join(products::table)
        .left_join(
            product_services::table.on(data_holds::service_id.eq(product_services::id.nullable())),
        )
        .filter(data_holds::held_until.le(naive(now)))
        .select((
            data_holds::id,
            data_holds::tenant_id,
            users::email,
            products::name,
            product_services::name.nullable(),
            data_holds::user_id,
            data_holds::product_id,
            data_holds::service_id,
        ))
        .load::<(
            i64,
            i64,
            String,
            String,
            Option<String>,
            i64,
            i64,
            Option<i64>,
        )>(conn)?
        .into_iter()
        .map(
            |(id, tenant, email, product, app, user, product_id, service)| {
                let app_of = service.map(|s| (user, product_id, s));
                (
                    id,
                    tenant,
                    email,
                    held_name(&product, app.as_deref()),
                    app_of,
                )
            },
        )
        .collect();
    let actor = Actor::System("scheduled purge");
    let mut deleted = 0;
    for (id, tenant, email, product, app_of) in &due {
        let tenant = TenantId(*tenant);
        let purged = crate::domain::db::transaction(conn, |conn| {
            // Gone already: a tick beside this one took it.
            if diesel::delete(data_holds::table.find(id)).execute(conn)? == 0 {
                return Ok(false);
            }
            // An app the user has again (a group gave the seat since, say) is in use: its
            // data stays.
            if let Some((user, product, service)) = app_of
                && has_app(
                    conn,
                    tenant,
                    UserId(*user),
                    ProductId(*product),
                    crate::domain::ServiceId(*service),
                )?
            {
                audit::record(
                    conn,
                    &actor,
                    now,
                    Some(tenant),
                    "Kept held data",
                    email,
                    &format!("{product}: the app is on again"),
                )?;
                return Ok(false);
            }
            audit::record(
                conn,
                &actor,
                now,
                Some(tenant),
                "Deleted held data",
                email,
                product,
            )?;
            Ok(true)
        });
        if crate::domain::db::keep_going(failures, "delete held data", *id, purged) == Some(true) {
            deleted += 1;
        }
    }
    Ok(deleted)
}

/// What a hold keeps, as pages and the audit log name it: the product of a removed license,
/// or one app turned off ("Business Premium: Exchange Online mailbox").
pub(crate) fn held_name(product: &str, app: Option<&str>) -> String {
    match app {
        Some(app) => format!("{product}: {app}"),
        None => product.to_owned(),
    }
}

impl HeldLicense {
    /// Held from a self-service purchase, which only its buyer manages.
    pub fn from_self_service(&self) -> bool {
        matches!(self.pool, PoolRef::SelfService(_))
    }
}

/// What a confirmation of unassigning `product_name` says happens to the users' data, as of
/// `now`: the 30-day hold and its date for the services that hold data (the seed's rule).
pub fn unassign_notice(
    now: DateTime<Utc>,
    product_name: &str,
    data_holding_services: &[String],
) -> Vec<String> {
    let mut lines = Vec::new();
    if data_holding_services.is_empty() {
        lines.push("These users will lose access to the product at once.".to_owned());
    } else {
        lines.push(format!(
            "Their data for {product_name} ({}) is kept for {DATA_HOLD_DAYS} days, until {}, then deleted and can't be recovered. Assigning the license again within that time brings it back.",
            data_holding_services.join(", "),
            (now + DATA_HOLD).format("%B %-d, %Y")
        ));
    }
    lines.push("Files are kept until the user is deleted.".to_owned());
    lines
}
