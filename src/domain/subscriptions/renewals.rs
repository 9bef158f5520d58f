//! The subscription lifecycle that `tick` runs: renewals, grace, disabling, deletion.

use super::payments::{Paid, pay};
use super::*;
use crate::domain::db;

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

/// Renewals, grace, disabling and deleting, as of `now`. Each subscription is its own step (a
/// renewal: the charge recorded, the gateway asked, the answer recorded; the others: one
/// transaction), so a failure stops only its own: it is logged and counted in `failures`.
/// Idempotent: each step checks inside its transaction that it is still due, so a second run,
/// or one beside it, finds nothing to do twice.
pub fn run_lifecycle(
    conn: &mut DbConnection,
    gateway: &dyn PaymentGateway,
    now: DateTime<Utc>,
    failures: &mut usize,
) -> Result<LifecycleReport, DomainError> {
    let system = Actor::System("scheduled billing");
    let mut report = LifecycleReport::default();
    let due: Vec<(i64, i64)> = subscriptions::table
        .filter(subscriptions::state.eq(SubscriptionState::Active))
        .filter(subscriptions::term_end.le(naive(now)))
        .filter(subscriptions::self_service_buyer_id.is_null())
        // Agreement subscriptions follow their anniversary (the true-up), not renewals.
        .filter(subscriptions::purchase_channel.ne(PurchaseChannel::VolumeLicensing))
        .order(subscriptions::id)
        .select((subscriptions::id, subscriptions::tenant_id))
        .load(conn)?;
    for (id, tenant) in due {
        let renewal = renew_if_due(conn, gateway, now, TenantId(tenant), id, &system);
        match db::keep_going(failures, "renewal", id, renewal) {
            Some(Renewal::Renewed) => report.renewed += 1,
            Some(Renewal::Failed) => report.payment_failed += 1,
            Some(Renewal::Ended) => report.ended += 1,
            Some(Renewal::NotDue | Renewal::Pending) | None => {}
        }
    }
    let grace_over: Vec<(i64, i64, String)> = subscriptions::table
        .inner_join(products::table)
        .filter(subscriptions::state.eq(SubscriptionState::PastDue))
        .filter(subscriptions::past_due_since.le(naive(now - GRACE)))
        .select((subscriptions::id, subscriptions::tenant_id, products::name))
        .load(conn)?;
    for (id, tenant, product) in grace_over {
        let tenant = TenantId(tenant);
        let disabled = db::transaction(conn, |conn| {
            licenses::lock(conn, tenant)?;
            let changed = diesel::update(
                subscriptions::table
                    .find(id)
                    .filter(subscriptions::state.eq(SubscriptionState::PastDue))
                    .filter(subscriptions::past_due_since.le(naive(now - GRACE))),
            )
            .set((
                subscriptions::state.eq(SubscriptionState::Disabled),
                subscriptions::disabled_at.eq(Some(naive(now))),
            ))
            .execute(conn)?;
            if changed == 0 {
                return Ok(false);
            }
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
            Ok(true)
        });
        if db::keep_going(failures, "disable after grace", id, disabled) == Some(true) {
            report.disabled += 1;
        }
    }
    // Disabled or ended 90 days ago: the subscription and its data are deleted.
    let cutoff = naive(now - DATA_KEPT_AFTER_END);
    type Due = (
        i64,
        i64,
        String,
        SubscriptionState,
        Option<chrono::NaiveDateTime>,
    );
    let old: Vec<Due> = subscriptions::table
        .inner_join(products::table)
        .filter(
            subscriptions::state
                .eq(SubscriptionState::Disabled)
                .and(subscriptions::disabled_at.le(cutoff))
                .or(subscriptions::state
                    .eq(SubscriptionState::Cancelled)
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
        let (ended_at, why) = if state == SubscriptionState::Disabled {
            (Some(naive(now)), "disabled for 90 days")
        } else {
            (ended_at, "ended 90 days ago; its data is deleted")
        };
        let deleted = db::transaction(conn, |conn| {
            let changed = diesel::update(
                subscriptions::table
                    .find(id)
                    .filter(subscriptions::state.eq(state)),
            )
            .set((
                subscriptions::state.eq(SubscriptionState::Deleted),
                subscriptions::ended_at.eq(ended_at),
            ))
            .execute(conn)?;
            if changed == 0 {
                return Ok(false);
            }
            audit::record(
                conn,
                &system,
                now,
                Some(TenantId(tenant)),
                "Subscription deleted",
                &product,
                why,
            )?;
            Ok(true)
        });
        if db::keep_going(failures, "delete after 90 days", id, deleted) == Some(true) {
            report.deleted += 1;
        }
    }
    Ok(report)
}

/// How one due subscription's renewal went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Renewal {
    Renewed,
    Failed,
    Ended,
    /// Renewed, ended or changed meanwhile (another tick), or a renewal is already pending.
    NotDue,
    /// Charged, but the gateway did not answer yet: the next tick settles it.
    Pending,
}

