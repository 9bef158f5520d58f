//! The demo data of the README and the tests: the same every time, loaded once. One file
//! over 500 lines on purpose: it reads top to bottom as the story the README tells (tenants,
//! people, subscriptions, licenses, a request, agreements), and splitting it would scatter that.

use chrono::{DateTime, Datelike, Duration, Months, Utc};
use diesel::prelude::*;

use super::accounts::{self, EmailAddress};
use super::schema::{
    apps_turned_off, license_assignments, payment_methods, product_services, products,
    subscriptions, tenants,
};
use super::subscriptions::{BillingPeriod, ProductFamily, PurchaseChannel, SubscriptionState};
use super::{
    Actor, DbConnection, DomainError, Role, StaffRole, TenantId, UserId, audit, db, naive,
    passwords, tenants as tenant_store,
};

/// Every demo account signs in with this password.
pub const DEMO_PASSWORD: &str = "allot-demo";

const CONTOSO_PEOPLE: [&str; 40] = [
    "Alex Wilber",
    "Allan Deyoung",
    "Bianca Pisani",
    "Brian Johnson",
    "Cameron White",
    "Christie Cline",
    "Debra Berger",
    "Diego Siciliani",
    "Emily Braun",
    "Enrico Cattaneo",
    "Gerhart Moller",
    "Grady Archie",
    "Henrietta Mueller",
    "Irvin Sayers",
    "Isaiah Langer",
    "Johanna Lorenz",
    "Joni Sherman",
    "Jordan Miller",
    "Lidia Holloway",
    "Lynne Robbins",
    "Mariya Ivanova",
    "Miriam Graham",
    "Nestor Wilke",
    "Patti Fernandez",
    "Pradeep Gupta",
    "Raul Razo",
    "Rohan Mehta",
    "Sally Tran",
    "Serena Davis",
    "Tomasz Nowak",
    "Vanessa Ortiz",
    "Wendy Cheng",
    "Xavier Dubois",
    "Yara Haddad",
    "Zoe Keller",
    "Aaron Park",
    "Beatriz Costa",
    "Chidi Okafor",
    "Dana Levi",
    "Elif Demir",
];

const FABRIKAM_PEOPLE: [&str; 5] = [
    "Ana Souza",
    "Ben Adler",
    "Carla Ruiz",
    "Dev Sharma",
    "Eva Lindqvist",
];

struct DemoProduct {
    code: &'static str,
    name: &'static str,
    family: ProductFamily,
    monthly_price_cents: i64,
    services: &'static [(&'static str, bool)],
}

const PRODUCTS: [DemoProduct; 3] = [
    DemoProduct {
        code: "BUSINESS_PREMIUM",
        name: "Business Premium",
        family: ProductFamily::OnlineServices,
        monthly_price_cents: 2200,
        services: &[
            ("Exchange Online mailbox", true),
            ("OneDrive files", false),
            ("Office apps", false),
        ],
    },
    DemoProduct {
        code: "SALES_PROFESSIONAL",
        name: "Sales Professional",
        family: ProductFamily::BusinessApplications,
        monthly_price_cents: 6500,
        services: &[("Sales data", true)],
    },
    DemoProduct {
        code: "PROJECT_PLAN_3",
        name: "Project Plan 3",
        family: ProductFamily::OnlineServices,
        monthly_price_cents: 3000,
        services: &[("Project Online", true)],
    },
];

