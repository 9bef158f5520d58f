//! Payment methods, the payment gateway, bills and money. Amounts are integer cents.

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

// ---------------------------------------------------------------- the gateway

/// Why a charge did not go through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decline {
    Declined,
    Expired,
}

impl Decline {
    pub fn reason(self) -> &'static str {
        match self {
            Decline::Declined => "the card was declined",
            Decline::Expired => "the card has expired",
        }
    }

    /// As the charges table keeps it.
    pub fn code(self) -> &'static str {
        match self {
            Decline::Declined => "declined",
            Decline::Expired => "expired",
        }
    }

    pub fn from_code(code: &str) -> Decline {
        match code {
            "expired" => Decline::Expired,
            _ => Decline::Declined,
        }
    }
}

/// A card as the gateway sees it.
pub struct CardOnFile<'a> {
    pub token: &'a str,
    pub exp_month: i32,
    pub exp_year: i32,
}

/// A charge the gateway took: its reference, kept with the charge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Approval {
    pub reference: String,
}

/// What a charge came to, other than taken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChargeFailure {
    /// The card was refused: final for this key.
    Declined(Decline),
    /// No answer (a timeout, the provider down): the charge stays pending and `tick` asks again
    /// with the same key.
    Unanswered(String),
}

/// Charges and refunds cards. allot ships a test gateway; a real provider implements this
/// trait (its token replaces the test token).
///
/// A charge is made at most once per `key`. allot records the charge as pending with a key
/// unique to it before calling `charge`, outside any database transaction, and settles it
/// after; when it does not hear back (a crash, a timeout) the next `tick` calls `charge` again
/// with the same key. So the gateway must treat a repeated key as the same charge and answer
/// with the first result, without charging again: a real provider passes the key as its
/// idempotency key (Stripe's `Idempotency-Key` header, Adyen's `Idempotency-Key`, Braintree's
/// order id with duplicate checking), and keeps it at least as long as `tick` may retry.
pub trait PaymentGateway: Send + Sync {
    /// Turns a card number into the token to keep; the number itself is never stored.
    fn tokenize(&self, number: &str) -> String;
    fn charge(
        &self,
        key: &str,
        card: &CardOnFile<'_>,
        amount_cents: i64,
        now: DateTime<Utc>,
    ) -> Result<Approval, ChargeFailure>;
}

/// The built-in test gateway, like a payment provider's test mode (README, "Test cards"):
/// 4000 0000 0000 0002 is declined, 4000 0000 0000 0069 is refused as expired, and every other
/// valid number is approved while its expiry date has not passed. Like a real provider it
/// answers a repeated key with its first result; it remembers keys in memory, for the life of
/// the process.
pub struct TestGateway;

static TEST_CHARGES: std::sync::LazyLock<
    std::sync::Mutex<std::collections::HashMap<String, Result<Approval, Decline>>>,
> = std::sync::LazyLock::new(Default::default);

impl PaymentGateway for TestGateway {
    fn tokenize(&self, number: &str) -> String {
        match number {
            "4000000000000002" => "test:decline".into(),
            "4000000000000069" => "test:expired".into(),
            _ => "test:approve".into(),
        }
    }

    fn charge(
        &self,
        key: &str,
        card: &CardOnFile<'_>,
        _amount: i64,
        now: DateTime<Utc>,
    ) -> Result<Approval, ChargeFailure> {
        let mut seen = TEST_CHARGES
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let count = seen.len();
        let answer = seen.entry(key.to_owned()).or_insert_with(|| {
            if card_expired(card.exp_month, card.exp_year, now) {
                return Err(Decline::Expired);
            }
            match card.token {
                "test:decline" => Err(Decline::Declined),
                "test:expired" => Err(Decline::Expired),
                _ => Ok(Approval {
                    reference: format!("test_ch_{}", count + 1),
                }),
            }
        });
        answer.clone().map_err(ChargeFailure::Declined)
    }
}

/// A card is good through the last day of its expiry month.
pub fn card_expired(month: i32, year: i32, now: DateTime<Utc>) -> bool {
    (year, month) < (now.year(), now.month() as i32)
}

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