/// What the first step of a renewal left to do.
enum Begun {
    Nothing,
    Ended,
    /// Done in the first step: invoiced, or nothing to charge.
    Renewed,
    Charge(billing::ChargeRow),
}

/// Renews one subscription whose term is over: ends it when recurring billing is off,
/// invoices it, or charges its card once (`payments`).
fn renew_if_due(
    conn: &mut DbConnection,
    gateway: &dyn PaymentGateway,
    now: DateTime<Utc>,
    tenant: TenantId,
    id: i64,
    system: &Actor,
) -> Result<Renewal, DomainError> {
    let begun = db::transaction(conn, |conn| {
        licenses::lock(conn, tenant)?;
        let sub = load_sub(conn, tenant, SubscriptionId(id))?;
        let still_due = sub.state.is_active()
            && sub.term_end <= naive(now)
            && !sub.self_service()
            && sub.purchase_channel != PurchaseChannel::VolumeLicensing;
        if !still_due || billing::renewal_pending(conn, sub.id)? {
            return Ok(Begun::Nothing);
        }
        if !sub.recurring_billing {
            end_with_its_term(conn, system, now, tenant, &sub)?;
            return Ok(Begun::Ended);
        }
        begin_renewal(conn, system, now, tenant, &sub)
    })?;
    match begun {
        Begun::Nothing => Ok(Renewal::NotDue),
        Begun::Ended => Ok(Renewal::Ended),
        Begun::Renewed => Ok(Renewal::Renewed),
        Begun::Charge(charge) => Ok(match pay(conn, gateway, system, now, &charge)? {
            Paid::Settled { .. } => Renewal::Renewed,
            Paid::Declined(_) => Renewal::Failed,
            Paid::Pending => Renewal::Pending,
        }),
    }
}

fn end_with_its_term(
    conn: &mut DbConnection,
    system: &Actor,
    now: DateTime<Utc>,
    tenant: TenantId,
    sub: &Sub,
) -> Result<(), DomainError> {
    diesel::update(subscriptions::table.find(sub.id))
        .set((
            subscriptions::state.eq(SubscriptionState::Cancelled),
            subscriptions::ended_at.eq(Some(sub.term_end)),
        ))
        .execute(conn)?;
    audit::record(
        conn,
        system,
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
    )
}

/// The next term: from the end of this one, or from now for a subscription renewed long after
/// its term (a card fixed months later).
fn next_term(sub: &Sub, now: DateTime<Utc>) -> (DateTime<Utc>, DateTime<Utc>) {
    let mut start = utc(sub.term_end);
    let mut end = start
        .checked_add_months(Months::new(sub.billing_period.months()))
        .unwrap_or(start + Duration::days(30));
    if end <= now {
        start = now;
        end = now
            .checked_add_months(Months::new(sub.billing_period.months()))
            .unwrap_or(now + Duration::days(30));
    }
    (start, end)
}

/// The first step of a renewal, in the caller's transaction under the tenant's license lock:
/// an invoice subscription is billed and renewed at once; a card one gets a pending charge
/// for `pay`.
fn begin_renewal(
    conn: &mut DbConnection,
    actor: &Actor,
    now: DateTime<Utc>,
    tenant: TenantId,
    sub: &Sub,
) -> Result<Begun, DomainError> {
    let amount = sub.term_price() * i64::from(sub.quantity);
    let (start, end) = next_term(sub, now);
    let line = Charge {
        subscription: Some(sub.id),
        description: super::payments::describe(
            billing::Purpose::Renewal,
            &sub.product_name,
            sub.quantity,
            naive(start),
            naive(end),
        ),
        quantity: sub.quantity,
        amount_cents: amount,
    };
    if sub.purchase_channel != PurchaseChannel::CreditCard {
        billing::issue_bill(
            conn,
            now,
            tenant,
            BillKind::Renewal,
            BillState::Due,
            "Invoice",
            &[line],
        )?;
        renewed(conn, actor, now, tenant, sub, start, end, amount)?;
        return Ok(Begun::Renewed);
    }
    let method = card_for(conn, tenant, sub)?;
    if amount <= 0 || sub.quantity <= 0 {
        billing::issue_bill(
            conn,
            now,
            tenant,
            BillKind::Renewal,
            BillState::Paid,
            &method.label(),
            &[line],
        )?;
        renewed(conn, actor, now, tenant, sub, start, end, amount)?;
        return Ok(Begun::Renewed);
    }
    let charge = billing::record_pending(
        conn,
        now,
        &billing::NewCharge {
            purpose: billing::Purpose::Renewal,
            tenant,
            subscription: Some(sub.id),
            product: sub.product_id,
            payment_method: method.id,
            amount_cents: amount,
            licenses: sub.quantity,
            term_start: naive(start),
            term_end: naive(end),
        },
    )?;
    Ok(Begun::Charge(charge))
}