/// Loads the demo when it is not there yet. Returns whether it loaded anything.
pub fn load(conn: &mut DbConnection, now: DateTime<Utc>) -> Result<bool, DomainError> {
    let actor = Actor::System("demo");
    // One hash for every demo account: hashing 50 passwords would slow every test that loads
    // the demo, and the demo password is public anyway.
    let hash = passwords::hash(DEMO_PASSWORD)?;
    db::transaction(conn, |conn| {
        let present = tenants::table
            .filter(tenants::name.eq("Contoso"))
            .count()
            .get_result::<i64>(conn)?;
        if present > 0 {
            return Ok(false);
        }
        let day = naive(now)
            .date()
            .and_hms_opt(0, 0, 0)
            .unwrap_or_default()
            .and_utc();
        let product_ids = ensure_products(conn)?;
        let [premium, sales, project] = product_ids;

        let contoso =
            tenant_store::find_or_create(conn, &actor, now, "Contoso", "contoso.example")?
                .tenant_id();
        for (local, name, role) in [
            ("admin", "Adele Vance", Role::Global),
            ("billing", "Bill Hughes", Role::Billing),
            ("licenses", "Lee Gu", Role::License),
            ("users", "Uma Patel", Role::User),
        ] {
            let id = person(
                conn,
                now,
                contoso,
                name,
                &format!("{local}@contoso.example"),
                &hash,
            )?;
            accounts::grant_role(conn, contoso, id, role)?;
        }
        let mut contoso_users = Vec::new();
        for (i, name) in CONTOSO_PEOPLE.iter().enumerate() {
            let email = format!("user{:02}@contoso.example", i + 1);
            contoso_users.push(person(conn, now, contoso, name, &email, &hash)?);
        }
        let started = day - Duration::days(10);
        // The 5-license subscription renews on the first of next month, paid by a card that
        // expires at the end of this month: `allot tick --now` past the renewal plays out the
        // seeds' license conflict from an outdated card.
        let month_start = day
            .with_day(1)
            .unwrap_or(day)
            .date_naive()
            .and_hms_opt(0, 0, 0)
            .unwrap_or_default()
            .and_utc();
        let contoso_card = card(
            conn,
            now,
            contoso,
            "Adele Vance",
            "Visa",
            "4242",
            now.month() as i32,
            now.year(),
        )?;
        let card_sub = subscription(
            conn,
            contoso,
            premium,
            5,
            BillingPeriod::Monthly,
            month_start,
            PurchaseChannel::CreditCard,
            None,
            now,
        )?;
        pay_with(conn, card_sub, contoso_card)?;
        subscription(
            conn,
            contoso,
            premium,
            8,
            BillingPeriod::Yearly,
            started,
            PurchaseChannel::Invoice,
            None,
            now,
        )?;
        // 15: four users directly, the Sales team's five through the group, six to spare.
        subscription(
            conn,
            contoso,
            sales,
            15,
            BillingPeriod::Monthly,
            started,
            PurchaseChannel::Invoice,
            None,
            now,
        )?;
        let buyer = contoso_users[6];
        let self_service = subscription(
            conn,
            contoso,
            project,
            2,
            BillingPeriod::Monthly,
            started,
            PurchaseChannel::SelfService,
            Some(buyer),
            now,
        )?;
        for (i, user) in contoso_users.iter().take(10).enumerate() {
            assign(
                conn,
                contoso,
                *user,
                premium,
                None,
                started + Duration::minutes(i as i64),
            )?;
        }
        for (i, user) in contoso_users.iter().take(4).enumerate() {
            assign(
                conn,
                contoso,
                *user,
                sales,
                None,
                started + Duration::minutes(i as i64),
            )?;
        }
        assign(conn, contoso, buyer, project, Some(self_service), started)?;
        // The Sales team inherits Sales Professional from its group (user11–15), loaded as
        // rows like the rest of the demo (no audit entries but "Loaded demo data").
        sales_team(conn, contoso, sales, &contoso_users[10..15], started)?;
        // Allan Deyoung (user02) has Business Premium with Office apps turned off: a license
        // with an app off, which holds no data (so no hold runs out in the demo's story).
        turn_off_app(
            conn,
            contoso,
            contoso_users[1],
            premium,
            "Office apps",
            started,
        )?;
        super::licenses::recount(conn, contoso)?;
        usage_history(conn, contoso, now)?;
        audit::record(
            conn,
            &actor,
            now,
            Some(contoso),
            "Loaded demo data",
            "Contoso",
            "",
        )?;

        let fabrikam =
            tenant_store::find_or_create(conn, &actor, now, "Fabrikam", "fabrikam.example")?
                .tenant_id();
        let admin = person(
            conn,
            now,
            fabrikam,
            "Farah Khan",
            "admin@fabrikam.example",
            &hash,
        )?;
        accounts::grant_role(conn, fabrikam, admin, Role::Global)?;
        let mut fabrikam_users = Vec::new();
        for (i, name) in FABRIKAM_PEOPLE.iter().enumerate() {
            let email = format!("user{:02}@fabrikam.example", i + 1);
            fabrikam_users.push(person(conn, now, fabrikam, name, &email, &hash)?);
        }
        let fabrikam_card = card(
            conn,
            now,
            fabrikam,
            "Farah Khan",
            "Mastercard",
            "4444",
            12,
            now.year() + 3,
        )?;
        let fabrikam_sub = subscription(
            conn,
            fabrikam,
            premium,
            5,
            BillingPeriod::Monthly,
            started,
            PurchaseChannel::CreditCard,
            None,
            now,
        )?;
        pay_with(conn, fabrikam_sub, fabrikam_card)?;
        for user in fabrikam_users.iter().take(3) {
            assign(conn, fabrikam, *user, premium, None, started)?;
        }
        super::licenses::recount(conn, fabrikam)?;
        usage_history(conn, fabrikam, now)?;
        audit::record(
            conn,
            &actor,
            now,
            Some(fabrikam),
            "Loaded demo data",
            "Fabrikam",
            "",
        )?;

        for (email, name, role) in [
            ("support@allot.example", "Sasha Reyes", StaffRole::Support),
            ("partner@allot.example", "Priya Nair", StaffRole::Partner),
        ] {
            let email = EmailAddress::parse(email)?;
            accounts::insert_staff(conn, now, name, &email, role, &hash)?;
        }
        volume_licensing(conn, now, contoso, fabrikam, sales)?;
        // Something in billing support's queue from the start.
        let farah = Actor::Admin {
            user: admin,
            tenant: fabrikam,
            email: "admin@fabrikam.example".into(),
            roles: vec![Role::Global],
        };
        super::service_requests::file(
            conn,
            &farah,
            now,
            fabrikam,
            &super::service_requests::NewRequest {
                kind: "billing_question".into(),
                description: "Our October bill shows two charges for Business Premium. Can you check whether one of them should be refunded?".into(),
                ..Default::default()
            },
        )?;
        Ok(true)
    })
}

