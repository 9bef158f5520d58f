//! Volume licensing (seed 002): agreements entered by the partner, their orders (purchase
//! orders provisioned within hours, license reservations at once and paid at the true-up), the
//! OSM's activation that attaches an agreement's licenses to a tenant, where they pool with the
//! direct subscriptions, the yearly true-up, and the resend and remap that billing support
//! carries out from service requests.

mod activation;
mod orders;
mod remap;
mod true_up;
mod views;

pub use activation::*;
pub use orders::*;
pub use remap::*;
pub use true_up::*;
pub use views::*;

use chrono::{DateTime, Datelike, Duration, Months, NaiveDate, NaiveDateTime, Utc};
use diesel::prelude::*;
use rand::RngCore;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

use super::accounts::EmailAddress;
use super::authz::Target;
use super::schema::{
    agreement_activations, agreement_invoices, agreement_order_lines, agreement_orders,
    agreement_subscriptions, agreements, products, subscription_addons, subscriptions, tenants,
    user_roles, users,
};
use super::subscriptions::{BillingPeriod, ProductFamily, PurchaseChannel, SubscriptionState};
use super::text_enum::text_enum;
use super::{
    Action, Actor, AgreementId, DbConnection, DomainError, ProductId, SubscriptionId, TenantId,
    audit, authz, billing, licenses, naive, outbox, text, utc,
};

text_enum! {
    /// The volume licensing programs the seed names.
    pub enum Program {
        Enterprise = "enterprise",
        EnterpriseSubscription = "enterprise_subscription",
        CampusSchool = "campus_school",
    }
}

impl Program {
    pub fn title(self) -> &'static str {
        match self {
            Program::Enterprise => "Enterprise Agreement",
            Program::EnterpriseSubscription => "Enterprise Subscription Agreement",
            Program::CampusSchool => "Campus and School Agreement",
        }
    }

    /// As the form sends it.
    pub fn parse(text: &str) -> Result<Program, DomainError> {
        text.parse()
            .map_err(|_| DomainError::invalid("program", "Choose the volume licensing program."))
    }
}

text_enum! {
    /// What an order line buys: licenses of a product, or one of its add-ons.
    pub enum Item {
        Licenses = "licenses",
        ProductionInstances = "production_instances",
        StorageGb = "storage_gb",
    }
}

impl Item {
    /// "licenses", "additional production instances", "GB of additional storage".
    pub fn noun(self) -> &'static str {
        match self {
            Item::Licenses => "licenses",
            Item::ProductionInstances => "additional production instances",
            Item::StorageGb => "GB of additional storage",
        }
    }

    /// As the form sends it.
    fn parse(text: &str) -> Result<Item, DomainError> {
        text.parse()
            .map_err(|_| DomainError::invalid("item", "Unknown order item."))
    }

    /// The monthly list price of one unit of an add-on; licenses use the product's price.
    fn addon_monthly_cents(self) -> i64 {
        match self {
            Item::Licenses => 0,
            Item::ProductionInstances => 50_000,
            Item::StorageGb => 1_000,
        }
    }
}

/// Volume discounts on licenses, by the agreement's licenses after the order: (at least, percent).
/// The seed: "discounts are available for enterprise agreement customers (typically 250+
/// licenses)". The README shows this table.
pub const DISCOUNT_TIERS: [(i64, i32); 4] = [(15_000, 20), (6_000, 15), (2_400, 10), (250, 5)];

/// The discount for an agreement holding `licenses` licenses.
pub fn discount_for(licenses: i64) -> i32 {
    DISCOUNT_TIERS
        .iter()
        .find(|(min, _)| licenses >= *min)
        .map_or(0, |(_, pct)| *pct)
}

/// How long an activation link works.
pub const ACTIVATION_VALID: Duration = Duration::days(14);
/// The seed: "Licenses are accessible in up to 12 hours after the order is processed".
pub const PURCHASE_ORDER_HOURS: i64 = 12;

// ------------------------------------------------------------------ agreements

/// A new agreement, as the partner enters it.
#[derive(Debug, Clone, Default)]
pub struct NewAgreement {
    pub number: String,
    pub program: String,
    pub customer: String,
    pub osm_email: String,
    pub partner: String,
    /// The first day of the schedule; taken from the customer's other agreements when it has
    /// any (they share one billing and contract schedule).
    pub starts_on: Option<NaiveDate>,
}

