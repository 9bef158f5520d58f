//! Subscriptions: Your products, and the rules shared by buying, removing, cancelling and
//! renewing (the areas are the files of this folder).

mod cancel;
mod catalog;
mod directory;
mod payments;
mod quantity;
mod renewals;
mod review;

pub use cancel::*;
pub use catalog::*;
pub use directory::*;
pub use payments::settle_pending;
pub use quantity::*;
pub use renewals::*;
pub use review::*;

use chrono::{DateTime, Duration, Months, Utc};
use diesel::prelude::*;

use super::authz::Target;
use super::billing::{self, BillKind, BillState, Charge, PaymentGateway};
use super::licenses;
use super::schema::{products, subscriptions, tenants, users};
use super::text_enum::text_enum;
use super::{
    Action, Actor, DbConnection, DomainError, PaymentMethodId, ProductId, SubscriptionId, TenantId,
    audit, authz, naive, utc,
};

text_enum! {
    /// Where a subscription is in its life: bought and waiting for payment, running, behind on
    /// a renewal (grace), disabled after the grace, ended by cancelling, or deleted with its
    /// data 90 days after it ended.
    pub enum SubscriptionState {
        Pending = "pending",
        Active = "active",
        PastDue = "past_due",
        Disabled = "disabled",
        Deleted = "deleted",
        Cancelled = "cancelled",
    }
}

impl SubscriptionState {
    pub fn title(self) -> &'static str {
        match self {
            SubscriptionState::Pending => "Pending",
            SubscriptionState::Active => "Active",
            SubscriptionState::PastDue => "Past due",
            SubscriptionState::Disabled => "Disabled",
            SubscriptionState::Deleted => "Deleted",
            SubscriptionState::Cancelled => "Cancelled",
        }
    }

    pub fn is_active(self) -> bool {
        self == SubscriptionState::Active
    }

    /// Its licenses can be assigned and used: active, or past due within the grace.
    pub fn is_usable(self) -> bool {
        matches!(self, SubscriptionState::Active | SubscriptionState::PastDue)
    }

    /// Bought and not ended: active, past due or disabled. It can still be cancelled.
    pub fn is_current(self) -> bool {
        matches!(
            self,
            SubscriptionState::Active | SubscriptionState::PastDue | SubscriptionState::Disabled
        )
    }
}

text_enum! {
    /// How often a subscription renews and is billed.
    pub enum BillingPeriod {
        Monthly = "monthly",
        Yearly = "yearly",
    }
}

impl BillingPeriod {
    /// The months of one term.
    pub fn months(self) -> u32 {
        match self {
            BillingPeriod::Monthly => 1,
            BillingPeriod::Yearly => 12,
        }
    }

    /// What `licenses` licenses at `monthly_price_cents` cost for one term: what a renewal
    /// charges and a new subscription's first term costs.
    pub fn term_cents(self, monthly_price_cents: i64, licenses: i32) -> i64 {
        monthly_price_cents * i64::from(self.months()) * i64::from(licenses)
    }

    /// As a form sends it; anything else is refused rather than taken for monthly.
    pub fn parse(text: &str) -> Result<BillingPeriod, DomainError> {
        text.trim()
            .parse()
            .map_err(|_| DomainError::invalid("period", "Choose monthly or yearly billing."))
    }

    pub fn is_yearly(self) -> bool {
        self == BillingPeriod::Yearly
    }
}

text_enum! {
    /// How a subscription was bought.
    pub enum PurchaseChannel {
        CreditCard = "credit_card",
        Invoice = "invoice",
        VolumeLicensing = "volume_licensing",
        Partner = "partner",
        SelfService = "self_service",
    }
}

impl PurchaseChannel {
    /// How it was bought, in the words of the page.
    pub fn title(self) -> &'static str {
        match self {
            PurchaseChannel::CreditCard => "Credit card",
            PurchaseChannel::Invoice => "Invoice",
            PurchaseChannel::VolumeLicensing => "Volume licensing",
            PurchaseChannel::Partner => "Partner",
            PurchaseChannel::SelfService => "Self-service purchase",
        }
    }
}

