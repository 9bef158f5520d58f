//! The subscription lifecycle that `tick` runs: renewals, grace, disabling, deletion.

use super::*;

// ---------------------------------------------------------------- the lifecycle (tick)

/// What one run of the lifecycle did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct LifecycleReport {
    pub renewed: usize,
    pub payment_failed: usize,
    pub ended: usize,
    pub disabled: usize,
    pub deleted: usize,
}

/// Renewals, grace, disabling and deleting, as of `now`. Idempotent: a second run at the same
/// time finds nothing due.
pub fn run_lifecycle(
    conn: &mut DbConnection,
    gateway: &dyn PaymentGateway,
    now: DateTime<Utc>,
) -> Result<LifecycleReport, DomainError> {
    let system = Actor::System("scheduled billing");
    let mut report = LifecycleReport::default();
    let due: Vec<(i64, i64)> = subscriptions::table
        .filter(subscriptions::state.eq("active"))
        .filter(subscriptions::term_end.le(naive(now)))
        .filter(subscriptions::self_service_buyer_id.is_null())
        // Agreement subscriptions follow their anniversary (the true-up), not renewals.
        .filter(subscriptions::purchase_channel.ne("volume_licensing"))
        .select((subscriptions::id, subscriptions::tenant_id))
        .load(conn)?;
    for (id, tenant) in due {
        let tenant = TenantId(tenant);
        licenses::lock(conn, tenant)?;
        let sub = load_sub(conn, tenant, SubscriptionId(id))?;
        if !sub.recurring_billing {
            diesel::update(subscriptions::table.find(id))
                .set((
                    subscriptions::state.eq("cancelled"),
                    subscriptions::ended_at.eq(Some(sub.term_end)),
                ))
                .execute(conn)?;
            audit::record(
                conn,
                &system,
                now,
                Some(tenant),
                "Subscription ended",
                &sub.product_name,
                "recurring billing was off",
            )?;
            billing::mail_billing_admins(
                conn,
                now,
                tenant,
                &format!("Your {} subscription has ended", sub.product_name),
                "Recurring billing was off, so the subscription ended with its term.",
            )?;
            report.ended += 1;
        } else if renew(conn, gateway, now, tenant, &sub, &system)? {
            report.renewed += 1;
        } else {
            diesel::update(subscriptions::table.find(id))
                .set((
                    subscriptions::state.eq("past_due"),
                    subscriptions::past_due_since.eq(Some(naive(now))),
                ))
                .execute(conn)?;
            report.payment_failed += 1;
        }
    }
    let grace_over: Vec<(i64, i64, String)> = subscriptions::table
        .inner_join(products::table)
        .filter(subscriptions::state.eq("past_due"))
        .filter(subscriptions::past_due_since.le(naive(now - GRACE)))
        .select((subscriptions::id, subscriptions::tenant_id, products::name))
        .load(conn)?;
    for (id, tenant, product) in grace_over {
        let tenant = TenantId(tenant);
        licenses::lock(conn, tenant)?;
        diesel::update(subscriptions::table.find(id))
            .set((
                subscriptions::state.eq("disabled"),
                subscriptions::disabled_at.eq(Some(naive(now))),
            ))
            .execute(conn)?;
        audit::record(
            conn,
            &system,
            now,
            Some(tenant),
            "Subscription disabled",
            &product,
            "payment failed and the grace period ended",
        )?;
        billing::mail_billing_admins(
            conn,
            now,
            tenant,
            &format!("Your {product} subscription is disabled"),
            "The payment failed and the grace period has ended. Its licenses no longer count, so users beyond the count have lost access. Update the payment method to renew it.",
        )?;
        report.disabled += 1;
    }
    // Disabled or ended 90 days ago: the subscription and its data are deleted.
    let cutoff = naive(now - DATA_KEPT_AFTER_END);
    type Due = (i64, i64, String, String, Option<chrono::NaiveDateTime>);
    let old: Vec<Due> = subscriptions::table
        .inner_join(products::table)
        .filter(
            subscriptions::state
                .eq("disabled")
                .and(subscriptions::disabled_at.le(cutoff))
                .or(subscriptions::state
                    .eq("cancelled")
                    .and(subscriptions::ended_at.le(cutoff))),
        )
        .select((
            subscriptions::id,
            subscriptions::tenant_id,
            products::name,
            subscriptions::state,
            subscriptions::ended_at,
        ))
        .load(conn)?;
    for (id, tenant, product, state, ended_at) in old {
        // A disabled subscription ends now; a cancelled one ended when it was cancelled.
        let (ended_at, why) = if state == "disabled" {
            (Some(naive(now)), "disabled for 90 days")
        } else {
            (ended_at, "ended 90 days ago; its data is deleted")
        };
        diesel::update(subscriptions::table.find(id))
            .set((
                subscriptions::state.eq("deleted"),
                subscriptions::ended_at.eq(ended_at),
            ))
            .execute(conn)?;
        audit::record(
            conn,
            &system,
            now,
            Some(TenantId(tenant)),
            "Subscription deleted",
            &product,
            why,
        )?;
        report.deleted += 1;
    }
    Ok(report)
}