/// Contoso's Enterprise Agreement with an invoiced order of 20 Sales Professional licenses
/// awaiting activation (the activation email to admin@contoso.example is in the outbox), and
/// Fabrikam's Enterprise Subscription Agreement, active, with a reservation this year.
/// Contoso's direct Sales Professional subscription carries add-ons the order lacks, so the
/// activation page warns of data loss, as the seed says it should.
fn volume_licensing(
    conn: &mut DbConnection,
    now: DateTime<Utc>,
    contoso: TenantId,
    fabrikam: TenantId,
    sales: i64,
) -> Result<(), DomainError> {
    use super::agreements::{self, Item, NewAgreement, OrderKind, OrderLine, Program};
    use super::schema::subscription_addons;
    let actor = Actor::System("demo");
    let direct: i64 = subscriptions::table
        .filter(subscriptions::tenant_id.eq(contoso.0))
        .filter(subscriptions::product_id.eq(sales))
        .select(subscriptions::id)
        .first(conn)?;
    diesel::insert_into(subscription_addons::table)
        .values((
            subscription_addons::subscription_id.eq(direct),
            subscription_addons::production_instances.eq(1),
            subscription_addons::storage_gb.eq(5),
            subscription_addons::tenant_id.eq(contoso.0),
        ))
        .execute(conn)?;
    // The last July 1 and March 1 on or before today: the agreements' anniversaries.
    let last = |month: u32| {
        let this_year = chrono::NaiveDate::from_ymd_opt(now.year(), month, 1).unwrap_or_default();
        if this_year <= now.date_naive() {
            this_year
        } else {
            chrono::NaiveDate::from_ymd_opt(now.year() - 1, month, 1).unwrap_or_default()
        }
    };
    let ea = agreements::create(
        conn,
        &actor,
        now,
        &NewAgreement {
            number: "EA-7730-1001".into(),
            program: Program::Enterprise.as_str().into(),
            customer: "Contoso".into(),
            osm_email: "admin@contoso.example".into(),
            partner: "Northwind Licensing".into(),
            starts_on: Some(last(7)),
        },
    )?;
    let sales_licenses = |n| OrderLine {
        product: super::ProductId(sales),
        item: Item::Licenses,
        quantity: n,
    };
    let order_time = now - Duration::days(1);
    agreements::enter_order(
        conn,
        &actor,
        order_time,
        ea,
        OrderKind::PurchaseOrder,
        &[sales_licenses(20)],
        Duration::hours(2),
    )?;
    provision(conn, order_time + Duration::hours(2))?;

    let esa = agreements::create(
        conn,
        &actor,
        now,
        &NewAgreement {
            number: "ESA-4410-2002".into(),
            program: Program::EnterpriseSubscription.as_str().into(),
            customer: "Fabrikam".into(),
            osm_email: "admin@fabrikam.example".into(),
            partner: "Northwind Licensing".into(),
            starts_on: Some(last(3)),
        },
    )?;
    agreements::enter_order(
        conn,
        &actor,
        order_time,
        esa,
        OrderKind::PurchaseOrder,
        &[
            sales_licenses(30),
            OrderLine {
                product: super::ProductId(sales),
                item: Item::ProductionInstances,
                quantity: 2,
            },
            OrderLine {
                product: super::ProductId(sales),
                item: Item::StorageGb,
                quantity: 10,
            },
        ],
        Duration::hours(2),
    )?;
    provision(conn, order_time + Duration::hours(2))?;
    agreements::attach(conn, order_time + Duration::hours(3), esa, fabrikam)?;
    agreements::enter_order(
        conn,
        &actor,
        now,
        esa,
        OrderKind::Reservation,
        &[sales_licenses(5)],
        Duration::zero(),
    )?;
    Ok(())
}

