//! The catalog of products and buying a new subscription.

use super::*;

text_enum! {
    /// A product's family: online services (Microsoft 365 and the like, whose licenses move
    /// with a remapped agreement) or business applications.
    pub enum ProductFamily {
        OnlineServices = "online_services",
        BusinessApplications = "business_applications",
    }
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
    authz::may(actor, Action::ViewBilling, &authz::Target::Tenant(tenant))?;
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
    period: BillingPeriod,
) -> Result<SubscriptionId, DomainError> {
    authz::may(actor, Action::ManageBilling, &authz::Target::Tenant(tenant))?;
    check_quantity_to_buy(licenses)?;
    // Step 1: the charge is recorded as pending; the subscription starts when it settles.
    let charge = crate::domain::db::transaction(conn, |conn| {
        let (_, amount) = price_of_new(conn, product, licenses, period)?;
        let method = billing::default_method(conn, tenant)?.ok_or_else(no_payment_method)?;
        let end = term_end_from(now, period);
        billing::record_pending(
            conn,
            now,
            &billing::NewCharge {
                purpose: billing::Purpose::Subscribe,
                tenant,
                subscription: None,
                product: product.0,
                payment_method: method.id,
                amount_cents: amount,
                licenses,
                term_start: naive(now),
                term_end: naive(end),
            },
        )
    })?;
    // Steps 2 and 3: the card is charged once, outside any transaction, and the answer kept.
    match payments::pay(conn, gateway, actor, now, &charge)? {
        payments::Paid::Settled { subscription, .. } => Ok(subscription),
        payments::Paid::Declined(decline) => Err(declined(decline)),
        payments::Paid::Pending => Err(payment_pending()),
    }
}

/// A new subscription's product name and the price of its first term (and of each renewal).
pub(super) fn price_of_new(
    conn: &mut DbConnection,
    product: ProductId,
    licenses: i32,
    period: BillingPeriod,
) -> Result<(String, i64), DomainError> {
    let (name, price): (String, i64) = products::table
        .find(product.0)
        .select((products::name, products::monthly_price_cents))
        .first(conn)?;
    let amount = period.term_cents(price, licenses);
    if amount <= 0 {
        return Err(DomainError::Conflict(format!(
            "{name} has no price, so it cannot be bought here."
        )));
    }
    Ok((name, amount))
}

/// Where a term that starts at `start` ends.
pub(super) fn term_end_from(start: DateTime<Utc>, period: BillingPeriod) -> DateTime<Utc> {
    start
        .checked_add_months(Months::new(period.months()))
        .unwrap_or(start + Duration::days(30))
}
