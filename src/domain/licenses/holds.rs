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
    let mut held = Vec::with_capacity(rows.len());
    for (product, name, self_service, at, direct) in rows {
        let pool = match self_service {
            Some(sub) => PoolRef::SelfService(SubscriptionId(sub)),
            None => PoolRef::Tenant(ProductId(product)),
        };
        let (licenses, assigned) = pool_counts(conn, tenant, pool)?;
        let usable = assigned <= licenses
            || !beyond_the_count(conn, tenant, pool, assigned - licenses)?.contains(&user.0);
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
