//! Card payments for subscriptions, made once whatever retries or crashes (DESIGN.md, "Sessions,
//! money and crashes"): (1) a transaction records the charge as pending with its idempotency
//! key (`billing::record_pending`, by the caller); (2) the gateway is asked, outside any
//! transaction; (3) a second transaction records the answer and does what was paid for: adds
//! the licenses, starts the subscription, renews the term. A charge left pending between (2)
//! and (3) is settled by the next `tick`, which asks the gateway again with the same key.

use super::*;
use crate::domain::billing::{
    Approval, BillKind, BillState, ChargeFailure, ChargeRow, ChargeState, Decline, Purpose,
};
use crate::domain::db;

/// What paying came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Paid {
    /// Taken: the bill's number, and the subscription paid for (a new one for a purchase).
    Settled {
        bill: String,
        subscription: SubscriptionId,
    },
    Declined(Decline),
    /// The gateway did not answer; `tick` asks again.
    Pending,
}

/// Steps 2 and 3 of a charge recorded as pending.
pub(crate) fn pay(
    conn: &mut DbConnection,
    gateway: &dyn PaymentGateway,
    actor: &Actor,
    now: DateTime<Utc>,
    charge: &ChargeRow,
) -> Result<Paid, DomainError> {
    let answer = match billing::ask_gateway(conn, gateway, now, charge)? {
        Ok(approval) => Ok(approval),
        Err(ChargeFailure::Declined(decline)) => Err(decline),
        Err(ChargeFailure::Unanswered(why)) => {
            tracing::warn!(
                charge = charge.id,
                "the payment gateway did not answer ({why}); the charge stays pending"
            );
            return Ok(Paid::Pending);
        }
    };
    settle(conn, actor, now, charge.id, &answer)
}

/// Step 3, in one transaction: records the gateway's answer and does what was paid for. A
/// charge already settled (by a `tick` that recovered it, or the request that made it) is
/// answered from its record and changes nothing.
pub(crate) fn settle(
    conn: &mut DbConnection,
    actor: &Actor,
    now: DateTime<Utc>,
    id: i64,
    answer: &Result<Approval, Decline>,
) -> Result<Paid, DomainError> {
    db::transaction(conn, |conn| {
        let tenant = billing::charge_row(conn, id)?.tenant();
        licenses::lock(conn, tenant)?;
        let charge = billing::charge_row(conn, id)?;
        if charge.state != ChargeState::Pending {
            return recorded(conn, &charge);
        }
        match charge.purpose {
            Purpose::AddLicenses => licenses_paid(conn, actor, now, &charge, answer),
            Purpose::Subscribe => subscription_paid(conn, actor, now, &charge, answer),
            Purpose::Renewal => renewal_paid(conn, actor, now, &charge, answer),
        }
    })
}

/// What a settled charge came to, from its record.
fn recorded(conn: &mut DbConnection, charge: &ChargeRow) -> Result<Paid, DomainError> {
    match (charge.state, charge.bill_id, charge.subscription_id) {
        (ChargeState::Settled, Some(bill), Some(subscription)) => Ok(Paid::Settled {
            bill: billing::bill_number(conn, bill)?,
            subscription: SubscriptionId(subscription),
        }),
        _ => Ok(charge.decline().map_or(Paid::Pending, Paid::Declined)),
    }
}

/// What a bill's line says for a charge of `purpose`: the product, the licenses and the term.
pub(crate) fn describe(
    purpose: Purpose,
    product_name: &str,
    licenses: i32,
    start: chrono::NaiveDateTime,
    end: chrono::NaiveDateTime,
) -> String {
    let licenses = billing::count_of(licenses, "license");
    let period = period_of(start, end).as_str();
    let (start, end) = (start.format("%Y-%m-%d"), end.format("%Y-%m-%d"));
    match purpose {
        Purpose::AddLicenses => format!("{product_name}: {licenses} added, prorated to {end}"),
        Purpose::Subscribe => format!("{product_name}: {licenses}, {period}, {start} – {end}"),
        Purpose::Renewal => format!("{product_name}: {licenses}, renewal {start} – {end}"),
    }
}

