//! Buy licenses and Remove licenses on a subscription.

use super::*;

/// Buy licenses: adds `licenses` to the subscription, charging the rest of the term, prorated.
pub fn buy_licenses(
    conn: &mut DbConnection,
    actor: &Actor,
    gateway: &dyn PaymentGateway,
    now: DateTime<Utc>,
    tenant: TenantId,
    subscription: SubscriptionId,
    licenses: i32,
) -> Result<String, DomainError> {
    authz::may(actor, Action::ManageBilling, &authz::Target::Tenant(tenant))?;
    add_licenses(conn, actor, gateway, now, tenant, subscription, licenses)
}

/// Buy licenses, for a caller that has checked the actor's right: an admin's `buy_licenses`, or
/// billing support carrying out an "Add licenses" service request.
pub(crate) fn add_licenses(
    conn: &mut DbConnection,
    actor: &Actor,
    gateway: &dyn PaymentGateway,
    now: DateTime<Utc>,
    tenant: TenantId,
    subscription: SubscriptionId,
    licenses: i32,
) -> Result<String, DomainError> {
    check_quantity_to_buy(licenses)?;
    // Step 1: an invoice subscription is billed at once; a card one gets a pending charge.
    let begun = crate::domain::db::transaction(conn, |conn| {
        licenses::lock(conn, tenant)?;
        let sub = load_sub(conn, tenant, subscription)?;
        may_add_to(&sub)?;
        let amount = sub.prorated(licenses, now);
        let line = Charge {
            subscription: Some(sub.id),
            description: payments::describe(
                billing::Purpose::AddLicenses,
                &sub.product_name,
                licenses,
                sub.term_start,
                sub.term_end,
            ),
            quantity: licenses,
            amount_cents: amount,
        };
        let card = if sub.purchase_channel == PurchaseChannel::CreditCard {
            Some(card_for(conn, tenant, &sub)?)
        } else {
            None
        };
        match card {
            Some(method) if amount > 0 => Ok(Begun::Charge(billing::record_pending(
                conn,
                now,
                &billing::NewCharge {
                    purpose: billing::Purpose::AddLicenses,
                    tenant,
                    subscription: Some(sub.id),
                    product: sub.product_id,
                    payment_method: method.id,
                    amount_cents: amount,
                    licenses,
                    term_start: sub.term_start,
                    term_end: sub.term_end,
                },
            )?)),
            card => {
                // Nothing to charge to a card: invoiced, or free at the very end of the term.
                let (state, method) = match card {
                    Some(method) => (BillState::Paid, method.label()),
                    None => (BillState::Due, "Invoice".to_owned()),
                };
                let (_, number) = billing::issue_bill(
                    conn,
                    now,
                    tenant,
                    BillKind::Change,
                    state,
                    &method,
                    &[line],
                )?;
                payments::licenses_added(
                    conn, actor, now, tenant, &sub, licenses, amount, &number,
                )?;
                Ok(Begun::Billed(number))
            }
        }
    })?;
    let charge = match begun {
        Begun::Billed(number) => return Ok(number),
        Begun::Charge(charge) => charge,
    };
    // Steps 2 and 3: the card is charged once, outside any transaction, and the answer kept.
    match payments::pay(conn, gateway, actor, now, &charge)? {
        payments::Paid::Settled { bill, .. } => Ok(bill),
        payments::Paid::Declined(decline) => Err(declined(decline)),
        payments::Paid::Pending => Err(payment_pending()),
    }
}

/// Licenses are bought on the admins' own active subscriptions only.
pub(super) fn may_add_to(sub: &Sub) -> Result<(), DomainError> {
    not_self_service(sub)?;
    if !sub.state.is_active() {
        return Err(DomainError::Conflict(format!(
            "Licenses can be bought only on an active subscription; this one is {}.",
            sub.state.title().to_lowercase()
        )));
    }
    Ok(())
}

/// What the first step of buying licenses left to do.
enum Begun {
    /// Billed already (an invoice, or nothing to charge): the bill's number.
    Billed(String),
    /// A card charge recorded as pending, for `payments::pay`.
    Charge(billing::ChargeRow),
}

/// What removing licenses would do: the users it would leave beyond the count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemovalPreview {
    pub product_name: String,
    pub quantity: i32,
    pub pool_licenses: i64,
    pub assigned: i64,
    /// Display names and sign-in names of the users who would be beyond the count.
    pub beyond: Vec<(String, String)>,
}

/// Remove licenses, first as a preview: who would be beyond the count.
pub fn preview_removal(
    conn: &mut DbConnection,
    actor: &Actor,
    tenant: TenantId,
    subscription: SubscriptionId,
    licenses: i32,
) -> Result<RemovalPreview, DomainError> {
    authz::may(actor, Action::ManageBilling, &authz::Target::Tenant(tenant))?;
    removal_of(conn, tenant, subscription, licenses)
}

