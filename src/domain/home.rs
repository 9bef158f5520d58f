//! Home: what needs an admin's eye, each part shown only to those who may see it.

use chrono::{DateTime, Datelike, Duration, Utc};
use diesel::prelude::*;

use super::authz::{self, Target};
use super::billing::{self, PaymentMethod};
use super::licenses::{self, PoolSummary, TenantCounts, UsageTrend};
use super::schema::{service_requests, subscriptions};
use super::service_requests::{RequestRow, State};
use super::subscriptions::{PurchaseChannel, SubscriptionRow, SubscriptionState};
use super::{
    Action, Actor, DbConnection, DomainError, PaymentMethodId, ProductId, SubscriptionId, TenantId,
};

/// Renewals Home lists: the soonest few.
pub const RENEWALS_SHOWN: usize = 5;
/// Open service requests Home lists by name: the most recently updated few.
pub const REQUESTS_SHOWN: usize = 3;

/// A card on file that runs out before the renewal it is to pay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpiringCard {
    pub card: PaymentMethod,
    pub subscription: SubscriptionRow,
}

/// The tenant's service requests still being worked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenRequests {
    pub count: i64,
    pub latest: Vec<RequestRow>,
}

/// Home's parts. `None`: the actor may not see that part, so it is not shown at all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Home {
    pub counts: TenantCounts,
    /// Every pool, with its usage (Licenses page readers).
    pub pools: Option<Vec<PoolSummary>>,
    /// The last 90 days of each product (Licenses page readers).
    pub trend: Option<Vec<UsageTrend>>,
    /// Where each product's Buy licenses goes, when the actor may buy: its active subscription
    /// bought directly (not through an agreement or by a user) with the most term left.
    pub buy_into: Vec<(ProductId, SubscriptionId)>,
    /// The soonest renewals, with what each will charge (billing readers).
    pub renewals: Option<Vec<SubscriptionRow>>,
    /// Subscriptions past due or disabled (billing readers).
    pub unpaid: Option<Vec<SubscriptionRow>>,
    /// Cards that expire before the renewal they pay (billing readers).
    pub expiring_cards: Option<Vec<ExpiringCard>>,
    pub open_requests: Option<OpenRequests>,
}

/// What Home shows `actor` of `tenant` as of `now`.
pub fn home(
    conn: &mut DbConnection,
    actor: &Actor,
    tenant: TenantId,
    now: DateTime<Utc>,
) -> Result<Home, DomainError> {
    authz::may(actor, Action::ViewAdminCenter, &Target::Tenant(tenant))?;
    // One reading of the pools for the counts, the usage bars and today's point of the trend.
    let all_pools = licenses::load_pools(conn, tenant)?;
    let counts = licenses::counts_of(conn, tenant, &all_pools)?;
    let at = Target::Tenant(tenant);
    let (pools, trend) = match authz::can(actor, Action::ViewLicenses, &at) {
        true => {
            let trend = licenses::trend_with(conn, tenant, now, &all_pools)?;
            (Some(all_pools), Some(trend))
        }
        false => (None, None),
    };
    let (renewals, unpaid, expiring_cards) = match authz::can(actor, Action::ViewBilling, &at) {
        true => {
            let rows = super::subscriptions::list(conn, actor, tenant)?;
            let cards = expiring_cards(conn, actor, tenant, &rows)?;
            let mut renewals: Vec<SubscriptionRow> = rows
                .iter()
                .filter(|s| s.next_renewal_cents().is_some())
                .cloned()
                .collect();
            renewals.sort_by_key(|s| (s.term_end, s.id));
            renewals.truncate(RENEWALS_SHOWN);
            let unpaid = rows
                .into_iter()
                .filter(|s| {
                    matches!(
                        s.state,
                        SubscriptionState::PastDue | SubscriptionState::Disabled
                    )
                })
                .collect();
            (Some(renewals), Some(unpaid), Some(cards))
        }
        false => (None, None, None),
    };
    let open_requests = match authz::can(actor, Action::ViewServiceRequest, &at) {
        true => Some(open_requests(conn, actor, tenant)?),
        false => None,
    };
    Ok(Home {
        counts,
        pools,
        trend,
        buy_into: match authz::can(actor, Action::ManageBilling, &at) {
            true => buy_into(conn, tenant)?,
            false => Vec::new(),
        },
        renewals,
        unpaid,
        expiring_cards,
        open_requests,
    })
}

