//! Subscriptions as Your products shows them, and taking over a self-service purchase.

use chrono::{DateTime, Utc};
use diesel::prelude::*;

use super::licenses;
use super::schema::{license_assignments, products, subscriptions, users};
use super::{
    Action, Actor, DbConnection, DomainError, SubscriptionId, TenantId, audit, authz, utc,
};

/// One row of Your products: one per subscription, even for the same product.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubscriptionRow {
    pub id: SubscriptionId,
    pub product_name: String,
    pub quantity: i32,
    pub billing_period: String,
    pub term_start: DateTime<Utc>,
    pub term_end: DateTime<Utc>,
    pub recurring_billing: bool,
    pub purchase_channel: String,
    pub state: String,
    /// The buyer's sign-in name while it is a self-service purchase not taken over.
    pub self_service_buyer: Option<String>,
}

impl SubscriptionRow {
    /// How it was bought, in the words of the page.
    pub fn how_bought(&self) -> &'static str {
        match self.purchase_channel.as_str() {
            "credit_card" => "Credit card",
            "invoice" => "Invoice",
            "volume_licensing" => "Volume licensing",
            "partner" => "Partner",
            "self_service" => "Self-service purchase",
            _ => "Other",
        }
    }

    /// "1 license", "5 licenses".
    pub fn licenses_text(&self) -> String {
        super::billing::count_of(self.quantity, "license")
    }

    pub fn state_title(&self) -> &'static str {
        match self.state.as_str() {
            "pending" => "Pending",
            "active" => "Active",
            "past_due" => "Past due",
            "disabled" => "Disabled",
            "deleted" => "Deleted",
            "cancelled" => "Cancelled",
            _ => "Unknown",
        }
    }
}

/// The tenant's subscriptions, by product name then start.
pub fn list(
    conn: &mut DbConnection,
    actor: &Actor,
    tenant: TenantId,
) -> Result<Vec<SubscriptionRow>, DomainError> {
    authz::may(actor, Action::ViewBilling, Some(tenant))?;
    rows_of(conn, tenant)
}

/// The tenant's subscriptions, for a caller that has checked who may see them.
pub(super) fn rows_of(
    conn: &mut DbConnection,
    tenant: TenantId,
) -> Result<Vec<SubscriptionRow>, DomainError> {
    query_rows(conn, tenant, None)
}

/// One subscription of the tenant, deleted ones included (a request's page names it), for a
/// caller that has checked who may see it.
pub(super) fn row_of(
    conn: &mut DbConnection,
    tenant: TenantId,
    id: SubscriptionId,
) -> Result<Option<SubscriptionRow>, DomainError> {
    Ok(query_rows(conn, tenant, Some(id))?.pop())
}