/// A renewal paid (or invoiced): the subscription is active with its next term.
#[allow(clippy::too_many_arguments)]
pub(crate) fn renewed(
    conn: &mut DbConnection,
    actor: &Actor,
    now: DateTime<Utc>,
    tenant: TenantId,
    sub: &Sub,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    amount: i64,
) -> Result<(), DomainError> {
    diesel::update(subscriptions::table.find(sub.id))
        .set((
            subscriptions::state.eq(SubscriptionState::Active),
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
    )
}

/// A renewal the card refused: logged and mailed; a running subscription becomes past due
/// (its grace starts), one already past due or disabled stays as it is.
pub(crate) fn renewal_failed(
    conn: &mut DbConnection,
    actor: &Actor,
    now: DateTime<Utc>,
    tenant: TenantId,
    sub: &Sub,
    decline: billing::Decline,
) -> Result<(), DomainError> {
    if sub.state.is_active() {
        diesel::update(subscriptions::table.find(sub.id))
            .set((
                subscriptions::state.eq(SubscriptionState::PastDue),
                subscriptions::past_due_since.eq(Some(naive(now))),
            ))
            .execute(conn)?;
    }
    audit::record(
        conn,
        actor,
        now,
        Some(tenant),
        "Renewal payment failed",
        &sub.product_name,
        decline.reason(),
    )?;
    let about = format!("payment:{}:{}", sub.id, sub.term_end.date());
    let message = crate::domain::messages::NewMessage {
        kind: crate::domain::messages::Kind::PaymentFailed,
        about: &about,
        subject: &format!("Payment failed for {}", sub.product_name),
        body: &format!(
            "We couldn't renew your {} subscription: {}. Update the payment method within {} days, or the subscription will be disabled and users will lose access.",
            sub.product_name,
            decline.reason(),
            GRACE.num_days()
        ),
        link: "/billing/payment-methods",
    };
    // Posting emails it to the admins who may read it and want it (Settings > Notifications;
    // by default the Global and Billing admins, as before); a repeat in the same term is not
    // mailed again.
    crate::domain::messages::post(conn, now, tenant, &message)?;
    Ok(())
}

/// After a card update: retries the renewal of the tenant's past-due and disabled card
/// subscriptions at once, bringing them back to active when the charge goes through (the
/// seeds' remedy for a license conflict from an outdated card). Each subscription's charge is
/// made once, outside any transaction (`payments`). Returns how many came back.
pub fn retry_after_card_update(
    conn: &mut DbConnection,
    gateway: &dyn PaymentGateway,
    actor: &Actor,
    now: DateTime<Utc>,
    tenant: TenantId,
) -> Result<usize, DomainError> {
    authz::may(actor, Action::ManageBilling, &authz::Target::Tenant(tenant))?;
    let stuck: Vec<i64> = subscriptions::table
        .filter(subscriptions::tenant_id.eq(tenant.0))
        .filter(
            subscriptions::state.eq_any([SubscriptionState::PastDue, SubscriptionState::Disabled]),
        )
        .filter(subscriptions::purchase_channel.eq(PurchaseChannel::CreditCard))
        .order(subscriptions::id)
        .select(subscriptions::id)
        .load(conn)?;
    let mut back = 0;
    for id in stuck {
        let begun = db::transaction(conn, |conn| {
            licenses::lock(conn, tenant)?;
            let sub = load_sub(conn, tenant, SubscriptionId(id))?;
            if !matches!(
                sub.state,
                SubscriptionState::PastDue | SubscriptionState::Disabled
            ) || billing::renewal_pending(conn, sub.id)?
            {
                return Ok(Begun::Nothing);
            }
            begin_renewal(conn, actor, now, tenant, &sub)
        })?;
        let came_back = match begun {
            Begun::Renewed => true,
            Begun::Charge(charge) => {
                matches!(
                    pay(conn, gateway, actor, now, &charge)?,
                    Paid::Settled { .. }
                )
            }
            Begun::Nothing | Begun::Ended => false,
        };
        if came_back {
            back += 1;
        }
    }
    Ok(back)
}