// ---------------------------------------------------------------- payment methods

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = payment_methods)]
pub struct PaymentMethod {
    pub id: PaymentMethodId,
    pub holder: String,
    pub brand: String,
    pub last4: String,
    pub exp_month: i32,
    pub exp_year: i32,
    pub gateway_token: String,
    pub is_default: bool,
}

impl PaymentMethod {
    /// "Visa •••• 4242".
    pub fn label(&self) -> String {
        format!("{} •••• {}", self.brand, self.last4)
    }

    pub fn expiry(&self) -> String {
        format!("{:02}/{}", self.exp_month, self.exp_year)
    }

    pub fn card(&self) -> CardOnFile<'_> {
        CardOnFile {
            token: &self.gateway_token,
            exp_month: self.exp_month,
            exp_year: self.exp_year,
        }
    }
}

/// A new card as the form gives it.
#[derive(Debug, Clone, Default)]
pub struct NewCard {
    pub holder: String,
    pub number: String,
    pub exp_month: String,
    pub exp_year: String,
    pub security_code: String,
}

/// Luhn's check digit test.
pub fn luhn_valid(digits: &str) -> bool {
    let mut sum = 0;
    for (i, c) in digits.chars().rev().enumerate() {
        let Some(mut d) = c.to_digit(10) else {
            return false;
        };
        if i % 2 == 1 {
            d *= 2;
            if d > 9 {
                d -= 9;
            }
        }
        sum += d;
    }
    !digits.is_empty() && sum % 10 == 0
}

pub fn brand_of(number: &str) -> &'static str {
    let two: u32 = number.get(..2).and_then(|p| p.parse().ok()).unwrap_or(0);
    let four: u32 = number.get(..4).and_then(|p| p.parse().ok()).unwrap_or(0);
    if number.starts_with('4') {
        "Visa"
    } else if (51..=55).contains(&two) || (2221..=2720).contains(&four) {
        "Mastercard"
    } else if two == 34 || two == 37 {
        "American Express"
    } else {
        "Card"
    }
}

fn parse_expiry(month: &str, year: &str, now: DateTime<Utc>) -> Result<(i32, i32), DomainError> {
    let month: i32 = month
        .trim()
        .parse()
        .ok()
        .filter(|m| (1..=12).contains(m))
        .ok_or_else(|| {
            DomainError::invalid(
                "exp_month",
                "Enter the expiry month as a number from 1 to 12.",
            )
        })?;
    let mut year: i32 = year
        .trim()
        .parse()
        .map_err(|_| DomainError::invalid("exp_year", "Enter the expiry year, like 2028."))?;
    if year < 100 {
        year += 2000;
    }
    if card_expired(month, year, now) {
        return Err(DomainError::invalid(
            "exp_month",
            "The expiry date must be in the future.",
        ));
    }
    if year > now.year() + 20 {
        return Err(DomainError::invalid(
            "exp_year",
            "The expiry year is too far away.",
        ));
    }
    Ok((month, year))
}

/// The tenant's cards, default first. Card details are for Global and Billing admins only.
pub fn payment_methods(
    conn: &mut DbConnection,
    actor: &Actor,
    tenant: TenantId,
) -> Result<Vec<PaymentMethod>, DomainError> {
    authz::may(actor, Action::ViewBilling, &authz::Target::Tenant(tenant))?;
    load_methods(conn, tenant)
}

fn load_methods(
    conn: &mut DbConnection,
    tenant: TenantId,
) -> Result<Vec<PaymentMethod>, DomainError> {
    Ok(payment_methods::table
        .filter(payment_methods::tenant_id.eq(tenant.0))
        .filter(payment_methods::removed_at.is_null())
        .order((payment_methods::is_default.desc(), payment_methods::id))
        .select(PaymentMethod::as_select())
        .load(conn)?)
}

pub(crate) fn default_method(
    conn: &mut DbConnection,
    tenant: TenantId,
) -> Result<Option<PaymentMethod>, DomainError> {
    Ok(load_methods(conn, tenant)?
        .into_iter()
        .find(|m| m.is_default))
}

