//! What billing support does for an agreement: resend the activation email, remap to another tenant.

use super::*;

// ------------------------------------------------------------------ what billing support does

/// Resends the activation email, only ever to the OSM on file (the seed's warning): asking
/// for any other address is refused. For a service request, by billing support.
pub(crate) fn resend_activation(
    conn: &mut DbConnection,
    now: DateTime<Utc>,
    agreement: AgreementId,
    asked_for: Option<&str>,
) -> Result<String, DomainError> {
    let head = head(conn, agreement)?;
    if let Some(address) = asked_for.map(str::trim).filter(|a| !a.is_empty())
        && !address.eq_ignore_ascii_case(&head.osm_email)
    {
        return Err(DomainError::Refused(format!(
            "The activation email can only be resent to the OSM ({}). If the OSM is unavailable, ask the Licensing Solutions Partner, {}, to change the OSM, then file a new request to resend it.",
            head.osm_email, head.partner
        )));
    }
    if head.tenant.is_some() {
        return Err(DomainError::Conflict(format!(
            "Agreement {} is already activated: its licenses are attached.",
            head.number
        )));
    }
    let invoiced: i64 = agreement_orders::table
        .filter(agreement_orders::agreement_id.eq(agreement.0))
        .filter(agreement_orders::state.eq(OrderState::Invoiced))
        .count()
        .get_result(conn)?;
    if invoiced == 0 {
        return Err(DomainError::Conflict(
            "The agreement has no invoiced order yet: the activation email goes out when it is invoiced.".into(),
        ));
    }
    issue_activation(conn, now, &head)?;
    Ok(head.osm_email)
}

/// The organization a remap names, by its domain: one that exists, and not the one the
/// agreement is attached to.
pub(crate) fn remap_target(
    conn: &mut DbConnection,
    head: &Head,
    domain: &str,
) -> Result<(TenantId, String), DomainError> {
    let domain = text::line(
        "target",
        domain,
        1..=253,
        "Enter the domain of the organization to move the agreement to.",
    )?
    .to_lowercase();
    let to: Option<(i64, String)> = tenants::table
        .filter(tenants::domain.eq(&domain))
        .select((tenants::id, tenants::name))
        .first(conn)
        .optional()?;
    let Some((to, name)) = to else {
        return Err(DomainError::invalid(
            "target",
            format!("There is no organization with the domain '{domain}'."),
        ));
    };
    if Some(TenantId(to)) == head.tenant {
        return Err(DomainError::invalid(
            "target",
            "The agreement is already attached to that organization.",
        ));
    }
    Ok((TenantId(to), name))
}

/// What remapping would do, per product: (product, licenses moving, old tenant's licenses
/// and assigned after, new tenant's licenses after).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemapPreview {
    pub number: String,
    pub from: String,
    pub to: String,
    pub to_tenant: TenantId,
    pub lines: Vec<RemapLine>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemapLine {
    pub product: String,
    pub moving: i64,
    pub from_licenses_after: i64,
    pub from_assigned: i64,
    pub to_licenses_after: i64,
    pub to_assigned: i64,
}

impl RemapLine {
    /// Users left beyond the count in the old tenant: a license conflict.
    pub fn beyond(&self) -> i64 {
        (self.from_assigned - self.from_licenses_after).max(0)
    }
}