/// `preview_removal` for a caller that has checked the actor's right.
pub(crate) fn removal_of(
    conn: &mut DbConnection,
    tenant: TenantId,
    subscription: SubscriptionId,
    licenses: i32,
) -> Result<RemovalPreview, DomainError> {
    let sub = load_sub(conn, tenant, subscription)?;
    not_self_service(&sub)?;
    if licenses < 1 || licenses > sub.quantity {
        return Err(DomainError::invalid(
            "quantity",
            format!(
                "Enter how many licenses to remove, from 1 to {}.",
                sub.quantity
            ),
        ));
    }
    let pool = licenses::PoolRef::Tenant(ProductId(sub.product_id));
    let (pool_licenses, assigned) = licenses::pool_counts(conn, tenant, pool)?;
    let after = pool_licenses - if sub.usable() { i64::from(licenses) } else { 0 };
    let beyond_ids = licenses::beyond_the_count(conn, tenant, pool, assigned - after)?;
    let ids: Vec<i64> = beyond_ids.into_iter().collect();
    let beyond = users::table
        .filter(users::id.eq_any(&ids))
        .order(users::name_key)
        .select((users::display_name, users::email))
        .load(conn)?;
    Ok(RemovalPreview {
        product_name: sub.product_name,
        quantity: sub.quantity,
        pool_licenses,
        assigned,
        beyond,
    })
}

/// Remove licenses. Below the assigned count it needs `accept_conflict`: the users beyond the
/// count lose the service (a license conflict) until licenses are added or freed. The rest of
/// the term's price for the removed licenses is credited.
#[allow(clippy::too_many_arguments)]
pub fn remove_licenses(
    conn: &mut DbConnection,
    actor: &Actor,
    now: DateTime<Utc>,
    tenant: TenantId,
    subscription: SubscriptionId,
    licenses: i32,
    accept_conflict: bool,
) -> Result<RemovalPreview, DomainError> {
    authz::may(actor, Action::ManageBilling, &authz::Target::Tenant(tenant))?;
    take_away_licenses(
        conn,
        actor,
        now,
        tenant,
        subscription,
        licenses,
        accept_conflict,
    )
}

/// Remove licenses, for a caller that has checked the actor's right: an admin's
/// `remove_licenses`, or billing support carrying out a "Remove licenses" service request.
pub(crate) fn take_away_licenses(
    conn: &mut DbConnection,
    actor: &Actor,
    now: DateTime<Utc>,
    tenant: TenantId,
    subscription: SubscriptionId,
    licenses: i32,
    accept_conflict: bool,
) -> Result<RemovalPreview, DomainError> {
    crate::domain::db::transaction(conn, |conn| {
        licenses::lock(conn, tenant)?;
        let preview = removal_of(conn, tenant, subscription, licenses)?;
        if !preview.beyond.is_empty() && !accept_conflict {
            return Err(DomainError::Conflict(format!(
                "Removing {} would leave {} beyond the count. Confirm to go ahead.",
                billing::count_of(licenses, "license"),
                billing::count_of(preview.beyond.len() as i64, "user")
            )));
        }
        let sub = load_sub(conn, tenant, subscription)?;
        diesel::update(subscriptions::table.find(sub.id))
            .set(subscriptions::quantity.eq(sub.quantity - licenses))
            .execute(conn)?;
        licenses::check_alert(conn, now, tenant, ProductId(sub.product_id))?;
        let credit = sub.prorated(licenses, now);
        let number = if credit > 0 && sub.usable() {
            let line = Charge {
                subscription: Some(sub.id),
                description: format!(
                    "{}: {} removed, prorated credit",
                    sub.product_name,
                    billing::count_of(licenses, "license")
                ),
                quantity: licenses,
                amount_cents: -credit,
            };
            let method = if sub.purchase_channel == PurchaseChannel::CreditCard {
                card_for(conn, tenant, &sub)
                    .map(|m| m.label())
                    .unwrap_or_default()
            } else {
                "Invoice".into()
            };
            billing::issue_bill(
                conn,
                now,
                tenant,
                BillKind::Refund,
                BillState::Credited,
                &method,
                &[line],
            )?
            .1
        } else {
            String::new()
        };
        let detail = format!(
            "{} → {} licenses; {} beyond the count; credit bill {number}",
            sub.quantity,
            sub.quantity - licenses,
            preview.beyond.len()
        );
        audit::record(
            conn,
            actor,
            now,
            Some(tenant),
            "Removed licenses",
            &sub.product_name,
            &detail,
        )?;
        billing::mail_billing_admins(
            conn,
            now,
            tenant,
            &format!(
                "You removed {} of {}",
                billing::count_of(licenses, "license"),
                sub.product_name
            ),
            &detail,
        )?;
        Ok(preview)
    })
}
