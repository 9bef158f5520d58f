//! Payment methods: cards on file (brand, last four, expiry), the default, updates and removal.

use super::*;

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

pub(crate) fn parse_expiry(
    month: &str,
    year: &str,
    now: DateTime<Utc>,
) -> Result<(i32, i32), DomainError> {
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

/// What Payment methods sorts its cards by (its sort links).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum CardSort {
    /// The default card first, then in the order they were added (as the page always was).
    #[default]
    Added,
    /// Brand, then the last four digits.
    Card,
    /// Expiry year and month.
    Expires,
    /// The name on the card, any case.
    Holder,
}

/// The tenant's cards in the order asked. A tenant has a handful, all on one page, so they
/// are sorted here in Rust; equal ones keep the default-first order.
pub fn payment_methods_sorted(
    conn: &mut DbConnection,
    actor: &Actor,
    tenant: TenantId,
    sort: CardSort,
    descending: bool,
) -> Result<Vec<PaymentMethod>, DomainError> {
    let mut methods = payment_methods(conn, actor, tenant)?;
    if sort == CardSort::Added {
        if descending {
            methods.reverse();
        }
        return Ok(methods);
    }
    methods.sort_by(|a, b| {
        let ordering = match sort {
            CardSort::Card => {
                (a.brand.to_lowercase(), &a.last4).cmp(&(b.brand.to_lowercase(), &b.last4))
            }
            CardSort::Expires => (a.exp_year, a.exp_month).cmp(&(b.exp_year, b.exp_month)),
            CardSort::Holder => a.holder.to_lowercase().cmp(&b.holder.to_lowercase()),
            CardSort::Added => std::cmp::Ordering::Equal,
        };
        if descending {
            ordering.reverse()
        } else {
            ordering
        }
    });
    Ok(methods)
}

pub(crate) fn load_methods(
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

/// The card a renewal of a subscription charges: its own (`own`) while it is on file, or else
/// the tenant's default. `cards` are the tenant's cards on file (`load_methods`).
pub(crate) fn renewal_card(
    cards: &[PaymentMethod],
    own: Option<PaymentMethodId>,
) -> Option<&PaymentMethod> {
    own.and_then(|own| cards.iter().find(|c| c.id == own))
        .or_else(|| cards.iter().find(|c| c.is_default))
}

/// One change on the Payment methods page.
pub enum CardChange {
    Add {
        card: NewCard,
        make_default: bool,
    },
    Expiry {
        method: PaymentMethodId,
        month: String,
        year: String,
    },
    Default(PaymentMethodId),
    Remove(PaymentMethodId),
}

/// Makes `change`, then at once retries the renewals a failed payment left past due or
/// disabled: the seeds' way out of a conflict from an outdated card is to update the payment
/// method, and service comes back without waiting for the next tick. Returns how many
/// subscriptions are active again.
pub fn change_card(
    conn: &mut DbConnection,
    actor: &Actor,
    gateway: &dyn PaymentGateway,
    now: DateTime<Utc>,
    tenant: TenantId,
    change: CardChange,
) -> Result<usize, DomainError> {
    match change {
        CardChange::Add { card, make_default } => {
            add_card(conn, actor, gateway, now, tenant, &card, make_default).map(|_| ())
        }
        CardChange::Expiry {
            method,
            month,
            year,
        } => update_expiry(conn, actor, now, tenant, method, &month, &year),
        CardChange::Default(method) => set_default(conn, actor, now, tenant, method),
        CardChange::Remove(method) => remove_card(conn, actor, now, tenant, method),
    }?;
    crate::domain::subscriptions::retry_after_card_update(conn, gateway, actor, now, tenant)
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
    let holder = crate::domain::text::line(
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
    crate::domain::db::transaction(conn, |conn| {
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
pub(crate) fn follow_default(
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

pub(crate) fn method_of(
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
    crate::domain::db::transaction(conn, |conn| {
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
    crate::domain::db::transaction(conn, |conn| {
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
    crate::domain::db::transaction(conn, |conn| {
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