fn query_rows(
    conn: &mut DbConnection,
    tenant: TenantId,
    only: Option<SubscriptionId>,
) -> Result<Vec<SubscriptionRow>, DomainError> {
    type Row = (
        i64,
        String,
        i32,
        String,
        chrono::NaiveDateTime,
        chrono::NaiveDateTime,
        bool,
        String,
        String,
        Option<String>,
    );
    let mut query = subscriptions::table
        .inner_join(products::table)
        .left_join(users::table.on(subscriptions::self_service_buyer_id.eq(users::id.nullable())))
        .filter(subscriptions::tenant_id.eq(tenant.0))
        .into_boxed();
    query = match only {
        Some(id) => query.filter(subscriptions::id.eq(id.0)),
        None => query.filter(subscriptions::state.ne("deleted")),
    };
    let rows: Vec<Row> = query
        .order((products::name, subscriptions::term_start, subscriptions::id))
        .select((
            subscriptions::id,
            products::name,
            subscriptions::quantity,
            subscriptions::billing_period,
            subscriptions::term_start,
            subscriptions::term_end,
            subscriptions::recurring_billing,
            subscriptions::purchase_channel,
            subscriptions::state,
            users::email.nullable(),
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(
            |(
                id,
                product_name,
                quantity,
                billing_period,
                start,
                end,
                recurring_billing,
                purchase_channel,
                state,
                buyer,
            )| {
                SubscriptionRow {
                    id: SubscriptionId(id),
                    product_name,
                    quantity,
                    billing_period,
                    term_start: utc(start),
                    term_end: utc(end),
                    recurring_billing,
                    purchase_channel,
                    state,
                    self_service_buyer: buyer,
                }
            },
        )
        .collect())
}

/// Take over a self-service purchase: it joins the tenant's pool of its product, and admins
/// manage its licenses from then on (the seeds' remedy for "can't assign or unassign").
pub fn take_over(
    conn: &mut DbConnection,
    actor: &Actor,
    now: DateTime<Utc>,
    tenant: TenantId,
    subscription: SubscriptionId,
) -> Result<String, DomainError> {
    authz::may(actor, Action::ManageBilling, Some(tenant))?;
    super::db::transaction(conn, |conn| {
        licenses::lock(conn, tenant)?;
        let (product_name, buyer): (String, Option<i64>) = subscriptions::table
            .inner_join(products::table)
            .filter(subscriptions::id.eq(subscription.0))
            .filter(subscriptions::tenant_id.eq(tenant.0))
            .select((products::name, subscriptions::self_service_buyer_id))
            .first(conn)?;
        if buyer.is_none() {
            return Err(DomainError::Conflict(format!(
                "This {product_name} subscription has already been taken over."
            )));
        }
        diesel::update(subscriptions::table.find(subscription.0))
            .set(subscriptions::self_service_buyer_id.eq(None::<i64>))
            .execute(conn)?;
        let moved = diesel::update(
            license_assignments::table
                .filter(license_assignments::self_service_subscription_id.eq(subscription.0)),
        )
        .set(license_assignments::self_service_subscription_id.eq(None::<i64>))
        .execute(conn)?;
        let product: i64 = subscriptions::table
            .find(subscription.0)
            .select(subscriptions::product_id)
            .first(conn)?;
        licenses::adjust_count(
            conn,
            tenant,
            ProductId(product),
            Some(subscription.0),
            -(moved as i64),
        )?;
        licenses::adjust_count(conn, tenant, ProductId(product), None, moved as i64)?;
        audit::record(
            conn,
            actor,
            now,
            Some(tenant),
            "Took over self-service purchase",
            &product_name,
            &format!("{moved} assigned licenses joined the organization's pool"),
        )?;
        Ok(product_name)
    })
}

// ---------------------------------------------------------------- buying, removing, cancelling

use super::billing::{self, Charge, PaymentGateway};
use super::schema::{payment_methods, tenants};
use super::{ProductId, naive};
use chrono::{Duration, Months};

/// Grace after a failed renewal before the subscription is disabled.
pub const GRACE: Duration = Duration::days(7);
/// How long a subscription's data is kept after it is disabled or ends (cancelled or
/// expired); then the subscription and its data are deleted (DESIGN.md).
pub const DATA_KEPT_AFTER_END: Duration = Duration::days(90);

/// When the subscription's data will be deleted: 90 days after it ends, or was disabled. A
/// running subscription with recurring billing on has no end yet: the date is as if it were
/// cancelled at `now`.
pub fn data_deleted_on(
    conn: &mut DbConnection,
    tenant: TenantId,
    id: SubscriptionId,
    now: DateTime<Utc>,
) -> Result<DateTime<Utc>, DomainError> {
    let (state, recurring, term_end, ended_at, disabled_at): (
        String,
        bool,
        chrono::NaiveDateTime,
        Option<chrono::NaiveDateTime>,
        Option<chrono::NaiveDateTime>,
    ) = subscriptions::table
        .filter(subscriptions::tenant_id.eq(tenant.0))
        .filter(subscriptions::id.eq(id.0))
        .select((
            subscriptions::state,
            subscriptions::recurring_billing,
            subscriptions::term_end,
            subscriptions::ended_at,
            subscriptions::disabled_at,
        ))
        .first(conn)?;
    let end = match state.as_str() {
        "cancelled" | "deleted" => utc(ended_at.unwrap_or(term_end)),
        "disabled" => utc(disabled_at.unwrap_or(term_end)),
        _ if !recurring => utc(term_end),
        _ => now,
    };
    Ok(end + DATA_KEPT_AFTER_END)
}

/// What the billing pages need to know of one subscription.
#[derive(Debug, Clone)]
struct Sub {
    id: i64,
    product_id: i64,
    product_name: String,
    monthly_price_cents: i64,
    cancellation_window_days: i32,
    quantity: i32,
    billing_period: String,
    term_start: chrono::NaiveDateTime,
    term_end: chrono::NaiveDateTime,
    recurring_billing: bool,
    purchase_channel: String,
    state: String,
    payment_method_id: Option<i64>,
    self_service: bool,
}

fn load_sub(
    conn: &mut DbConnection,
    tenant: TenantId,
    id: SubscriptionId,
) -> Result<Sub, DomainError> {
    type Row = (
        (
            i64,
            i64,
            i32,
            String,
            chrono::NaiveDateTime,
            chrono::NaiveDateTime,
            bool,
            String,
            String,
            Option<i64>,
            Option<i64>,
        ),
        (String, i64, i32),
    );
    let (
        (
            id,
            product_id,
            quantity,
            billing_period,
            term_start,
            term_end,
            recurring_billing,
            purchase_channel,
            state,
            payment_method_id,
            buyer,
        ),
        (product_name, monthly_price_cents, cancellation_window_days),
    ): Row = subscriptions::table
        .inner_join(products::table)
        .filter(subscriptions::id.eq(id.0))
        .filter(subscriptions::tenant_id.eq(tenant.0))
        .select((
            (
                subscriptions::id,
                subscriptions::product_id,
                subscriptions::quantity,
                subscriptions::billing_period,
                subscriptions::term_start,
                subscriptions::term_end,
                subscriptions::recurring_billing,
                subscriptions::purchase_channel,
                subscriptions::state,
                subscriptions::payment_method_id,
                subscriptions::self_service_buyer_id,
            ),
            (
                products::name,
                products::monthly_price_cents,
                products::cancellation_window_days,
            ),
        ))
        .first(conn)?;
    Ok(Sub {
        id,
        product_id,
        product_name,
        monthly_price_cents,
        cancellation_window_days,
        quantity,
        billing_period,
        term_start,
        term_end,
        recurring_billing,
        purchase_channel,
        state,
        payment_method_id,
        self_service: buyer.is_some(),
    })
}

fn months(period: &str) -> u32 {
    if period == "yearly" { 12 } else { 1 }
}

impl Sub {
    /// The price of one license for a whole term.
    fn term_price(&self) -> i64 {
        self.monthly_price_cents * i64::from(months(&self.billing_period))
    }

    /// The price of `licenses` for what is left of the term at `now`, rounded to the cent.
    fn prorated(&self, licenses: i32, now: DateTime<Utc>) -> i64 {
        let total = (self.term_end - self.term_start).num_seconds();
        let left = (self.term_end - naive(now)).num_seconds().clamp(0, total);
        billing::prorate(self.term_price() * i64::from(licenses), left, total)
    }

    fn in_cancellation_window(&self, now: DateTime<Utc>) -> bool {
        naive(now) < self.term_start + Duration::days(i64::from(self.cancellation_window_days))
    }

    fn usable(&self) -> bool {
        matches!(self.state.as_str(), "active" | "past_due")
    }
}

fn may_change_billing(actor: &Actor, tenant: TenantId, sub: &Sub) -> Result<(), DomainError> {
    authz::may(actor, Action::ManageBilling, Some(tenant))?;
    not_self_service(sub)
}

/// A self-service purchase is its buyer's until an admin takes it over.
/// A self-service purchase is its buyer's until taken over; a volume licensing subscription
/// follows its agreement. Neither is changed here.
fn not_self_service(sub: &Sub) -> Result<(), DomainError> {
    if sub.self_service {
        return Err(DomainError::Conflict(
            "This is a self-service purchase. Take it over on the Licenses page first.".into(),
        ));
    }
    if sub.purchase_channel == "volume_licensing" {
        return Err(DomainError::Conflict(
            "This subscription comes with a volume licensing agreement: add a license reservation on Settings > Agreements, or ask your Licensing Solutions Partner.".into(),
        ));
    }
    Ok(())
}

/// Charges `amount` for `sub` to its card (or bills the invoice), writing the bill. A declined
/// card refuses the whole change.
fn charge(
    conn: &mut DbConnection,
    gateway: &dyn PaymentGateway,
    now: DateTime<Utc>,
    tenant: TenantId,
    sub: &Sub,
    kind: &str,
    line: Charge,
) -> Result<String, DomainError> {
    if sub.purchase_channel != "credit_card" {
        let (_, number) = billing::issue_bill(conn, now, tenant, kind, "due", "Invoice", &[line])?;
        return Ok(number);
    }
    let method = card_for(conn, tenant, sub)?;
    if let Err(decline) = gateway.charge(&method.card(), line.amount_cents, now) {
        return Err(declined(decline));
    }
    let (_, number) =
        billing::issue_bill(conn, now, tenant, kind, "paid", &method.label(), &[line])?;
    Ok(number)
}

fn card_for(
    conn: &mut DbConnection,
    tenant: TenantId,
    sub: &Sub,
) -> Result<billing::PaymentMethod, DomainError> {
    let by_sub = match sub.payment_method_id {
        Some(id) => payment_methods::table
            .filter(payment_methods::id.eq(id))
            .filter(payment_methods::removed_at.is_null())
            .select(billing::PaymentMethod::as_select())
            .first(conn)
            .optional()?,
        None => None,
    };
    match by_sub {
        Some(m) => Ok(m),
        None => billing::default_method(conn, tenant)?.ok_or_else(no_payment_method),
    }
}

fn check_quantity_to_buy(licenses: i32) -> Result<(), DomainError> {
    if (1..=100_000).contains(&licenses) {
        Ok(())
    } else {
        Err(DomainError::invalid(
            "quantity",
            "Enter how many licenses to buy, from 1 to 100,000.",
        ))
    }
}

fn declined(decline: billing::Decline) -> DomainError {
    DomainError::Conflict(format!(
        "The payment didn't go through: {}. Update the card on Payment methods, or add another, and try again.",
        decline.reason()
    ))
}

fn no_payment_method() -> DomainError {
    DomainError::Conflict("There is no payment method. Add a card on Payment methods first.".into())
}

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
    authz::may(actor, Action::ManageBilling, Some(tenant))?;
    add_licenses(conn, actor, gateway, now, tenant, subscription, licenses)
}