/// What remapping the agreement to the organization at `target` (its domain) would do.
/// Refused while the agreement carries online services licenses: they are all attached to one
/// account (the seed's note).
pub(crate) fn preview_remap(
    conn: &mut DbConnection,
    agreement: AgreementId,
    target: &str,
) -> Result<RemapPreview, DomainError> {
    let head = head(conn, agreement)?;
    let Some(from) = head.tenant else {
        return Err(DomainError::Conflict(format!(
            "Agreement {} is not attached to any organization yet: the OSM attaches it with the activation email.",
            head.number
        )));
    };
    let (to, to_name) = remap_target(conn, &head, target)?;
    let online: i64 = agreement_subscriptions::table
        .inner_join(subscriptions::table.inner_join(products::table))
        .filter(agreement_subscriptions::agreement_id.eq(agreement.0))
        .filter(products::family.eq(ProductFamily::OnlineServices))
        .filter(subscriptions::quantity.gt(0))
        .count()
        .get_result(conn)?;
    if online > 0 {
        return Err(DomainError::Refused(format!(
            "Agreement {} can't be remapped: it holds online services licenses, and all online services licenses of an agreement are attached to the same account. Separating them needs a special amendment from the Licensing Sales Specialist.",
            head.number
        )));
    }
    let moving: Vec<(i64, String, i32)> = agreement_subscriptions::table
        .inner_join(subscriptions::table.inner_join(products::table))
        .filter(agreement_subscriptions::agreement_id.eq(agreement.0))
        .select((products::id, products::name, subscriptions::quantity))
        .load(conn)?;
    let from_pools = licenses::load_pools(conn, from)?;
    let to_pools = licenses::load_pools(conn, to)?;
    let find = |pools: &[licenses::PoolSummary], product: i64| {
        pools
            .iter()
            .find(|p| p.product.0 == product && p.self_service.is_none())
            .map_or((0, 0), |p| (p.licenses, p.assigned))
    };
    let lines = moving
        .into_iter()
        .map(|(product, name, n)| {
            let (from_licenses, from_assigned) = find(&from_pools, product);
            let (to_licenses, to_assigned) = find(&to_pools, product);
            RemapLine {
                product: name,
                moving: i64::from(n),
                from_licenses_after: from_licenses - i64::from(n),
                from_assigned,
                to_licenses_after: to_licenses + i64::from(n),
                to_assigned,
            }
        })
        .collect();
    Ok(RemapPreview {
        number: head.number,
        from: crate::domain::subscriptions::tenant_name(conn, from)?,
        to: to_name,
        to_tenant: to,
        lines,
    })
}

/// Moves the agreement's licenses to the organization at `target`, under both tenants'
/// license locks; users beyond the count in the old one are a license conflict there.
pub(crate) fn remap(
    conn: &mut DbConnection,
    actor: &Actor,
    now: DateTime<Utc>,
    agreement: AgreementId,
    target: &str,
) -> Result<RemapPreview, DomainError> {
    crate::domain::db::transaction(conn, |conn| {
        let head = head(conn, agreement)?;
        let preview = preview_remap(conn, agreement, target)?;
        let Some(from) = head.tenant else {
            return Err(DomainError::Conflict(
                "The agreement is not attached.".into(),
            ));
        };
        let to = preview.to_tenant;
        // Locks in id order, as any two license changes would take them.
        let (first, second) = if from.0 < to.0 {
            (from, to)
        } else {
            (to, from)
        };
        licenses::lock(conn, first)?;
        licenses::lock(conn, second)?;
        diesel::update(agreements::table.find(agreement.0))
            .set(agreements::tenant_id.eq(Some(to.0)))
            .execute(conn)?;
        let moved: Vec<i64> = agreement_subscriptions::table
            .filter(agreement_subscriptions::agreement_id.eq(agreement.0))
            .select(agreement_subscriptions::subscription_id)
            .load(conn)?;
        diesel::update(subscriptions::table.filter(subscriptions::id.eq_any(&moved)))
            .set(subscriptions::tenant_id.eq(to.0))
            .execute(conn)?;
        // Their add-ons move with them: a table a tenant owns says whose it is.
        diesel::update(
            subscription_addons::table.filter(subscription_addons::subscription_id.eq_any(&moved)),
        )
        .set(subscription_addons::tenant_id.eq(to.0))
        .execute(conn)?;
        let detail = preview
            .lines
            .iter()
            .map(|l| format!("{} {} licenses", l.moving, l.product))
            .collect::<Vec<_>>()
            .join(", ");
        for (tenant, text) in [
            (from, format!("to {}: {detail}", preview.to)),
            (to, format!("from {}: {detail}", preview.from)),
        ] {
            audit::record(
                conn,
                actor,
                now,
                Some(tenant),
                "Remapped agreement",
                &preview.number,
                &text,
            )?;
            billing::mail_billing_admins(
                conn,
                now,
                tenant,
                &format!("Agreement {} was remapped", preview.number),
                &format!(
                    "Billing support moved the licenses of agreement {} from {} to {}: {detail}.",
                    preview.number, preview.from, preview.to
                ),
            )?;
        }
        Ok(preview)
    })
}