fn ensure_products(conn: &mut DbConnection) -> Result<[i64; 3], DomainError> {
    let mut ids = [0; 3];
    for (slot, p) in ids.iter_mut().zip(PRODUCTS.iter()) {
        let existing: Option<i64> = products::table
            .filter(products::code.eq(p.code))
            .select(products::id)
            .first(conn)
            .optional()?;
        *slot = match existing {
            Some(id) => id,
            None => {
                let id = diesel::insert_into(products::table)
                    .values((
                        products::code.eq(p.code),
                        products::name.eq(p.name),
                        products::family.eq(p.family),
                        products::monthly_price_cents.eq(p.monthly_price_cents),
                        products::cancellation_window_days.eq(7),
                    ))
                    .returning(products::id)
                    .get_result(conn)?;
                for (name, holds_data) in p.services {
                    diesel::insert_into(product_services::table)
                        .values((
                            product_services::product_id.eq(id),
                            product_services::name.eq(*name),
                            product_services::holds_data.eq(*holds_data),
                        ))
                        .execute(conn)?;
                }
                id
            }
        };
    }
    Ok(ids)
}

/// A test-gateway card on file, the tenant's default.
#[allow(clippy::too_many_arguments)]
fn card(
    conn: &mut DbConnection,
    now: DateTime<Utc>,
    tenant: TenantId,
    holder: &str,
    brand: &str,
    last4: &str,
    exp_month: i32,
    exp_year: i32,
) -> Result<i64, DomainError> {
    Ok(diesel::insert_into(payment_methods::table)
        .values((
            payment_methods::tenant_id.eq(tenant.0),
            payment_methods::holder.eq(holder),
            payment_methods::brand.eq(brand),
            payment_methods::last4.eq(last4),
            payment_methods::exp_month.eq(exp_month),
            payment_methods::exp_year.eq(exp_year),
            payment_methods::gateway_token.eq("test:approve"),
            payment_methods::is_default.eq(true),
            payment_methods::created_at.eq(naive(now)),
        ))
        .returning(payment_methods::id)
        .get_result(conn)?)
}

fn pay_with(conn: &mut DbConnection, subscription: i64, card: i64) -> Result<(), DomainError> {
    diesel::update(subscriptions::table.find(subscription))
        .set(subscriptions::payment_method_id.eq(Some(card)))
        .execute(conn)?;
    Ok(())
}

fn person(
    conn: &mut DbConnection,
    now: DateTime<Utc>,
    tenant: TenantId,
    name: &str,
    email: &str,
    hash: &str,
) -> Result<UserId, DomainError> {
    accounts::insert_user(conn, now, tenant, name, &EmailAddress::parse(email)?, hash)
}

#[allow(clippy::too_many_arguments)]
fn subscription(
    conn: &mut DbConnection,
    tenant: TenantId,
    product: i64,
    quantity: i32,
    period: BillingPeriod,
    start: DateTime<Utc>,
    channel: PurchaseChannel,
    buyer: Option<UserId>,
    now: DateTime<Utc>,
) -> Result<i64, DomainError> {
    let end = start
        .checked_add_months(Months::new(period.months()))
        .unwrap_or(start + Duration::days(30));
    Ok(diesel::insert_into(subscriptions::table)
        .values((
            subscriptions::tenant_id.eq(tenant.0),
            subscriptions::product_id.eq(product),
            subscriptions::quantity.eq(quantity),
            subscriptions::billing_period.eq(period),
            subscriptions::term_start.eq(naive(start)),
            subscriptions::term_end.eq(naive(end)),
            subscriptions::recurring_billing.eq(true),
            subscriptions::purchase_channel.eq(channel),
            subscriptions::state.eq(SubscriptionState::Active),
            subscriptions::self_service_buyer_id.eq(buyer.map(|b| b.0)),
            subscriptions::created_at.eq(naive(now)),
        ))
        .returning(subscriptions::id)
        .get_result(conn)?)
}

fn assign(
    conn: &mut DbConnection,
    tenant: TenantId,
    user: UserId,
    product: i64,
    self_service: Option<i64>,
    at: DateTime<Utc>,
) -> Result<(), DomainError> {
    diesel::insert_into(license_assignments::table)
        .values((
            license_assignments::tenant_id.eq(tenant.0),
            license_assignments::user_id.eq(user.0),
            license_assignments::product_id.eq(product),
            license_assignments::self_service_subscription_id.eq(self_service),
            license_assignments::assigned_at.eq(naive(at)),
        ))
        .execute(conn)?;
    Ok(())
}