/// Charges a new term. True when paid (the subscription is active with its next term); false
/// when the card was refused (a failed bill and an email say so).
pub(crate) fn renew(
    conn: &mut DbConnection,
    gateway: &dyn PaymentGateway,
    now: DateTime<Utc>,
    tenant: TenantId,
    sub: &Sub,
    actor: &Actor,
) -> Result<bool, DomainError> {
    let amount = sub.term_price() * i64::from(sub.quantity);
    let mut start = utc(sub.term_end);
    let mut end = start
        .checked_add_months(Months::new(months(&sub.billing_period)))
        .unwrap_or(start + Duration::days(30));
    // A subscription renewed long after its term (a card fixed months later) starts again now.
    if end <= now {
        start = now;
        end = now
            .checked_add_months(Months::new(months(&sub.billing_period)))
            .unwrap_or(now + Duration::days(30));
    }
    let line = Charge {
        subscription: Some(sub.id),
        description: format!(
            "{}: {}, renewal {} – {}",
            sub.product_name,
            billing::count_of(sub.quantity, "license"),
            start.format("%Y-%m-%d"),
            end.format("%Y-%m-%d")
        ),
        quantity: sub.quantity,
        amount_cents: amount,
    };
    if sub.purchase_channel != "credit_card" {
        billing::issue_bill(conn, now, tenant, "renewal", "due", "Invoice", &[line])?;
    } else {
        let method = card_for(conn, tenant, sub)?;
        if let Err(decline) = gateway.charge(&method.card(), amount, now) {
            billing::issue_bill(
                conn,
                now,
                tenant,
                "renewal",
                "failed",
                &method.label(),
                &[line],
            )?;
            audit::record(
                conn,
                actor,
                now,
                Some(tenant),
                "Renewal payment failed",
                &sub.product_name,
                decline.reason(),
            )?;
            billing::mail_billing_admins(
                conn,
                now,
                tenant,
                &format!("Payment failed for {}", sub.product_name),
                &format!(
                    "We couldn't renew your {} subscription: {}. Update the payment method within {} days, or the subscription will be disabled and users will lose access.",
                    sub.product_name,
                    decline.reason(),
                    GRACE.num_days()
                ),
            )?;
            return Ok(false);
        }
        billing::issue_bill(
            conn,
            now,
            tenant,
            "renewal",
            "paid",
            &method.label(),
            &[line],
        )?;
    }
    diesel::update(subscriptions::table.find(sub.id))
        .set((
            subscriptions::state.eq("active"),
            subscriptions::term_start.eq(naive(start)),
            subscriptions::term_end.eq(naive(end)),
            subscriptions::past_due_since.eq(None::<chrono::NaiveDateTime>),
            subscriptions::disabled_at.eq(None::<chrono::NaiveDateTime>),
        ))
        .execute(conn)?;
    audit::record(
        conn,
        actor,
        now,
        Some(tenant),
        "Renewed subscription",
        &sub.product_name,
        &format!(
            "{} until {}",
            billing::count_of(sub.quantity, "license"),
            end.format("%Y-%m-%d")
        ),
    )?;
    billing::mail_billing_admins(
        conn,
        now,
        tenant,
        &format!("Your {} subscription renewed", sub.product_name),
        &format!(
            "{} until {}, charged {}.",
            billing::count_of(sub.quantity, "license"),
            end.format("%B %-d, %Y"),
            billing::format_money(amount)
        ),
    )?;
    Ok(true)
}

/// After a card update: retries the renewal of the tenant's past-due and disabled card
/// subscriptions at once, bringing them back to active when the charge goes through (the
/// seeds' remedy for a license conflict from an outdated card). Returns how many came back.
pub fn retry_after_card_update(
    conn: &mut DbConnection,
    gateway: &dyn PaymentGateway,
    actor: &Actor,
    now: DateTime<Utc>,
    tenant: TenantId,
) -> Result<usize, DomainError> {
    authz::may(actor, Action::ManageBilling, &authz::Target::Tenant(tenant))?;
    crate::domain::db::transaction(conn, |conn| {
        licenses::lock(conn, tenant)?;
        let stuck: Vec<i64> = subscriptions::table
            .filter(subscriptions::tenant_id.eq(tenant.0))
            .filter(subscriptions::state.eq_any(["past_due", "disabled"]))
            .filter(subscriptions::purchase_channel.eq("credit_card"))
            .select(subscriptions::id)
            .load(conn)?;
        let mut back = 0;
        for id in stuck {
            let sub = load_sub(conn, tenant, SubscriptionId(id))?;
            if renew(conn, gateway, now, tenant, &sub, actor)? {
                back += 1;
            }
        }
        Ok(back)
    })
}
