//! Taking over a self-service purchase: its licenses join the tenant pool.

use super::*;

/// Take over a self-service purchase: it joins the tenant's pool of its product, and admins
/// manage its licenses from then on (the seeds' remedy for "can't assign or unassign").
pub fn take_over(
    conn: &mut DbConnection,
    actor: &Actor,
    now: DateTime<Utc>,
    tenant: TenantId,
    subscription: SubscriptionId,
) -> Result<String, DomainError> {
    authz::may(actor, Action::ManageBilling, &authz::Target::Tenant(tenant))?;
    crate::domain::db::transaction(conn, |conn| {
        lock(conn, tenant)?;
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
        adjust_count(
            conn,
            tenant,
            ProductId(product),
            Some(subscription.0),
            -(moved as i64),
        )?;
        adjust_count(conn, tenant, ProductId(product), None, moved as i64)?;
        check_alert(conn, now, tenant, ProductId(product))?;
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