/// Buy licenses, for a caller that has checked the actor's right: an admin's `buy_licenses`, or
/// billing support carrying out an "Add licenses" service request.
pub(super) fn add_licenses(
    conn: &mut DbConnection,
    actor: &Actor,
    gateway: &dyn PaymentGateway,
    now: DateTime<Utc>,
    tenant: TenantId,
    subscription: SubscriptionId,
    licenses: i32,
) -> Result<String, DomainError> {
    check_quantity_to_buy(licenses)?;
    super::db::transaction(conn, |conn| {
        licenses::lock(conn, tenant)?;
        let sub = load_sub(conn, tenant, subscription)?;
        not_self_service(&sub)?;
        if sub.state != "active" {
            return Err(DomainError::Conflict(format!(
                "Licenses can be bought only on an active subscription; this one is {}.",
                sub.state.replace('_', " ")
            )));
        }
        let amount = sub.prorated(licenses, now);
        let line = Charge {
            subscription: Some(sub.id),
            description: format!(
                "{}: {} added, prorated to {}",
                sub.product_name,
                billing::count_of(licenses, "license"),
                utc(sub.term_end).format("%Y-%m-%d")
            ),
            quantity: licenses,
            amount_cents: amount,
        };
        let number = charge(conn, gateway, now, tenant, &sub, "change", line)?;
        diesel::update(subscriptions::table.find(sub.id))
            .set(subscriptions::quantity.eq(sub.quantity + licenses))
            .execute(conn)?;
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
        )?;
        Ok(number)
    })
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
    authz::may(actor, Action::ManageBilling, Some(tenant))?;
    removal_of(conn, tenant, subscription, licenses)
}