/// Renewing card subscriptions whose card (their own, or else the default, as the renewal
/// chooses) is valid through a month before the one the renewal falls in.
fn expiring_cards(
    conn: &mut DbConnection,
    actor: &Actor,
    tenant: TenantId,
    rows: &[SubscriptionRow],
) -> Result<Vec<ExpiringCard>, DomainError> {
    let cards = billing::payment_methods(conn, actor, tenant)?;
    let chosen: Vec<(i64, Option<i64>)> = subscriptions::table
        .filter(subscriptions::tenant_id.eq(tenant.0))
        .filter(subscriptions::purchase_channel.eq(PurchaseChannel::CreditCard))
        .select((subscriptions::id, subscriptions::payment_method_id))
        .load(conn)?;
    let mut expiring = Vec::new();
    for row in rows.iter().filter(|s| s.next_renewal_cents().is_some()) {
        let Some((_, own)) = chosen.iter().find(|(id, _)| *id == row.id.0) else {
            continue;
        };
        if let Some(card) = billing::renewal_card(&cards, own.map(PaymentMethodId)) {
            let renews = (row.term_end.year(), row.term_end.month() as i32);
            if (card.exp_year, card.exp_month) < renews {
                expiring.push(ExpiringCard {
                    card: card.clone(),
                    subscription: row.clone(),
                });
            }
        }
    }
    expiring.sort_by_key(|e| (e.subscription.term_end, e.subscription.id));
    Ok(expiring)
}

fn buy_into(
    conn: &mut DbConnection,
    tenant: TenantId,
) -> Result<Vec<(ProductId, SubscriptionId)>, DomainError> {
    let rows: Vec<(i64, i64)> = subscriptions::table
        .filter(subscriptions::tenant_id.eq(tenant.0))
        .filter(subscriptions::state.eq(SubscriptionState::Active))
        .filter(
            subscriptions::purchase_channel
                .eq_any([PurchaseChannel::CreditCard, PurchaseChannel::Invoice]),
        )
        .filter(subscriptions::self_service_buyer_id.is_null())
        .order((
            subscriptions::product_id,
            subscriptions::term_end.desc(),
            subscriptions::id,
        ))
        .select((subscriptions::product_id, subscriptions::id))
        .load(conn)?;
    let mut chosen: Vec<(ProductId, SubscriptionId)> = Vec::new();
    for (product, sub) in rows {
        if chosen.last().is_none_or(|(p, _)| p.0 != product) {
            chosen.push((ProductId(product), SubscriptionId(sub)));
        }
    }
    Ok(chosen)
}

impl Home {
    /// The subscription Buy licenses opens for `product`, if it is offered.
    pub fn buy_licenses_of(&self, product: &ProductId) -> Option<SubscriptionId> {
        self.buy_into
            .iter()
            .find(|(p, _)| p == product)
            .map(|(_, s)| *s)
    }
}

const OPEN_STATES: [State; 3] = [State::Open, State::InProgress, State::WaitingOnCustomer];

fn open_requests(
    conn: &mut DbConnection,
    actor: &Actor,
    tenant: TenantId,
) -> Result<OpenRequests, DomainError> {
    let count = service_requests::table
        .filter(service_requests::tenant_id.eq(tenant.0))
        .filter(service_requests::state.eq_any(OPEN_STATES))
        .count()
        .get_result(conn)?;
    let latest = match count {
        0 => Vec::new(),
        _ => super::service_requests::list_for_tenant(conn, actor, tenant, None)?
            .rows
            .into_iter()
            .filter(|r| OPEN_STATES.contains(&r.state))
            .take(REQUESTS_SHOWN)
            .collect(),
    };
    Ok(OpenRequests { count, latest })
}

/// Within the next 14 days: a renewal Home marks as soon.
pub fn renews_soon(row: &SubscriptionRow, now: DateTime<Utc>) -> bool {
    row.term_end <= now + Duration::days(14)
}