/// One row of Your products: one per subscription, even for the same product.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubscriptionRow {
    pub id: SubscriptionId,
    pub product_name: String,
    pub quantity: i32,
    pub billing_period: BillingPeriod,
    pub term_start: DateTime<Utc>,
    pub term_end: DateTime<Utc>,
    pub recurring_billing: bool,
    pub purchase_channel: PurchaseChannel,
    pub state: SubscriptionState,
    /// The buyer's sign-in name while it is a self-service purchase not taken over.
    pub self_service_buyer: Option<String>,
    /// The product's price of one license for a month.
    pub monthly_price_cents: i64,
}

impl SubscriptionRow {
    /// "$22.00": the price of one license for a month.
    pub fn price_text(&self) -> String {
        super::billing::format_money(self.monthly_price_cents)
    }

    /// What the next renewal will charge, when it renews at the end of its term: running,
    /// recurring billing on, bought directly (volume licensing renews by agreement, and a
    /// self-service purchase not taken over is its buyer's).
    pub fn next_renewal_cents(&self) -> Option<i64> {
        let renews = self.recurring_billing
            && matches!(
                self.state,
                SubscriptionState::Active | SubscriptionState::PastDue
            )
            && self.purchase_channel != PurchaseChannel::VolumeLicensing
            && self.self_service_buyer.is_none();
        renews.then(|| {
            self.billing_period
                .term_cents(self.monthly_price_cents, self.quantity)
        })
    }

    /// "$110.00", or None when it doesn't renew (on `term_end`).
    pub fn next_renewal_text(&self) -> Option<String> {
        self.next_renewal_cents().map(super::billing::format_money)
    }

    /// How it was bought, in the words of the page.
    pub fn how_bought(&self) -> &'static str {
        self.purchase_channel.title()
    }

    /// "1 license", "5 licenses".
    pub fn licenses_text(&self) -> String {
        super::billing::count_of(self.quantity, "license")
    }

    pub fn state_title(&self) -> &'static str {
        self.state.title()
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

/// What Your products sorts its subscriptions by (its column headers).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum SubscriptionSort {
    /// Product name, then start: the page's own order.
    #[default]
    Product,
    /// The number of licenses.
    Licenses,
    /// The state, by its title (Active, Cancelled, Disabled, Past due, Pending).
    State,
    /// The next renewal, soonest first; those that don't renew after them, by term end.
    Renewal,
}