/// Adds a card: checked with Luhn, expiry in the future, the security code checked for shape and
/// then dropped. Only the brand, the last four digits and the gateway's token are kept. The
/// first card becomes the default, and so does a card added with `make_default`.
pub fn add_card(
    conn: &mut DbConnection,
    actor: &Actor,
    gateway: &dyn PaymentGateway,
    now: DateTime<Utc>,
    tenant: TenantId,
    card: &NewCard,
    make_default: bool,
) -> Result<PaymentMethodId, DomainError> {
    authz::may(actor, Action::ManageBilling, &authz::Target::Tenant(tenant))?;
    let holder = super::text::line(
        "holder",
        &card.holder,
        1..=120,
        "Enter the name on the card.",
    )?;
    let holder = holder.as_str();
    let number: String = card
        .number
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .collect();
    if !(12..=19).contains(&number.len()) || !luhn_valid(&number) {
        return Err(DomainError::invalid("number", "Enter a valid card number."));
    }
    let code = card.security_code.trim();
    if !(3..=4).contains(&code.len()) || !code.chars().all(|c| c.is_ascii_digit()) {
        return Err(DomainError::invalid(
            "security_code",
            "Enter the 3 or 4 digit security code.",
        ));
    }
    let (exp_month, exp_year) = parse_expiry(&card.exp_month, &card.exp_year, now)?;
    let token = gateway.tokenize(&number);
    super::db::transaction(conn, |conn| {
        let first = load_methods(conn, tenant)?.is_empty();
        let is_default = first || make_default;
        if is_default {
            diesel::update(payment_methods::table.filter(payment_methods::tenant_id.eq(tenant.0)))
                .set(payment_methods::is_default.eq(false))
                .execute(conn)?;
        }
        let id: PaymentMethodId = diesel::insert_into(payment_methods::table)
            .values((
                payment_methods::tenant_id.eq(tenant.0),
                payment_methods::holder.eq(holder),
                payment_methods::brand.eq(brand_of(&number)),
                payment_methods::last4.eq(&number[number.len() - 4..]),
                payment_methods::exp_month.eq(exp_month),
                payment_methods::exp_year.eq(exp_year),
                payment_methods::gateway_token.eq(&token),
                payment_methods::is_default.eq(is_default),
                payment_methods::created_at.eq(naive(now)),
            ))
            .returning(payment_methods::id)
            .get_result(conn)?;
        if is_default {
            follow_default(conn, tenant, id)?;
        }
        audit::record(
            conn,
            actor,
            now,
            Some(tenant),
            "Added payment method",
            &format!("{} •••• {}", brand_of(&number), &number[number.len() - 4..]),
            if is_default { "default" } else { "" },
        )?;
        Ok(id)
    })
}

/// Card-paid subscriptions are paid by the default card.
fn follow_default(
    conn: &mut DbConnection,
    tenant: TenantId,
    card: PaymentMethodId,
) -> Result<(), DomainError> {
    diesel::update(
        subscriptions::table
            .filter(subscriptions::tenant_id.eq(tenant.0))
            .filter(subscriptions::payment_method_id.is_not_null()),
    )
    .set(subscriptions::payment_method_id.eq(card))
    .execute(conn)?;
    Ok(())
}

fn method_of(
    conn: &mut DbConnection,
    tenant: TenantId,
    id: PaymentMethodId,
) -> Result<PaymentMethod, DomainError> {
    Ok(payment_methods::table
        .filter(payment_methods::id.eq(id))
        .filter(payment_methods::tenant_id.eq(tenant.0))
        .filter(payment_methods::removed_at.is_null())
        .select(PaymentMethod::as_select())
        .first(conn)?)
}