fn clean_number(number: &str) -> Result<String, DomainError> {
    let message = "Enter the agreement number: 3 to 40 letters, digits and dashes.";
    let number = text::line("number", number, 3..=40, message)?.to_uppercase();
    if number
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '-')
    {
        Ok(number)
    } else {
        Err(DomainError::invalid("number", message))
    }
}

/// The years an agreement may start in: a date outside them is a typing mistake.
pub const START_YEARS: std::ops::RangeInclusive<i32> = 2000..=2100;

/// The first anniversary of `starts_on` after `now`.
fn next_anniversary(starts_on: NaiveDateTime, now: DateTime<Utc>) -> NaiveDateTime {
    let mut at = starts_on;
    while at <= naive(now) {
        at = at.checked_add_months(Months::new(12)).unwrap_or(at);
        if at.year() > 9000 {
            break;
        }
    }
    at
}

/// Enters an agreement (partner). A customer's agreements share one anniversary: a new one
/// takes the schedule of the customer's existing ones.
pub fn create(
    conn: &mut DbConnection,
    actor: &Actor,
    now: DateTime<Utc>,
    new: &NewAgreement,
) -> Result<AgreementId, DomainError> {
    authz::may(actor, Action::ManageAgreements, &authz::Target::Provider)?;
    let number = clean_number(&new.number)?;
    let program = Program::parse(new.program.trim())?;
    let customer = text::line(
        "customer",
        &new.customer,
        1..=120,
        "Enter the customer's name (up to 120 characters).",
    )?;
    let customer = customer.as_str();
    let partner = text::line(
        "partner",
        &new.partner,
        1..=120,
        "Enter the Licensing Solutions Partner's name.",
    )?;
    let partner = partner.as_str();
    if let Some(day) = new.starts_on
        && !START_YEARS.contains(&day.year())
    {
        return Err(DomainError::invalid(
            "starts_on",
            format!(
                "Enter a start date from {} to {}.",
                START_YEARS.start(),
                START_YEARS.end()
            ),
        ));
    }
    let osm = EmailAddress::parse(&new.osm_email)
        .map_err(|_| DomainError::invalid("osm_email", "Enter the OSM's email address."))?;
    let key = customer.to_lowercase();
    super::db::transaction(conn, |conn| {
        let taken: i64 = agreements::table
            .filter(agreements::number.eq(&number))
            .count()
            .get_result(conn)?;
        if taken > 0 {
            return Err(DomainError::invalid(
                "number",
                format!("Agreement {number} already exists."),
            ));
        }
        let schedule: Option<(NaiveDateTime, NaiveDateTime)> = agreements::table
            .filter(agreements::customer_key.eq(&key))
            .order(agreements::id)
            .select((agreements::starts_on, agreements::next_true_up))
            .first(conn)
            .optional()?;
        let (starts_on, next_true_up) = match schedule {
            Some(existing) => existing,
            None => {
                let day = new.starts_on.ok_or_else(|| {
                    DomainError::invalid("starts_on", "Enter the agreement's start date.")
                })?;
                let start = day.and_hms_opt(0, 0, 0).unwrap_or_default();
                (start, next_anniversary(start, now))
            }
        };
        let id: i64 = diesel::insert_into(agreements::table)
            .values((
                agreements::number.eq(&number),
                agreements::program.eq(program),
                agreements::customer.eq(customer),
                agreements::customer_key.eq(&key),
                agreements::osm_email.eq(osm.as_str()),
                agreements::partner.eq(partner),
                agreements::starts_on.eq(starts_on),
                agreements::next_true_up.eq(next_true_up),
                agreements::created_at.eq(naive(now)),
            ))
            .returning(agreements::id)
            .get_result(conn)?;
        audit::record(
            conn,
            actor,
            now,
            None,
            "Entered agreement",
            &number,
            &format!("{}, {customer}, OSM {}", program.title(), osm.as_str()),
        )?;
        Ok(AgreementId(id))
    })
}