/// The tenant's subscriptions in the order asked. A tenant has a few (one row each, even for
/// the same product), all on one page, so they are sorted here in Rust; equal ones keep the
/// product-then-start order.
pub fn list_sorted(
    conn: &mut DbConnection,
    actor: &Actor,
    tenant: TenantId,
    sort: SubscriptionSort,
    descending: bool,
) -> Result<Vec<SubscriptionRow>, DomainError> {
    let mut rows = list(conn, actor, tenant)?;
    rows.sort_by(|a, b| {
        let ordering = match sort {
            SubscriptionSort::Product => std::cmp::Ordering::Equal,
            SubscriptionSort::Licenses => a.quantity.cmp(&b.quantity),
            SubscriptionSort::State => a.state.title().cmp(b.state.title()),
            SubscriptionSort::Renewal => (a.next_renewal_cents().is_none(), a.term_end)
                .cmp(&(b.next_renewal_cents().is_none(), b.term_end)),
        };
        if descending {
            ordering.reverse()
        } else {
            ordering
        }
    });
    if sort == SubscriptionSort::Product && descending {
        rows.reverse();
    }
    Ok(rows)
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

/// A row of Your products as the query selects it.
#[derive(Queryable, Selectable)]
#[diesel(table_name = subscriptions)]
struct ListedSubscription {
    id: i64,
    #[diesel(select_expression = products::name)]
    product_name: String,
    quantity: i32,
    billing_period: BillingPeriod,
    term_start: chrono::NaiveDateTime,
    term_end: chrono::NaiveDateTime,
    recurring_billing: bool,
    purchase_channel: PurchaseChannel,
    state: SubscriptionState,
    #[diesel(select_expression = users::email.nullable())]
    self_service_buyer: Option<String>,
    #[diesel(select_expression = products::monthly_price_cents)]
    monthly_price_cents: i64,
}

fn query_rows(
    conn: &mut DbConnection,
    tenant: TenantId,
    only: Option<SubscriptionId>,
) -> Result<Vec<SubscriptionRow>, DomainError> {
    let mut query = subscriptions::table
        .inner_join(products::table)
        .left_join(users::table.on(subscriptions::self_service_buyer_id.eq(users::id.nullable())))
        .filter(subscriptions::tenant_id.eq(tenant.0))
        .into_boxed();
    query = match only {
        Some(id) => query.filter(subscriptions::id.eq(id.0)),
        None => query.filter(subscriptions::state.ne(SubscriptionState::Deleted)),
    };
    let rows: Vec<ListedSubscription> = query
        .order((products::name, subscriptions::term_start, subscriptions::id))
        .select(ListedSubscription::as_select())
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|row| SubscriptionRow {
            id: SubscriptionId(row.id),
            product_name: row.product_name,
            quantity: row.quantity,
            billing_period: row.billing_period,
            term_start: utc(row.term_start),
            term_end: utc(row.term_end),
            recurring_billing: row.recurring_billing,
            purchase_channel: row.purchase_channel,
            state: row.state,
            self_service_buyer: row.self_service_buyer,
            monthly_price_cents: row.monthly_price_cents,
        })
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
        SubscriptionState,
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
    let end = match state {
        SubscriptionState::Cancelled | SubscriptionState::Deleted => {
            utc(ended_at.unwrap_or(term_end))
        }
        SubscriptionState::Disabled => utc(disabled_at.unwrap_or(term_end)),
        _ if !recurring => utc(term_end),
        _ => now,
    };
    Ok(end + DATA_KEPT_AFTER_END)
}

/// What the billing pages need to know of one subscription.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = subscriptions)]
pub(crate) struct Sub {
    id: i64,
    product_id: i64,
    #[diesel(select_expression = products::name)]
    product_name: String,
    #[diesel(select_expression = products::monthly_price_cents)]
    monthly_price_cents: i64,
    #[diesel(select_expression = products::cancellation_window_days)]
    cancellation_window_days: i32,
    quantity: i32,
    billing_period: BillingPeriod,
    term_start: chrono::NaiveDateTime,
    term_end: chrono::NaiveDateTime,
    recurring_billing: bool,
    purchase_channel: PurchaseChannel,
    state: SubscriptionState,
    payment_method_id: Option<PaymentMethodId>,
    #[diesel(column_name = self_service_buyer_id)]
    self_service_buyer: Option<i64>,
}

fn load_sub(
    conn: &mut DbConnection,
    tenant: TenantId,
    id: SubscriptionId,
) -> Result<Sub, DomainError> {
    Ok(subscriptions::table
        .inner_join(products::table)
        .filter(subscriptions::id.eq(id.0))
        .filter(subscriptions::tenant_id.eq(tenant.0))
        .select(Sub::as_select())
        .first(conn)?)
}

impl Sub {
    /// The price of one license for a whole term.
    fn term_price(&self) -> i64 {
        self.billing_period.term_cents(self.monthly_price_cents, 1)
    }

    /// A self-service purchase not taken over: its buyer's, not the admins'.
    fn self_service(&self) -> bool {
        self.self_service_buyer.is_some()
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
        self.state.is_usable()
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
    if sub.self_service() {
        return Err(DomainError::Conflict(
            "This is a self-service purchase. Take it over on the Licenses page first.".into(),
        ));
    }
    if sub.purchase_channel == PurchaseChannel::VolumeLicensing {
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
    let cards = billing::load_methods(conn, tenant)?;
    billing::renewal_card(&cards, sub.payment_method_id)
        .cloned()
        .ok_or_else(no_payment_method)
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
