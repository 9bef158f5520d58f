//! The tenant's subscriptions as the JSON API reads them (in the style of Microsoft Graph's
//! `companySubscription`): each with its product pool's `skuId`, so a script can match a
//! subscription to `subscribedSkus` and to users' `assignedLicenses`.

use super::*;

/// A subscription as the API shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirectorySubscription {
    pub id: SubscriptionId,
    /// The GUID of the tenant's pool of its product (Graph's `skuId`).
    pub sku_id: String,
    /// The product code (Graph's `skuPartNumber`).
    pub code: String,
    pub product_name: String,
    pub state: SubscriptionState,
    pub quantity: i32,
    pub billing_period: BillingPeriod,
    pub term_start: DateTime<Utc>,
    pub term_end: DateTime<Utc>,
    pub recurring_billing: bool,
    pub purchase_channel: PurchaseChannel,
    pub created_at: DateTime<Utc>,
}

type Record = (
    i64,
    i64,
    String,
    String,
    SubscriptionState,
    i32,
    BillingPeriod,
    chrono::NaiveDateTime,
    chrono::NaiveDateTime,
    bool,
    PurchaseChannel,
    chrono::NaiveDateTime,
);

/// The tenant's subscriptions (not deleted), oldest first.
pub fn directory(
    conn: &mut DbConnection,
    actor: &Actor,
    tenant: TenantId,
) -> Result<Vec<DirectorySubscription>, DomainError> {
    authz::may(actor, Action::ViewBilling, &authz::Target::Tenant(tenant))?;
    let rows: Vec<Record> = subscriptions::table
        .inner_join(products::table)
        .filter(subscriptions::tenant_id.eq(tenant.0))
        .filter(subscriptions::state.ne(SubscriptionState::Deleted))
        .order((subscriptions::created_at, subscriptions::id))
        .select((
            subscriptions::id,
            subscriptions::product_id,
            products::code,
            products::name,
            subscriptions::state,
            subscriptions::quantity,
            subscriptions::billing_period,
            subscriptions::term_start,
            subscriptions::term_end,
            subscriptions::recurring_billing,
            subscriptions::purchase_channel,
            subscriptions::created_at,
        ))
        .load(conn)?;
    let mut products: Vec<ProductId> = rows.iter().map(|r| ProductId(r.1)).collect();
    products.sort();
    products.dedup();
    let skus = licenses::pool_ids(conn, tenant, &products)?;
    Ok(rows
        .into_iter()
        .map(
            |(
                id,
                product,
                code,
                product_name,
                state,
                quantity,
                billing_period,
                term_start,
                term_end,
                recurring_billing,
                purchase_channel,
                created_at,
            )| DirectorySubscription {
                id: SubscriptionId(id),
                sku_id: skus.get(&ProductId(product)).cloned().unwrap_or_default(),
                code,
                product_name,
                state,
                quantity,
                billing_period,
                term_start: utc(term_start),
                term_end: utc(term_end),
                recurring_billing,
                purchase_channel,
                created_at: utc(created_at),
            },
        )
        .collect())
}