/// A term of twelve months or more is a yearly one.
pub(crate) fn period_of(start: chrono::NaiveDateTime, end: chrono::NaiveDateTime) -> BillingPeriod {
    match start.checked_add_months(Months::new(12)) {
        Some(year) if year <= end => BillingPeriod::Yearly,
        _ => BillingPeriod::Monthly,
    }
}

/// The bill's one line for a charge.
fn line_of(
    charge: &ChargeRow,
    subscription: i64,
    product_name: &str,
) -> Result<Charge, DomainError> {
    Ok(Charge {
        subscription: Some(subscription),
        description: describe(
            charge.purpose,
            product_name,
            charge.licenses,
            charge.term_start,
            charge.term_end,
        ),
        quantity: charge.licenses,
        amount_cents: charge.amount_cents,
    })
}

fn subscription_of(charge: &ChargeRow) -> Result<SubscriptionId, DomainError> {
    charge
        .subscription_id
        .map(SubscriptionId)
        .ok_or(DomainError::NotFound)
}

fn licenses_paid(
    conn: &mut DbConnection,
    actor: &Actor,
    now: DateTime<Utc>,
    charge: &ChargeRow,
    answer: &Result<Approval, Decline>,
) -> Result<Paid, DomainError> {
    let tenant = charge.tenant();
    let Ok(_) = answer else {
        // A refused purchase changes nothing: no bill, no licenses.
        billing::record_answer(conn, now, charge, answer, None, None)?;
        return recorded_decline(answer);
    };
    let sub = load_sub(conn, tenant, subscription_of(charge)?)?;
    let label = billing::method_label(conn, charge.payment_method_id)?;
    let (bill, number) = billing::issue_bill(
        conn,
        now,
        tenant,
        BillKind::Change,
        BillState::Paid,
        &label,
        &[line_of(charge, sub.id, &sub.product_name)?],
    )?;
    billing::record_answer(conn, now, charge, answer, Some(bill), None)?;
    licenses_added(
        conn,
        actor,
        now,
        tenant,
        &sub,
        charge.licenses,
        charge.amount_cents,
        &number,
    )?;
    Ok(Paid::Settled {
        bill: number,
        subscription: SubscriptionId(sub.id),
    })
}

fn recorded_decline(answer: &Result<Approval, Decline>) -> Result<Paid, DomainError> {
    match answer {
        Err(decline) => Ok(Paid::Declined(*decline)),
        Ok(_) => Ok(Paid::Pending),
    }
}

/// The licenses bought are the subscription's: its quantity grows, and it is logged and mailed.
#[allow(clippy::too_many_arguments)]
pub(crate) fn licenses_added(
    conn: &mut DbConnection,
    actor: &Actor,
    now: DateTime<Utc>,
    tenant: TenantId,
    sub: &Sub,
    licenses: i32,
    amount: i64,
    number: &str,
) -> Result<(), DomainError> {
    diesel::update(subscriptions::table.find(sub.id))
        .set(subscriptions::quantity.eq(subscriptions::quantity + licenses))
        .execute(conn)?;
    // Back at the threshold or above: the next fall below is said again.
    crate::domain::licenses::check_alert(conn, now, tenant, ProductId(sub.product_id))?;
    let detail = format!(
        "{} → {} licenses; bill {number}",
        sub.quantity,
        sub.quantity + licenses
    );
    audit::record(
        conn,
        actor,
        now,
        Some(tenant),
        "Bought licenses",
        &sub.product_name,
        &detail,
    )?;
    billing::mail_billing_admins(
        conn,
        now,
        tenant,
        &format!(
            "You bought {} of {}",
            billing::count_of(licenses, "license"),
            sub.product_name
        ),
        &format!(
            "{} added to your {} subscription ({detail}), charged {}.",
            billing::count_of(licenses, "license"),
            sub.product_name,
            billing::format_money(amount)
        ),
    )
}