/// Updates a card's expiry date (the seeds' "updating the card's expiration date").
pub fn update_expiry(
    conn: &mut DbConnection,
    actor: &Actor,
    now: DateTime<Utc>,
    tenant: TenantId,
    method: PaymentMethodId,
    month: &str,
    year: &str,
) -> Result<(), DomainError> {
    authz::may(actor, Action::ManageBilling, &authz::Target::Tenant(tenant))?;
    let (exp_month, exp_year) = parse_expiry(month, year, now)?;
    super::db::transaction(conn, |conn| {
        let card = method_of(conn, tenant, method)?;
        diesel::update(payment_methods::table.find(card.id))
            .set((
                payment_methods::exp_month.eq(exp_month),
                payment_methods::exp_year.eq(exp_year),
            ))
            .execute(conn)?;
        audit::record(
            conn,
            actor,
            now,
            Some(tenant),
            "Updated payment method",
            &card.label(),
            &format!("expires {exp_month:02}/{exp_year}"),
        )
    })
}

/// Makes a card the default, used for purchases and renewals.
pub fn set_default(
    conn: &mut DbConnection,
    actor: &Actor,
    now: DateTime<Utc>,
    tenant: TenantId,
    method: PaymentMethodId,
) -> Result<(), DomainError> {
    authz::may(actor, Action::ManageBilling, &authz::Target::Tenant(tenant))?;
    super::db::transaction(conn, |conn| {
        let card = method_of(conn, tenant, method)?;
        diesel::update(payment_methods::table.filter(payment_methods::tenant_id.eq(tenant.0)))
            .set(payment_methods::is_default.eq(false))
            .execute(conn)?;
        diesel::update(payment_methods::table.find(card.id))
            .set(payment_methods::is_default.eq(true))
            .execute(conn)?;
        follow_default(conn, tenant, card.id)?;
        audit::record(
            conn,
            actor,
            now,
            Some(tenant),
            "Set default payment method",
            &card.label(),
            "",
        )
    })
}

/// Removes a card no subscription depends on.
pub fn remove_card(
    conn: &mut DbConnection,
    actor: &Actor,
    now: DateTime<Utc>,
    tenant: TenantId,
    method: PaymentMethodId,
) -> Result<(), DomainError> {
    authz::may(actor, Action::ManageBilling, &authz::Target::Tenant(tenant))?;
    super::db::transaction(conn, |conn| {
        let card = method_of(conn, tenant, method)?;
        let depending: i64 = subscriptions::table
            .filter(subscriptions::payment_method_id.eq(card.id))
            .filter(subscriptions::state.eq_any([
                SubscriptionState::Active,
                SubscriptionState::PastDue,
                SubscriptionState::Disabled,
                SubscriptionState::Pending,
            ]))
            .count()
            .get_result(conn)?;
        if depending > 0 {
            return Err(DomainError::Conflict(format!(
                "{} pays for {depending} subscriptions. Make another card the default first.",
                card.label()
            )));
        }
        diesel::update(payment_methods::table.find(card.id))
            .set((
                payment_methods::removed_at.eq(Some(naive(now))),
                payment_methods::is_default.eq(false),
            ))
            .execute(conn)?;
        audit::record(
            conn,
            actor,
            now,
            Some(tenant),
            "Removed payment method",
            &card.label(),
            "",
        )
    })
}

// ---------------------------------------------------------------- bills

text_enum! {
    /// What a bill is for.
    pub enum BillKind {
        Purchase = "purchase",
        Renewal = "renewal",
        /// More licenses on a running subscription.
        Change = "change",
        Refund = "refund",
        /// A volume licensing invoice.
        Invoice = "invoice",
    }
}

text_enum! {
    /// Whether a bill was paid: by card (paid or failed), on invoice (due), or a credit.
    pub enum BillState {
        Paid = "paid",
        Failed = "failed",
        Due = "due",
        Credited = "credited",
    }
}

impl BillState {
    pub fn title(self) -> &'static str {
        match self {
            BillState::Paid => "Paid",
            BillState::Failed => "Payment failed",
            BillState::Due => "Due (invoice)",
            BillState::Credited => "Refunded",
        }
    }
}

/// A bill as its page shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bill {
    pub id: BillId,
    pub number: String,
    pub issued_at: DateTime<Utc>,
    pub kind: BillKind,
    pub state: BillState,
    pub total_cents: i64,
    pub payment_method: String,
    pub lines: Vec<BillLine>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BillLine {
    pub description: String,
    pub quantity: i32,
    pub amount_cents: i64,
}