/// Contoso's "Sales team" group: `members` inherit `product` from it.
fn sales_team(
    conn: &mut DbConnection,
    tenant: TenantId,
    product: i64,
    members: &[UserId],
    at: DateTime<Utc>,
) -> Result<(), DomainError> {
    use super::schema::{group_licenses, group_members, inherited_licenses, user_groups};
    let group: i64 = diesel::insert_into(user_groups::table)
        .values((
            user_groups::tenant_id.eq(tenant.0),
            user_groups::name.eq("Sales team"),
            user_groups::name_key.eq("sales team"),
            user_groups::description
                .eq("Everyone who sells: they get Sales Professional from the group."),
            user_groups::created_at.eq(naive(at)),
            user_groups::guid.eq(uuid::Uuid::new_v4().to_string()),
        ))
        .returning(user_groups::id)
        .get_result(conn)?;
    diesel::insert_into(group_licenses::table)
        .values((
            group_licenses::tenant_id.eq(tenant.0),
            group_licenses::group_id.eq(group),
            group_licenses::product_id.eq(product),
            group_licenses::assigned_at.eq(naive(at)),
        ))
        .execute(conn)?;
    for (i, user) in members.iter().enumerate() {
        diesel::insert_into(group_members::table)
            .values((
                group_members::tenant_id.eq(tenant.0),
                group_members::group_id.eq(group),
                group_members::user_id.eq(user.0),
                group_members::added_at.eq(naive(at)),
            ))
            .execute(conn)?;
        diesel::insert_into(license_assignments::table)
            .values((
                license_assignments::tenant_id.eq(tenant.0),
                license_assignments::user_id.eq(user.0),
                license_assignments::product_id.eq(product),
                license_assignments::assigned_at.eq(naive(at + Duration::minutes(20 + i as i64))),
                license_assignments::direct.eq(false),
            ))
            .execute(conn)?;
        diesel::insert_into(inherited_licenses::table)
            .values((
                inherited_licenses::tenant_id.eq(tenant.0),
                inherited_licenses::user_id.eq(user.0),
                inherited_licenses::product_id.eq(product),
                inherited_licenses::group_id.eq(group),
            ))
            .execute(conn)?;
    }
    Ok(())
}

fn turn_off_app(
    conn: &mut DbConnection,
    tenant: TenantId,
    user: UserId,
    product: i64,
    app: &str,
    at: DateTime<Utc>,
) -> Result<(), DomainError> {
    let service: i64 = product_services::table
        .filter(product_services::product_id.eq(product))
        .filter(product_services::name.eq(app))
        .select(product_services::id)
        .first(conn)?;
    diesel::insert_into(apps_turned_off::table)
        .values((
            apps_turned_off::tenant_id.eq(tenant.0),
            apps_turned_off::user_id.eq(user.0),
            apps_turned_off::product_id.eq(product),
            apps_turned_off::service_id.eq(service),
            apps_turned_off::turned_off_at.eq(naive(at)),
        ))
        .execute(conn)?;
    Ok(())
}

/// Provisions the demo's purchase orders; any that fails fails the demo.
fn provision(conn: &mut DbConnection, at: DateTime<Utc>) -> Result<(), DomainError> {
    let mut failures = 0;
    super::agreements::process_purchase_orders(conn, at, &mut failures)?;
    if failures > 0 {
        return Err(DomainError::storage(
            "a demo purchase order could not be provisioned",
        ));
    }
    Ok(())
}

/// Home's trend for the demo: the 89 days before today, in which each pool filled up to
/// today's count a few users at a time, as a new team would.
fn usage_history(
    conn: &mut DbConnection,
    tenant: TenantId,
    now: DateTime<Utc>,
) -> Result<(), DomainError> {
    use super::licenses::{TREND_DAYS, insert_days, tenant_pools_on};
    let today = now.date_naive();
    let mut days = Vec::new();
    for ((product, _), point) in tenant_pools_on(conn, tenant, today)? {
        let start = point.assigned * 3 / 5;
        let steps = TREND_DAYS / 10;
        for ago in 1..TREND_DAYS {
            // Steps every ten days, from three fifths of today's count up to nearly all of it.
            let step = (TREND_DAYS - ago) / 10;
            let mut day = point;
            day.day = today - Duration::days(ago);
            day.assigned = start + (point.assigned - start) * step / steps;
            days.push((product, day));
        }
    }
    insert_days(conn, tenant, &days)
}
