//! The review step before money moves (issue 15): what Buy licenses, Remove licenses and Buy a
//! subscription will charge or credit now, and what the next renewal will cost after it. Worked
//! out by the same rules as the change itself, which checks everything again when confirmed.

use super::*;

/// What a change to a subscription will do to the money.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Review {
    pub product_name: String,
    /// The licenses bought or removed.
    pub licenses: i32,
    pub quantity_before: i32,
    pub quantity_after: i32,
    pub billing_period: BillingPeriod,
    pub term_start: DateTime<Utc>,
    pub term_end: DateTime<Utc>,
    /// Charged now (buying), or credited now (removing): the rest of the term, prorated.
    pub now_cents: i64,
    /// "Visa •••• 4242", or "Invoice".
    pub paid_with: String,
    /// What the next renewal will charge after the change; None when it doesn't renew.
    pub renewal_cents: Option<i64>,
    /// Removing: the users who would be beyond the count, and the pool's figures.
    pub beyond: Vec<(String, String)>,
    pub pool_licenses: i64,
    pub assigned: i64,
}

impl Review {
    pub fn now_text(&self) -> String {
        billing::format_money(self.now_cents)
    }

    pub fn renewal_text(&self) -> Option<String> {
        self.renewal_cents.map(billing::format_money)
    }

    pub fn licenses_text(&self) -> String {
        billing::count_of(self.licenses, "license")
    }

    /// "7 licenses": the subscription after the change.
    pub fn after_text(&self) -> String {
        billing::count_of(self.quantity_after, "license")
    }

    /// Days left in the term the prorated amount is for.
    pub fn days_left(&self, now: DateTime<Utc>) -> i64 {
        (self.term_end - now).num_days().max(0)
    }
}

/// Buy licenses, reviewed: the prorated charge now and the renewal after it.
pub fn review_purchase(
    conn: &mut DbConnection,
    actor: &Actor,
    now: DateTime<Utc>,
    tenant: TenantId,
    subscription: SubscriptionId,
    licenses: i32,
) -> Result<Review, DomainError> {
    authz::may(actor, Action::ManageBilling, &authz::Target::Tenant(tenant))?;
    check_quantity_to_buy(licenses)?;
    let sub = load_sub(conn, tenant, subscription)?;
    may_add_to(&sub)?;
    reviewed(conn, tenant, &sub, licenses, sub.quantity + licenses, now)
}

/// Remove licenses, reviewed: the prorated credit now, the renewal after it, and the users it
/// would leave beyond the count.
pub fn review_removal(
    conn: &mut DbConnection,
    actor: &Actor,
    now: DateTime<Utc>,
    tenant: TenantId,
    subscription: SubscriptionId,
    licenses: i32,
) -> Result<Review, DomainError> {
    authz::may(actor, Action::ManageBilling, &authz::Target::Tenant(tenant))?;
    let removal = removal_of(conn, tenant, subscription, licenses)?;
    let sub = load_sub(conn, tenant, subscription)?;
    let mut review = reviewed(conn, tenant, &sub, licenses, sub.quantity - licenses, now)?;
    // Licenses of a subscription that doesn't count (disabled) are credited nothing.
    if !sub.usable() {
        review.now_cents = 0;
    }
    review.beyond = removal.beyond;
    review.pool_licenses = removal.pool_licenses;
    review.assigned = removal.assigned;
    Ok(review)
}

fn reviewed(
    conn: &mut DbConnection,
    tenant: TenantId,
    sub: &Sub,
    licenses: i32,
    after: i32,
    now: DateTime<Utc>,
) -> Result<Review, DomainError> {
    let paid_with = match sub.purchase_channel {
        PurchaseChannel::CreditCard => card_for(conn, tenant, sub)?.label(),
        _ => "Invoice".to_owned(),
    };
    let row = row_of(conn, tenant, SubscriptionId(sub.id))?.ok_or(DomainError::NotFound)?;
    let renewal_cents = row
        .next_renewal_cents()
        .map(|_| sub.term_price() * i64::from(after));
    Ok(Review {
        product_name: sub.product_name.clone(),
        licenses,
        quantity_before: sub.quantity,
        quantity_after: after,
        billing_period: sub.billing_period,
        term_start: utc(sub.term_start),
        term_end: utc(sub.term_end),
        now_cents: sub.prorated(licenses, now),
        paid_with,
        renewal_cents,
        beyond: Vec::new(),
        pool_licenses: 0,
        assigned: 0,
    })
}

/// Buy a subscription, reviewed: a whole term charged now to the default card, and the same at
/// each renewal.
#[allow(clippy::too_many_arguments)]
pub fn review_subscription(
    conn: &mut DbConnection,
    actor: &Actor,
    now: DateTime<Utc>,
    tenant: TenantId,
    product: ProductId,
    licenses: i32,
    period: BillingPeriod,
) -> Result<Review, DomainError> {
    authz::may(actor, Action::ManageBilling, &authz::Target::Tenant(tenant))?;
    check_quantity_to_buy(licenses)?;
    let (name, amount) = price_of_new(conn, product, licenses, period)?;
    let method = billing::default_method(conn, tenant)?.ok_or_else(no_payment_method)?;
    Ok(Review {
        product_name: name,
        licenses,
        quantity_before: 0,
        quantity_after: licenses,
        billing_period: period,
        term_start: now,
        term_end: term_end_from(now, period),
        now_cents: amount,
        paid_with: method.label(),
        renewal_cents: Some(amount),
        beyond: Vec::new(),
        pool_licenses: 0,
        assigned: 0,
    })
}