impl Bill {
    pub fn total(&self) -> String {
        format_money(self.total_cents)
    }

    pub fn state_title(&self) -> &'static str {
        self.state.title()
    }
}

impl BillLine {
    pub fn amount(&self) -> String {
        format_money(self.amount_cents)
    }
}

/// A line to bill.
pub(crate) struct Charge {
    pub subscription: Option<i64>,
    pub description: String,
    pub quantity: i32,
    pub amount_cents: i64,
}

/// Writes a bill with its lines; the total is the sum of the lines.
pub(crate) fn issue_bill(
    conn: &mut DbConnection,
    now: DateTime<Utc>,
    tenant: TenantId,
    kind: BillKind,
    state: BillState,
    payment_method: &str,
    lines: &[Charge],
) -> Result<(i64, String), DomainError> {
    let total: i64 = lines.iter().map(|l| l.amount_cents).sum();
    // The number comes from the id, known after the insert; a random placeholder keeps the
    // unique key happy until then.
    let placeholder = format!("pending-{}", rand::random::<u64>());
    let id = diesel::insert_into(bills::table)
        .values((
            bills::tenant_id.eq(tenant.0),
            bills::number.eq(&placeholder),
            bills::issued_at.eq(naive(now)),
            bills::kind.eq(kind),
            bills::state.eq(state),
            bills::total_cents.eq(total),
            bills::payment_method.eq(payment_method),
        ))
        .returning(bills::id)
        .get_result(conn)?;
    let number = format!("B{}-{id:06}", now.format("%Y%m"));
    diesel::update(bills::table.find(id))
        .set(bills::number.eq(&number))
        .execute(conn)?;
    for line in lines {
        diesel::insert_into(bill_lines::table)
            .values((
                bill_lines::bill_id.eq(id),
                bill_lines::subscription_id.eq(line.subscription),
                bill_lines::description.eq(&line.description),
                bill_lines::quantity.eq(line.quantity),
                bill_lines::amount_cents.eq(line.amount_cents),
            ))
            .execute(conn)?;
    }
    Ok((id, number))
}

/// A bill's own columns, as stored.
#[derive(Queryable, Selectable)]
#[diesel(table_name = bills)]
struct BillRecord {
    id: i64,
    number: String,
    issued_at: chrono::NaiveDateTime,
    kind: BillKind,
    state: BillState,
    total_cents: i64,
    payment_method: String,
}

impl BillRecord {
    fn with_lines(self, lines: Vec<BillLine>) -> Bill {
        Bill {
            id: BillId(self.id),
            number: self.number,
            issued_at: utc(self.issued_at),
            kind: self.kind,
            state: self.state,
            total_cents: self.total_cents,
            payment_method: self.payment_method,
            lines,
        }
    }
}

/// The tenant's bills, newest first (Bills & payments).
pub fn bills(
    conn: &mut DbConnection,
    actor: &Actor,
    tenant: TenantId,
) -> Result<Vec<Bill>, DomainError> {
    authz::may(actor, Action::ViewBilling, &authz::Target::Tenant(tenant))?;
    let rows: Vec<BillRecord> = bills::table
        .filter(bills::tenant_id.eq(tenant.0))
        .order((bills::issued_at.desc(), bills::id.desc()))
        .limit(500)
        .select(BillRecord::as_select())
        .load(conn)?;
    Ok(rows.into_iter().map(|r| r.with_lines(vec![])).collect())
}

