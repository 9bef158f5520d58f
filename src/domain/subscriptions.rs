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
    let rows: Vec<Row> = subscriptions::table
        .inner_join(products::table)
        .left_join(users::table.on(subscriptions::self_service_buyer_id.eq(users::id.nullable())))
        .filter(subscriptions::tenant_id.eq(tenant.0))
        .filter(subscriptions::state.ne("deleted"))
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
