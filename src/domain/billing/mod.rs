//! Payment methods, the payment gateway, bills and money. Amounts are integer cents.

mod cards;
mod charging;
mod gateway;
mod invoicing;

pub use cards::*;
pub use charging::*;
pub use gateway::*;
pub use invoicing::*;

use chrono::{DateTime, Datelike, Utc};
use diesel::prelude::*;

use super::accounts::UserState;
use super::authz::Role;
use super::schema::{
    bill_lines, bills, charges, payment_methods, subscriptions, tenants, user_roles, users,
};
use super::subscriptions::SubscriptionState;
use super::text_enum::text_enum;
use super::{
    Action, Actor, BillId, DbConnection, DomainError, PaymentMethodId, TenantId, audit, authz,
    naive, outbox, utc,
};

// ---------------------------------------------------------------- money

/// `amount × numerator / denominator`, rounded half up, in integer arithmetic.
pub fn prorate(amount_cents: i64, numerator: i64, denominator: i64) -> i64 {
    if denominator <= 0 {
        return 0;
    }
    let value = i128::from(amount_cents.abs()) * i128::from(numerator);
    let d = i128::from(denominator);
    let rounded = ((value * 2 + d) / (2 * d)) as i64;
    if amount_cents < 0 { -rounded } else { rounded }
}

/// "1 license", "3 licenses": a count with its noun in the right number.
pub fn count_of(n: impl Into<i64>, noun: &str) -> String {
    let n = n.into();
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

/// "$1,234.56".
pub fn format_money(cents: i64) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    let cents = cents.unsigned_abs();
    let dollars = (cents / 100).to_string();
    let mut grouped = String::new();
    for (i, c) in dollars.chars().enumerate() {
        if i > 0 && (dollars.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(c);
    }
    format!("{sign}${grouped}.{:02}", cents % 100)
}

// ---------------------------------------------------------------- emails

/// Mails the tenant's Billing and Global admins through the outbox.
pub(crate) fn mail_billing_admins(
    conn: &mut DbConnection,
    now: DateTime<Utc>,
    tenant: TenantId,
    subject: &str,
    body: &str,
) -> Result<(), DomainError> {
    let tenant_name: String = tenants::table
        .find(tenant.0)
        .select(tenants::name)
        .first(conn)?;
    let recipients: Vec<String> = users::table
        .inner_join(user_roles::table)
        .filter(users::tenant_id.eq(tenant.0))
        .filter(users::state.eq(UserState::Active))
        .filter(user_roles::role.eq_any([Role::Global, Role::Billing]))
        .select(users::email)
        .distinct()
        .order(users::email)
        .load(conn)?;
    for to in recipients {
        outbox::enqueue(
            conn,
            now,
            &outbox::Email {
                tenant: Some(tenant),
                to: &to,
                subject: &format!("{tenant_name}: {subject}"),
                body,
                link: Some("/billing/products"),
            },
        )?;
    }
    Ok(())
}