/// One bill with its lines; a bill of another tenant is not found.
pub fn bill(
    conn: &mut DbConnection,
    actor: &Actor,
    tenant: TenantId,
    id: BillId,
) -> Result<Bill, DomainError> {
    authz::may(actor, Action::ViewBilling, &authz::Target::Tenant(tenant))?;
    let record: BillRecord = bills::table
        .filter(bills::id.eq(id.0))
        .filter(bills::tenant_id.eq(tenant.0))
        .select(BillRecord::as_select())
        .first(conn)?;
    let lines = bill_lines::table
        .filter(bill_lines::bill_id.eq(record.id))
        .order(bill_lines::id)
        .select((
            bill_lines::description,
            bill_lines::quantity,
            bill_lines::amount_cents,
        ))
        .load::<(String, i32, i64)>(conn)?
        .into_iter()
        .map(|(description, quantity, amount_cents)| BillLine {
            description,
            quantity,
            amount_cents,
        })
        .collect();
    Ok(record.with_lines(lines))
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

// ---------------------------------------------------------------- charges

/// How long a charge may stay pending before `tick` takes it for one a crash or a lost answer
/// left behind; a younger one belongs to a request still under way.
pub const SETTLE_PENDING_AFTER: chrono::Duration = chrono::Duration::minutes(2);

text_enum! {
    /// What a card charge pays for.
    pub(crate) enum Purpose {
        AddLicenses = "add_licenses",
        Subscribe = "subscribe",
        Renewal = "renewal",
    }
}

text_enum! {
    /// A card charge is pending until the gateway's answer is recorded.
    pub(crate) enum ChargeState {
        Pending = "pending",
        Settled = "settled",
        Declined = "declined",
    }
}

/// A card charge as recorded: pending until the gateway's answer is recorded.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = charges)]
pub(crate) struct ChargeRow {
    pub id: i64,
    pub tenant_id: i64,
    pub purpose: Purpose,
    pub subscription_id: Option<i64>,
    pub product_id: i64,
    pub payment_method_id: PaymentMethodId,
    pub idempotency_key: String,
    pub amount_cents: i64,
    pub licenses: i32,
    pub term_start: chrono::NaiveDateTime,
    pub term_end: chrono::NaiveDateTime,
    pub state: ChargeState,
    pub gateway_reference: Option<String>,
    pub bill_id: Option<i64>,
}

impl ChargeRow {
    pub(crate) fn tenant(&self) -> TenantId {
        TenantId(self.tenant_id)
    }

    /// Why the gateway declined it, when it did.
    pub(crate) fn decline(&self) -> Option<Decline> {
        (self.state == ChargeState::Declined)
            .then(|| Decline::from_code(self.gateway_reference.as_deref().unwrap_or_default()))
    }
}

/// A charge about to be made.
pub(crate) struct NewCharge {
    pub purpose: Purpose,
    pub tenant: TenantId,
    pub subscription: Option<i64>,
    pub product: i64,
    pub payment_method: PaymentMethodId,
    pub amount_cents: i64,
    pub licenses: i32,
    pub term_start: chrono::NaiveDateTime,
    pub term_end: chrono::NaiveDateTime,
}

/// Step 1 of a card charge, inside the caller's transaction: records it as pending, with the
/// idempotency key the gateway will get. The key names what is paid (the purpose, the tenant,
/// the subscription or product) and ends in a random part, so a database restored from a
/// backup, whose ids start again, never sends a key the gateway has seen.
pub(crate) fn record_pending(
    conn: &mut DbConnection,
    now: DateTime<Utc>,
    new: &NewCharge,
) -> Result<ChargeRow, DomainError> {
    let paid = match new.subscription {
        Some(sub) => format!("s{sub}"),
        None => format!("p{}", new.product),
    };
    let key = format!(
        "allot-{}-t{}-{paid}-{:016x}",
        new.purpose.as_str(),
        new.tenant,
        rand::random::<u64>()
    );
    let id: i64 = diesel::insert_into(charges::table)
        .values((
            charges::tenant_id.eq(new.tenant.0),
            charges::purpose.eq(new.purpose),
            charges::subscription_id.eq(new.subscription),
            charges::product_id.eq(new.product),
            charges::payment_method_id.eq(new.payment_method),
            charges::idempotency_key.eq(&key),
            charges::amount_cents.eq(new.amount_cents),
            charges::licenses.eq(new.licenses),
            charges::term_start.eq(new.term_start),
            charges::term_end.eq(new.term_end),
            charges::state.eq(ChargeState::Pending),
            charges::created_at.eq(naive(now)),
        ))
        .returning(charges::id)
        .get_result(conn)?;
    charge_row(conn, id)
}

pub(crate) fn charge_row(conn: &mut DbConnection, id: i64) -> Result<ChargeRow, DomainError> {
    Ok(charges::table
        .find(id)
        .select(ChargeRow::as_select())
        .first(conn)?)
}

/// Step 2: asks the gateway to make the charge, with its key. Never inside a transaction: the
/// transaction could be run again (busy) or rolled back after the card was charged.
pub(crate) fn ask_gateway(
    conn: &mut DbConnection,
    gateway: &dyn PaymentGateway,
    now: DateTime<Utc>,
    charge: &ChargeRow,
) -> Result<Result<Approval, ChargeFailure>, DomainError> {
    if super::db::in_transaction(conn) != Some(false) {
        return Err(DomainError::storage(
            "a card is never charged inside a database transaction",
        ));
    }
    // The card as it was chosen, even if it has been removed since: it is what was charged.
    let card: PaymentMethod = payment_methods::table
        .find(charge.payment_method_id)
        .select(PaymentMethod::as_select())
        .first(conn)?;
    Ok(gateway.charge(
        &charge.idempotency_key,
        &card.card(),
        charge.amount_cents,
        now,
    ))
}

/// Step 3, inside the caller's transaction (which holds the tenant's license lock and has
/// found the charge still pending): records the gateway's answer and the bill written for it.
/// Lost to a concurrent settler after all, it answers Busy, so the transaction is rolled back
/// and run again, and then finds the charge settled.
pub(crate) fn record_answer(
    conn: &mut DbConnection,
    now: DateTime<Utc>,
    charge: &ChargeRow,
    answer: &Result<Approval, Decline>,
    bill: Option<i64>,
    subscription: Option<i64>,
) -> Result<(), DomainError> {
    let (state, answered) = match answer {
        Ok(approval) => (ChargeState::Settled, approval.reference.as_str()),
        Err(decline) => (ChargeState::Declined, decline.code()),
    };
    let changed = diesel::update(
        charges::table
            .find(charge.id)
            .filter(charges::state.eq(ChargeState::Pending)),
    )
    .set((
        charges::state.eq(state),
        charges::gateway_reference.eq(Some(answered)),
        charges::bill_id.eq(bill),
        charges::subscription_id.eq(subscription.or(charge.subscription_id)),
        charges::settled_at.eq(Some(naive(now))),
    ))
    .execute(conn)?;
    if changed == 0 {
        return Err(DomainError::Busy);
    }
    Ok(())
}

/// Charges pending since before `before`, oldest first.
pub(crate) fn pending_before(
    conn: &mut DbConnection,
    before: DateTime<Utc>,
) -> Result<Vec<i64>, DomainError> {
    Ok(charges::table
        .filter(charges::state.eq(ChargeState::Pending))
        .filter(charges::created_at.le(naive(before)))
        .order(charges::id)
        .select(charges::id)
        .load(conn)?)
}

/// Whether a renewal of the subscription is pending: it is not begun again meanwhile.
pub(crate) fn renewal_pending(
    conn: &mut DbConnection,
    subscription: i64,
) -> Result<bool, DomainError> {
    let pending: i64 = charges::table
        .filter(charges::subscription_id.eq(subscription))
        .filter(charges::purpose.eq(Purpose::Renewal))
        .filter(charges::state.eq(ChargeState::Pending))
        .count()
        .get_result(conn)?;
    Ok(pending > 0)
}

/// A bill's number.
pub(crate) fn bill_number(conn: &mut DbConnection, bill: i64) -> Result<String, DomainError> {
    Ok(bills::table.find(bill).select(bills::number).first(conn)?)
}

/// A card's label ("Visa •••• 4242"), removed or not.
pub(crate) fn method_label(
    conn: &mut DbConnection,
    method: PaymentMethodId,
) -> Result<String, DomainError> {
    let card: PaymentMethod = payment_methods::table
        .find(method)
        .select(PaymentMethod::as_select())
        .first(conn)?;
    Ok(card.label())
}
