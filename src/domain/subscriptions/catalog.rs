//! The catalog of products and buying a new subscription.

use super::*;

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
    yearly: bool,
) -> Result<SubscriptionId, DomainError> {
    authz::may(actor, Action::ManageBilling, &authz::Target::Tenant(tenant))?;
    check_quantity_to_buy(licenses)?;
    crate::domain::db::transaction(conn, |conn| {
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
