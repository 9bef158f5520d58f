//! Recurring billing and Cancel subscription: at once within the window, else with the term.

use super::*;

/// Turn recurring billing off (the subscription ends with its term) or back on.
pub fn set_recurring_billing(
    conn: &mut DbConnection,
    actor: &Actor,
    now: DateTime<Utc>,
    tenant: TenantId,
    subscription: SubscriptionId,
    on: bool,
) -> Result<(), DomainError> {
    crate::domain::db::transaction(conn, |conn| {
        let sub = load_sub(conn, tenant, subscription)?;
        may_change_billing(actor, tenant, &sub)?;
        if !sub.state.is_usable() {
            return Err(DomainError::Conflict("This subscription has ended.".into()));
        }
        diesel::update(subscriptions::table.find(sub.id))
            .set(subscriptions::recurring_billing.eq(on))
            .execute(conn)?;
        let action = if on {
            "Turned on recurring billing"
        } else {
            "Turned off recurring billing"
        };
        audit::record(
            conn,
            actor,
            now,
            Some(tenant),
            action,
            &sub.product_name,
            &format!("term ends {}", utc(sub.term_end).format("%Y-%m-%d")),
        )
    })
}

/// What cancelling did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cancelled {
    /// Ended now, with the refund the policy gives (prorated within the cancellation window,
    /// none after it) on a credit bill, when there is one.
    Now {
        refund_cents: i64,
        bill: Option<String>,
    },
    /// After it: recurring billing is off and the subscription ends with its term.
    AtTermEnd { ends: DateTime<Utc> },
}

/// Cancel subscription. Within the product's cancellation window (after purchase or renewal)
/// it ends at once with a prorated refund; after it, recurring billing is turned off and the
/// subscription ends with its term (the seeds' rule).
pub fn cancel(
    conn: &mut DbConnection,
    actor: &Actor,
    now: DateTime<Utc>,
    tenant: TenantId,
    subscription: SubscriptionId,
) -> Result<Cancelled, DomainError> {
    crate::domain::db::transaction(conn, |conn| {
        licenses::lock(conn, tenant)?;
        let sub = load_sub(conn, tenant, subscription)?;
        may_change_billing(actor, tenant, &sub)?;
        if !sub.state.is_current() {
            return Err(DomainError::Conflict(
                "This subscription has already ended.".into(),
            ));
        }
        if !sub.in_cancellation_window(now) {
            return end_with_term(conn, actor, now, tenant, &sub);
        }
        end_now(conn, actor, now, tenant, &sub)
    })
}

/// When billing support ends a subscription for a "Cancel subscription" service request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CancelWhen {
    /// At once, window or not (the seeds' way to cancel any subscription); the refund is the
    /// policy's: prorated within the cancellation window, none after it.
    Now,
    /// With its term: recurring billing is turned off.
    AtTermEnd,
}

/// Cancel subscription for a caller that has checked the actor's right: billing support
/// carrying out a service request.
pub(crate) fn cancel_on_request(
    conn: &mut DbConnection,
    actor: &Actor,
    now: DateTime<Utc>,
    tenant: TenantId,
    subscription: SubscriptionId,
    when: CancelWhen,
) -> Result<Cancelled, DomainError> {
    crate::domain::db::transaction(conn, |conn| {
        licenses::lock(conn, tenant)?;
        let sub = load_sub(conn, tenant, subscription)?;
        not_self_service(&sub)?;
        if !sub.state.is_current() {
            return Err(DomainError::Conflict(
                "This subscription has already ended.".into(),
            ));
        }
        match when {
            CancelWhen::Now => end_now(conn, actor, now, tenant, &sub),
            CancelWhen::AtTermEnd if !sub.recurring_billing => Err(DomainError::Conflict(format!(
                "Recurring billing is already off: the subscription ends on {}.",
                utc(sub.term_end).format("%B %-d, %Y")
            ))),
            CancelWhen::AtTermEnd => end_with_term(conn, actor, now, tenant, &sub),
        }
    })
}