/// `preview_removal` for a caller that has checked the actor's right.
pub(super) fn removal_of(
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
    authz::may(actor, Action::ManageBilling, Some(tenant))?;
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
pub(super) fn take_away_licenses(
    conn: &mut DbConnection,
    actor: &Actor,
    now: DateTime<Utc>,
    tenant: TenantId,
    subscription: SubscriptionId,
    licenses: i32,
    accept_conflict: bool,
) -> Result<RemovalPreview, DomainError> {
    super::db::transaction(conn, |conn| {
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
            let method = if sub.purchase_channel == "credit_card" {
                card_for(conn, tenant, &sub)
                    .map(|m| m.label())
                    .unwrap_or_default()
            } else {
                "Invoice".into()
            };
            billing::issue_bill(conn, now, tenant, "refund", "credited", &method, &[line])?.1
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

/// Turn recurring billing off (the subscription ends with its term) or back on.
pub fn set_recurring_billing(
    conn: &mut DbConnection,
    actor: &Actor,
    now: DateTime<Utc>,
    tenant: TenantId,
    subscription: SubscriptionId,
    on: bool,
) -> Result<(), DomainError> {
    super::db::transaction(conn, |conn| {
        let sub = load_sub(conn, tenant, subscription)?;
        may_change_billing(actor, tenant, &sub)?;
        if !matches!(sub.state.as_str(), "active" | "past_due") {
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
    super::db::transaction(conn, |conn| {
        licenses::lock(conn, tenant)?;
        let sub = load_sub(conn, tenant, subscription)?;
        may_change_billing(actor, tenant, &sub)?;
        if !matches!(sub.state.as_str(), "active" | "past_due" | "disabled") {
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
pub(super) fn cancel_on_request(
    conn: &mut DbConnection,
    actor: &Actor,
    now: DateTime<Utc>,
    tenant: TenantId,
    subscription: SubscriptionId,
    when: CancelWhen,
) -> Result<Cancelled, DomainError> {
    super::db::transaction(conn, |conn| {
        licenses::lock(conn, tenant)?;
        let sub = load_sub(conn, tenant, subscription)?;
        not_self_service(&sub)?;
        if !matches!(sub.state.as_str(), "active" | "past_due" | "disabled") {
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
fn end_with_term(
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
fn end_now(
    conn: &mut DbConnection,
    actor: &Actor,
    now: DateTime<Utc>,
    tenant: TenantId,
    sub: &Sub,
) -> Result<Cancelled, DomainError> {
    let refund = if sub.state == "active" && sub.in_cancellation_window(now) {
        sub.prorated(sub.quantity, now)
    } else {
        0
    };
    diesel::update(subscriptions::table.find(sub.id))
        .set((
            subscriptions::state.eq("cancelled"),
            subscriptions::recurring_billing.eq(false),
            subscriptions::ended_at.eq(Some(naive(now))),
        ))
        .execute(conn)?;
    let method = if sub.purchase_channel == "credit_card" {
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
        Some(billing::issue_bill(conn, now, tenant, "refund", "credited", &method, &[line])?.1)
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

/// A product of the catalog, for buying a new subscription.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogItem {
    pub id: ProductId,
    pub name: String,
    pub monthly_price_cents: i64,
}

impl CatalogItem {
    pub fn price(&self) -> String {
        billing::format_money(self.monthly_price_cents)
    }
}

pub fn catalog(
    conn: &mut DbConnection,
    actor: &Actor,
    tenant: TenantId,
) -> Result<Vec<CatalogItem>, DomainError> {
    authz::may(actor, Action::ViewBilling, Some(tenant))?;
    Ok(products::table
        .order(products::name)
        .select((products::id, products::name, products::monthly_price_cents))
        .load::<(i64, String, i64)>(conn)?
        .into_iter()
        .map(|(id, name, monthly_price_cents)| CatalogItem {
            id: ProductId(id),
            name,
            monthly_price_cents,
        })
        .collect())
}

/// Buys a new subscription of `product`, paid by the default card from today.
#[allow(clippy::too_many_arguments)]
pub fn subscribe(
    conn: &mut DbConnection,
    actor: &Actor,
    gateway: &dyn PaymentGateway,
    now: DateTime<Utc>,
    tenant: TenantId,
    product: ProductId,
    licenses: i32,
    yearly: bool,
) -> Result<SubscriptionId, DomainError> {
    authz::may(actor, Action::ManageBilling, Some(tenant))?;
    check_quantity_to_buy(licenses)?;
    super::db::transaction(conn, |conn| {
        licenses::lock(conn, tenant)?;
        let (name, price): (String, i64) = products::table
            .find(product.0)
            .select((products::name, products::monthly_price_cents))
            .first(conn)?;
        let method = billing::default_method(conn, tenant)?.ok_or_else(no_payment_method)?;
        let period = if yearly { "yearly" } else { "monthly" };
        let end = now
            .checked_add_months(Months::new(months(period)))
            .unwrap_or(now + Duration::days(30));
        let amount = price * i64::from(months(period)) * i64::from(licenses);
        if let Err(decline) = gateway.charge(&method.card(), amount, now) {
            return Err(declined(decline));
        }
        let id: i64 = diesel::insert_into(subscriptions::table)
            .values((
                subscriptions::tenant_id.eq(tenant.0),
                subscriptions::product_id.eq(product.0),
                subscriptions::quantity.eq(licenses),
                subscriptions::billing_period.eq(period),
                subscriptions::term_start.eq(naive(now)),
                subscriptions::term_end.eq(naive(end)),
                subscriptions::recurring_billing.eq(true),
                subscriptions::purchase_channel.eq("credit_card"),
                subscriptions::state.eq("active"),
                subscriptions::payment_method_id.eq(Some(method.id)),
                subscriptions::created_at.eq(naive(now)),
            ))
            .returning(subscriptions::id)
            .get_result(conn)?;
        let line = Charge {
            subscription: Some(id),
            description: format!(
                "{name}: {}, {period}, {} – {}",
                billing::count_of(licenses, "license"),
                now.format("%Y-%m-%d"),
                end.format("%Y-%m-%d")
            ),
            quantity: licenses,
            amount_cents: amount,
        };
        let (_, bill) = billing::issue_bill(
            conn,
            now,
            tenant,
            "purchase",
            "paid",
            &method.label(),
            &[line],
        )?;
        audit::record(
            conn,
            actor,
            now,
            Some(tenant),
            "Bought subscription",
            &name,
            &format!("{licenses} licenses, {period}; bill {bill}"),
        )?;
        billing::mail_billing_admins(
            conn,
            now,
            tenant,
            &format!("You bought {name}"),
            &format!(
                "{} of {name}, {period}, charged {} (bill {bill}).",
                billing::count_of(licenses, "license"),
                billing::format_money(amount)
            ),
        )?;
        Ok(SubscriptionId(id))
    })
}

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
fn renew(
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
    authz::may(actor, Action::ManageBilling, Some(tenant))?;
    super::db::transaction(conn, |conn| {
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

/// The tenant's name, for pages and exports.
pub fn tenant_name(conn: &mut DbConnection, tenant: TenantId) -> Result<String, DomainError> {
    Ok(tenants::table
        .find(tenant.0)
        .select(tenants::name)
        .first(conn)?)
}

/// One subscription of the tenant, as its page shows it.
pub fn get(
    conn: &mut DbConnection,
    actor: &Actor,
    tenant: TenantId,
    id: SubscriptionId,
) -> Result<SubscriptionRow, DomainError> {
    list(conn, actor, tenant)?
        .into_iter()
        .find(|s| s.id == id)
        .ok_or(DomainError::NotFound)
}

/// When the subscription's cancellation window ends: the product's window after the start of
/// the current term (its purchase or last renewal).
pub fn cancellation_window_ends(
    conn: &mut DbConnection,
    tenant: TenantId,
    id: SubscriptionId,
) -> Result<DateTime<Utc>, DomainError> {
    let sub = load_sub(conn, tenant, id)?;
    Ok(utc(sub.term_start) + Duration::days(i64::from(sub.cancellation_window_days)))
}
