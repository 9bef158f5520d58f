//! Subscriptions: Your products, and the rules shared by buying, removing, cancelling and
//! renewing (the areas are the files of this folder).

mod cancel;
mod catalog;
mod payments;
mod quantity;
mod renewals;

pub use cancel::*;
pub use catalog::*;
pub use payments::settle_pending;
pub use quantity::*;
pub use renewals::*;

use chrono::{DateTime, Duration, Months, Utc};
use diesel::prelude::*;

use super::authz::Target;
use super::billing::{self, Charge, PaymentGateway};
use super::licenses;
use super::schema::{payment_methods, products, subscriptions, tenants, users};
use super::{
    Action, Actor, DbConnection, DomainError, ProductId, SubscriptionId, TenantId, audit, authz,
    naive, utc,
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
    authz::may(actor, Action::ViewBilling, &authz::Target::Tenant(tenant))?;
    rows_of(conn, tenant)
}

/// The tenant's subscriptions, for a caller that has checked who may see them.
pub(crate) fn rows_of(
    conn: &mut DbConnection,
    tenant: TenantId,
) -> Result<Vec<SubscriptionRow>, DomainError> {
    query_rows(conn, tenant, None)
}

/// One subscription of the tenant, deleted ones included (a request's page names it), for a
/// caller that has checked who may see it.
pub(crate) fn row_of(
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

// ---------------------------------------------------------------- shared by buying, removing, cancelling

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
pub(crate) struct Sub {
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
    authz::may(actor, Action::ManageBilling, &authz::Target::Tenant(tenant))?;
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

fn payment_pending() -> DomainError {
    DomainError::Conflict(
        "The payment provider did not answer in time. The payment is pending: allot asks again within a few minutes, and the bill appears on Bills & payments once it goes through.".into(),
    )
}

fn no_payment_method() -> DomainError {
    DomainError::Conflict("There is no payment method. Add a card on Payment methods first.".into())
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