/// Turns recurring billing off so the subscription ends with its term.
pub(crate) fn end_with_term(
    conn: &mut DbConnection,
    actor: &Actor,
    now: DateTime<Utc>,
    tenant: TenantId,
    sub: &Sub,
) -> Result<Cancelled, DomainError> {
    diesel::update(subscriptions::table.find(sub.id))
        .set(subscriptions::recurring_billing.eq(false))
        .execute(conn)?;
    let ends = utc(sub.term_end);
    let why = if sub.in_cancellation_window(now) {
        "cancelled to end with its term"
    } else {
        "cancellation window passed"
    };
    audit::record(
        conn,
        actor,
        now,
        Some(tenant),
        "Turned off recurring billing",
        &sub.product_name,
        &format!("{why}; ends {}", ends.format("%Y-%m-%d")),
    )?;
    billing::mail_billing_admins(
        conn,
        now,
        tenant,
        &format!(
            "Your {} subscription ends on {}",
            sub.product_name,
            ends.format("%B %-d, %Y")
        ),
        if sub.in_cancellation_window(now) {
            "The subscription was cancelled to end with its term: recurring billing is off."
        } else {
            "The cancellation window has passed, so recurring billing was turned off and the subscription ends with its term."
        },
    )?;
    Ok(Cancelled::AtTermEnd { ends })
}

/// Ends the subscription now. The refund is prorated for the rest of the term within the
/// cancellation window, and none after it.
pub(crate) fn end_now(
    conn: &mut DbConnection,
    actor: &Actor,
    now: DateTime<Utc>,
    tenant: TenantId,
    sub: &Sub,
) -> Result<Cancelled, DomainError> {
    let refund = if sub.state.is_active() && sub.in_cancellation_window(now) {
        sub.prorated(sub.quantity, now)
    } else {
        0
    };
    diesel::update(subscriptions::table.find(sub.id))
        .set((
            subscriptions::state.eq(SubscriptionState::Cancelled),
            subscriptions::recurring_billing.eq(false),
            subscriptions::ended_at.eq(Some(naive(now))),
        ))
        .execute(conn)?;
    let method = if sub.purchase_channel == PurchaseChannel::CreditCard {
        card_for(conn, tenant, sub)
            .map(|m| m.label())
            .unwrap_or_default()
    } else {
        "Invoice".into()
    };
    let line = Charge {
        subscription: Some(sub.id),
        description: format!(
            "{}: cancelled, prorated refund of {}",
            sub.product_name,
            billing::count_of(sub.quantity, "license")
        ),
        quantity: sub.quantity,
        amount_cents: -refund,
    };
    let bill = if refund > 0 {
        Some(
            billing::issue_bill(
                conn,
                now,
                tenant,
                BillKind::Refund,
                BillState::Credited,
                &method,
                &[line],
            )?
            .1,
        )
    } else {
        None
    };
    let (detail, told) = match &bill {
        Some(bill) => (
            format!("refund {}; bill {bill}", billing::format_money(refund)),
            format!(
                "The subscription ended today. A refund of {} is on bill {bill}.",
                billing::format_money(refund)
            ),
        ),
        None => (
            "no refund".to_owned(),
            "The subscription ended today. Its cancellation window had passed or it was not paid, so there is no refund.".to_owned(),
        ),
    };
    audit::record(
        conn,
        actor,
        now,
        Some(tenant),
        "Cancelled subscription",
        &sub.product_name,
        &detail,
    )?;
    billing::mail_billing_admins(
        conn,
        now,
        tenant,
        &format!("Your {} subscription is cancelled", sub.product_name),
        &told,
    )?;
    Ok(Cancelled::Now {
        refund_cents: refund,
        bill,
    })
}

/// What Cancel subscription will do, for its confirmation page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CancelPreview {
    pub sub: SubscriptionRow,
    pub window_ends: DateTime<Utc>,
    /// Within the window, it is cancelled at once with a prorated refund; after, it ends
    /// with its term.
    pub in_window: bool,
}

pub fn preview_cancel(
    conn: &mut DbConnection,
    actor: &Actor,
    now: DateTime<Utc>,
    tenant: TenantId,
    id: SubscriptionId,
) -> Result<CancelPreview, DomainError> {
    authz::may(actor, Action::ManageBilling, &Target::Tenant(tenant))?;
    let sub = get(conn, actor, tenant, id)?;
    let window_ends = cancellation_window_ends(conn, tenant, id)?;
    Ok(CancelPreview {
        sub,
        window_ends,
        in_window: now < window_ends,
    })
}