fn subscription_paid(
    conn: &mut DbConnection,
    actor: &Actor,
    now: DateTime<Utc>,
    charge: &ChargeRow,
    answer: &Result<Approval, Decline>,
) -> Result<Paid, DomainError> {
    let tenant = charge.tenant();
    let Ok(_) = answer else {
        billing::record_answer(conn, now, charge, answer, None, None)?;
        return recorded_decline(answer);
    };
    let name: String = products::table
        .find(charge.product_id)
        .select(products::name)
        .first(conn)?;
    let period = period_of(charge.term_start, charge.term_end);
    let id: i64 = diesel::insert_into(subscriptions::table)
        .values((
            subscriptions::tenant_id.eq(tenant.0),
            subscriptions::product_id.eq(charge.product_id),
            subscriptions::quantity.eq(charge.licenses),
            subscriptions::billing_period.eq(period),
            subscriptions::term_start.eq(charge.term_start),
            subscriptions::term_end.eq(charge.term_end),
            subscriptions::recurring_billing.eq(true),
            subscriptions::purchase_channel.eq(PurchaseChannel::CreditCard),
            subscriptions::state.eq(SubscriptionState::Active),
            subscriptions::payment_method_id.eq(Some(charge.payment_method_id)),
            subscriptions::created_at.eq(naive(now)),
        ))
        .returning(subscriptions::id)
        .get_result(conn)?;
    let label = billing::method_label(conn, charge.payment_method_id)?;
    let (bill_id, bill) = billing::issue_bill(
        conn,
        now,
        tenant,
        BillKind::Purchase,
        BillState::Paid,
        &label,
        &[line_of(charge, id, &name)?],
    )?;
    billing::record_answer(conn, now, charge, answer, Some(bill_id), Some(id))?;
    audit::record(
        conn,
        actor,
        now,
        Some(tenant),
        "Bought subscription",
        &name,
        &format!(
            "{} licenses, {}; bill {bill}",
            charge.licenses,
            period.as_str()
        ),
    )?;
    billing::mail_billing_admins(
        conn,
        now,
        tenant,
        &format!("You bought {name}"),
        &format!(
            "{} of {name}, {}, charged {} (bill {bill}).",
            billing::count_of(charge.licenses, "license"),
            period.as_str(),
            billing::format_money(charge.amount_cents)
        ),
    )?;
    Ok(Paid::Settled {
        bill,
        subscription: SubscriptionId(id),
    })
}

fn renewal_paid(
    conn: &mut DbConnection,
    actor: &Actor,
    now: DateTime<Utc>,
    charge: &ChargeRow,
    answer: &Result<Approval, Decline>,
) -> Result<Paid, DomainError> {
    let tenant = charge.tenant();
    let sub = load_sub(conn, tenant, subscription_of(charge)?)?;
    let label = billing::method_label(conn, charge.payment_method_id)?;
    let state = if answer.is_ok() {
        BillState::Paid
    } else {
        BillState::Failed
    };
    let (bill_id, bill) = billing::issue_bill(
        conn,
        now,
        tenant,
        BillKind::Renewal,
        state,
        &label,
        &[line_of(charge, sub.id, &sub.product_name)?],
    )?;
    billing::record_answer(conn, now, charge, answer, Some(bill_id), None)?;
    match answer {
        Ok(_) => {
            renewed(
                conn,
                actor,
                now,
                tenant,
                &sub,
                utc(charge.term_start),
                utc(charge.term_end),
                charge.amount_cents,
            )?;
            Ok(Paid::Settled {
                bill,
                subscription: SubscriptionId(sub.id),
            })
        }
        Err(decline) => {
            renewal_failed(conn, actor, now, tenant, &sub, *decline)?;
            Ok(Paid::Declined(*decline))
        }
    }
}

/// Charges left pending by a crash or a lost answer, asked again with their keys and settled.
/// Run by `tick` before the renewals; a charge younger than `SETTLE_PENDING_AFTER` is left to
/// the request making it. Returns how many it settled (taken or declined).
pub fn settle_pending(
    conn: &mut DbConnection,
    gateway: &dyn PaymentGateway,
    now: DateTime<Utc>,
    failures: &mut usize,
) -> Result<usize, DomainError> {
    let system = Actor::System("payment recovery");
    let mut settled = 0;
    for id in billing::pending_before(conn, now - billing::SETTLE_PENDING_AFTER)? {
        let outcome = billing::charge_row(conn, id).and_then(|charge| {
            if charge.state != ChargeState::Pending {
                return Ok(Paid::Pending);
            }
            tracing::info!(charge = id, "settling a charge left pending");
            pay(conn, gateway, &system, now, &charge)
        });
        if let Some(Paid::Settled { .. } | Paid::Declined(_)) =
            db::keep_going(failures, "settle pending charge", id, outcome)
        {
            settled += 1;
        }
    }
    Ok(settled)
}