/// The partner changes the Online Services Manager; the next activation email goes to them.
pub fn change_osm(
    conn: &mut DbConnection,
    actor: &Actor,
    now: DateTime<Utc>,
    id: AgreementId,
    email: &str,
) -> Result<(), DomainError> {
    authz::may(actor, Action::ManageAgreements, &authz::Target::Provider)?;
    let osm = EmailAddress::parse(email)
        .map_err(|_| DomainError::invalid("osm_email", "Enter the OSM's email address."))?;
    super::db::transaction(conn, |conn| {
        let head = head(conn, id)?;
        if head.osm_email == osm.as_str() {
            return Err(DomainError::invalid(
                "osm_email",
                "That is already the agreement's OSM.",
            ));
        }
        diesel::update(agreements::table.find(id.0))
            .set(agreements::osm_email.eq(osm.as_str()))
            .execute(conn)?;
        audit::record(
            conn,
            actor,
            now,
            head.tenant,
            "Changed the OSM",
            &head.number,
            &format!("{} → {}", head.osm_email, osm.as_str()),
        )?;
        for to in [head.osm_email.as_str(), osm.as_str()] {
            outbox::enqueue(
                conn,
                now,
                &outbox::Email {
                    tenant: head.tenant,
                    to,
                    subject: &format!("The OSM of agreement {} changed", head.number),
                    body: &format!(
                        "The Online Services Manager of {} {} is now {}.",
                        head.program.title(),
                        head.number,
                        osm.as_str()
                    ),
                    link: None,
                },
            )?;
        }
        Ok(())
    })
}

/// An agreement's head row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head {
    pub id: AgreementId,
    pub number: String,
    pub program: Program,
    pub customer: String,
    pub osm_email: String,
    pub partner: String,
    pub next_true_up: DateTime<Utc>,
    pub tenant: Option<TenantId>,
}

impl Head {
    /// The agreement as `authz::may` sees it.
    pub(crate) fn target(&self) -> Target {
        Target::Agreement {
            tenant: self.tenant,
        }
    }
}

/// An agreement's row as stored; `Head` is what the rest of the code reads.
#[derive(Queryable, Selectable)]
#[diesel(table_name = agreements)]
struct HeadRow {
    id: i64,
    number: String,
    program: Program,
    customer: String,
    osm_email: String,
    partner: String,
    next_true_up: NaiveDateTime,
    tenant_id: Option<i64>,
}

fn to_head(row: HeadRow) -> Result<Head, DomainError> {
    Ok(Head {
        id: AgreementId(row.id),
        program: row.program,
        number: row.number,
        customer: row.customer,
        osm_email: row.osm_email,
        partner: row.partner,
        next_true_up: utc(row.next_true_up),
        tenant: row.tenant_id.map(TenantId),
    })
}

pub(crate) fn head(conn: &mut DbConnection, id: AgreementId) -> Result<Head, DomainError> {
    to_head(
        agreements::table
            .find(id.0)
            .select(HeadRow::as_select())
            .first(conn)?,
    )
}

/// What a tenant hears for an agreement number it may not name, known or not: the same
/// words and status either way, so another tenant's agreement can't be found out by its number.
pub(crate) fn unknown_number() -> DomainError {
    DomainError::invalid(
        "agreement_number",
        "There is no agreement with this number. Check the number on your agreement.",
    )
}

/// The agreement with this number, for a service request that names it.
pub(crate) fn by_number(conn: &mut DbConnection, number: &str) -> Result<Head, DomainError> {
    let number = clean_number(number).map_err(|_| unknown_number())?;
    let row: Option<HeadRow> = agreements::table
        .filter(agreements::number.eq(number))
        .select(HeadRow::as_select())
        .first(conn)
        .optional()?;
    row.map(to_head).transpose()?.ok_or_else(unknown_number)
}

/// The agreement as a tenant names it in a service request, with the facts `may` needs: the
/// tenant it is attached to, and for one not attached yet the OSM's tenant: the one with an
/// admin of that sign-in name (names are unique, so at most one), or else the one whose domain
/// the address is at (a new OSM the partner entered may have no account yet; the seed's
/// "make a new request ... to resend the activation email to the new OSM").
pub(crate) fn named_target(conn: &mut DbConnection, head: &Head) -> Result<Target, DomainError> {
    let osm_admin_of = match head.tenant {
        Some(_) => None,
        None => {
            let email = head.osm_email.to_lowercase();
            let admin_of: Option<i64> = users::table
                .inner_join(user_roles::table)
                .filter(users::email.eq(&email))
                .filter(users::state.ne("deleted"))
                .select(users::tenant_id)
                .first(conn)
                .optional()?;
            let domain = email.rsplit_once('@').map_or("", |(_, d)| d);
            match admin_of {
                Some(t) => Some(t),
                None => tenants::table
                    .filter(tenants::domain.eq(domain))
                    .select(tenants::id)
                    .first(conn)
                    .optional()?,
            }
            .map(TenantId)
        }
    };
    Ok(Target::NamedAgreement {
        attached: head.tenant,
        osm_admin_of,
    })
}
