//! Money and crashes: a busy database is retried by kind, a card is charged once whatever the
//! retries, a charge a crash left pending is settled by the next tick, and the scheduled jobs
//! go on past a failed step. On both databases; the forced-busy parts on SQLite, where busy
//! is a real SQLITE_BUSY from a second connection holding the write lock.

mod common;

use allot::domain::billing::{
    self, Approval, CardOnFile, ChargeFailure, NewCard, PaymentGateway, TestGateway,
};
use allot::domain::db::{self, Backend, DbConnection};
use allot::domain::schema::{bills, charges, subscriptions};
use allot::domain::subscriptions::{self as subs, BillingPeriod};
use allot::domain::{DomainError, ProductId, SubscriptionId, TenantId};
use allot::jobs;
use chrono::{DateTime, Duration, Utc};
use common::*;
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

/// The test gateway, counting the calls per idempotency key and keeping what each answered.
#[derive(Default)]
struct CountingGateway {
    answers: Mutex<HashMap<String, Vec<Result<Approval, ChargeFailure>>>>,
    /// Run once, on the first charge: lets a test make the database busy right after the card
    /// was charged, or "crash".
    on_first_charge: Mutex<Option<Box<dyn FnOnce() + Send>>>,
    crash_after_charging: AtomicBool,
}

impl CountingGateway {
    fn calls(&self) -> HashMap<String, usize> {
        self.answers
            .lock()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.clone(), v.len()))
            .collect()
    }
}

impl PaymentGateway for CountingGateway {
    fn tokenize(&self, number: &str) -> String {
        TestGateway.tokenize(number)
    }

    fn charge(
        &self,
        key: &str,
        card: &CardOnFile<'_>,
        amount_cents: i64,
        now: DateTime<Utc>,
    ) -> Result<Approval, ChargeFailure> {
        let answer = TestGateway.charge(key, card, amount_cents, now);
        self.answers
            .lock()
            .unwrap()
            .entry(key.to_owned())
            .or_default()
            .push(answer.clone());
        if let Some(then) = self.on_first_charge.lock().unwrap().take() {
            then();
        }
        if self.crash_after_charging.load(Ordering::SeqCst) {
            panic!("the process dies after the gateway took the charge");
        }
        answer
    }
}

/// A SQLite connection of its own that fails at once when the database is locked (no busy
/// timeout), so a lock held elsewhere shows up as SQLITE_BUSY.
fn impatient_sqlite(db: &TestDb) -> DbConnection {
    let mut conn = DbConnection::Sqlite(SqliteConnection::establish(&db.url).unwrap());
    conn.batch_execute("PRAGMA busy_timeout = 0; PRAGMA foreign_keys = ON;")
        .unwrap();
    conn
}

/// Takes SQLite's write lock from another connection and lets it go after `hold`.
fn hold_write_lock(db: &TestDb, hold: std::time::Duration) -> std::thread::JoinHandle<()> {
    let mut holder = SqliteConnection::establish(&db.url).unwrap();
    holder.batch_execute("BEGIN IMMEDIATE").unwrap();
    std::thread::spawn(move || {
        std::thread::sleep(hold);
        holder.batch_execute("COMMIT").unwrap();
    })
}

fn card_sub(db: &TestDb) -> SubscriptionId {
    SubscriptionId(
        subscriptions::table
            .filter(subscriptions::quantity.eq(5))
            .filter(subscriptions::purchase_channel.eq("credit_card"))
            .order(subscriptions::id)
            .select(subscriptions::id)
            .first(&mut db.conn())
            .unwrap(),
    )
}

fn bill_count(db: &TestDb, tenant: TenantId) -> i64 {
    bills::table
        .filter(bills::tenant_id.eq(tenant.0))
        .count()
        .get_result(&mut db.conn())
        .unwrap()
}

fn charge_states(db: &TestDb) -> Vec<String> {
    charges::table
        .order(charges::id)
        .select(charges::state)
        .load(&mut db.conn())
        .unwrap()
}

#[test]
fn a_busy_sqlite_error_is_known_by_its_kind_and_the_transaction_is_run_again() {
    if backend() != Backend::Sqlite {
        return;
    }
    let db = TestDb::with_demo();
    let mut conn = impatient_sqlite(&db);

    // Without a retry, the locked database answers Busy, not a storage failure.
    let holder = hold_write_lock(&db, std::time::Duration::from_millis(300));
    let direct = diesel::sql_query("UPDATE tenants SET license_version = license_version + 1")
        .execute(&mut conn)
        .map_err(DomainError::from);
    assert_eq!(direct, Err(DomainError::Busy));
    holder.join().unwrap();

    // In a transaction, it is rolled back and run again until the lock is let go.
    let holder = hold_write_lock(&db, std::time::Duration::from_millis(40));
    let mut attempts = 0;
    let done = db::transaction(&mut conn, |c| {
        attempts += 1;
        diesel::sql_query("UPDATE tenants SET license_version = license_version + 1").execute(c)?;
        Ok(())
    });
    holder.join().unwrap();
    assert_eq!(done, Ok(()));
    assert!(attempts > 1, "it was tried again: {attempts} attempts");

    // A lock held longer than every attempt together still ends as Busy (HTTP 503), no more.
    let holder = hold_write_lock(&db, std::time::Duration::from_millis(1500));
    let mut attempts = 0;
    let gave_up = db::transaction(&mut conn, |c| {
        attempts += 1;
        diesel::sql_query("UPDATE tenants SET license_version = license_version + 1").execute(c)?;
        Ok(())
    });
    holder.join().unwrap();
    assert_eq!(gave_up, Err(DomainError::Busy));
    assert_eq!(attempts, db::ATTEMPTS as usize);
}

#[test]
fn a_storage_error_keeps_its_kind() {
    let db = TestDb::with_demo();
    let (contoso, _) = tenants(&db);
    let duplicate = diesel::sql_query(format!(
        "INSERT INTO bills (tenant_id, number, issued_at, kind, state, total_cents) \
         VALUES ({0}, 'B-1', '2026-11-05 09:00:00', 'invoice', 'due', 1), \
                ({0}, 'B-1', '2026-11-05 09:00:00', 'invoice', 'due', 1)",
        contoso.0
    ))
    .execute(&mut db.conn())
    .map_err(DomainError::from);
    match duplicate {
        Err(DomainError::Storage(e)) => assert_eq!(
            e.kind(),
            Some(diesel::result::DatabaseErrorKind::UniqueViolation)
        ),
        other => panic!("{other:?}"),
    }
}

#[test]
fn buying_licenses_on_a_busy_database_charges_the_card_once_and_writes_one_bill() {
    let db = TestDb::with_demo();
    let (contoso, _) = tenants(&db);
    let admin = actor(&db, "billing@contoso.example");
    let sub = card_sub(&db);
    let gateway = CountingGateway::default();
    let sqlite = backend() == Backend::Sqlite;
    let mut conn = if sqlite {
        impatient_sqlite(&db)
    } else {
        // PostgreSQL: no forced busy, the same once-only path.
        let mut pg = diesel::PgConnection::establish(&db.url).unwrap();
        pg.batch_execute("SELECT 1").unwrap();
        DbConnection::Postgresql(pg)
    };
    let mut holders = vec![];
    if sqlite {
        // Busy before the charge is recorded, and again right after the card was charged,
        // when the answer is to be recorded.
        holders.push(hold_write_lock(&db, std::time::Duration::from_millis(30)));
        let url = db.url.clone();
        let (tx, rx) = std::sync::mpsc::channel();
        *gateway.on_first_charge.lock().unwrap() = Some(Box::new(move || {
            let mut holder = SqliteConnection::establish(&url).unwrap();
            holder.batch_execute("BEGIN IMMEDIATE").unwrap();
            tx.send(std::thread::spawn(move || {
                std::thread::sleep(std::time::Duration::from_millis(30));
                holder.batch_execute("COMMIT").unwrap();
            }))
            .unwrap();
        }));
        let bill =
            subs::buy_licenses(&mut conn, &admin, &gateway, test_now(), contoso, sub, 3).unwrap();
        holders.push(rx.recv().unwrap());
        assert!(bill.starts_with("B202611-"));
    } else {
        subs::buy_licenses(&mut conn, &admin, &gateway, test_now(), contoso, sub, 3).unwrap();
    }
    for holder in holders {
        holder.join().unwrap();
    }
    let calls = gateway.calls();
    assert_eq!(calls.len(), 1, "one charge: {calls:?}");
    assert_eq!(calls.values().copied().collect::<Vec<_>>(), vec![1]);
    assert_eq!(bill_count(&db, contoso), 1);
    assert_eq!(charge_states(&db), vec!["settled".to_owned()]);
    assert_eq!(pool_counts(&db, contoso, "Business Premium"), (16, 10, 6));
}

#[test]
fn a_crash_after_the_card_was_charged_is_settled_once_by_the_next_tick() {
    let db = TestDb::with_demo();
    let (contoso, _) = tenants(&db);
    let admin = actor(&db, "billing@contoso.example");
    let sub = card_sub(&db);
    let gateway = CountingGateway::default();
    gateway.crash_after_charging.store(true, Ordering::SeqCst);
    let crashed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        subs::buy_licenses(
            &mut db.conn(),
            &admin,
            &gateway,
            test_now(),
            contoso,
            sub,
            3,
        )
    }));
    assert!(crashed.is_err(), "the process died mid-purchase");
    // Charged, not recorded: a pending charge, no bill, no licenses yet.
    assert_eq!(charge_states(&db), vec!["pending".to_owned()]);
    assert_eq!(bill_count(&db, contoso), 0);
    assert_eq!(pool_counts(&db, contoso, "Business Premium"), (13, 10, 3));

    gateway.crash_after_charging.store(false, Ordering::SeqCst);
    // A tick right after leaves a fresh charge to the request that may still be making it.
    let early = jobs::tick(&mut db.conn(), &gateway, test_now() + Duration::seconds(30)).unwrap();
    assert_eq!(early.charges_settled, 0);
    assert_eq!(charge_states(&db), vec!["pending".to_owned()]);

    let later = test_now() + Duration::minutes(5);
    let first = jobs::tick(&mut db.conn(), &gateway, later).unwrap();
    assert_eq!(first.charges_settled, 1);
    assert_eq!(first.failures, 0);
    assert_eq!(charge_states(&db), vec!["settled".to_owned()]);
    assert_eq!(bill_count(&db, contoso), 1);
    assert_eq!(pool_counts(&db, contoso, "Business Premium"), (16, 10, 6));
    // The gateway was asked twice with the one key and answered the same charge both times.
    let answers = gateway.answers.lock().unwrap().clone();
    assert_eq!(answers.len(), 1, "{answers:?}");
    let asked = answers.values().next().unwrap();
    assert_eq!(asked.len(), 2);
    assert_eq!(asked[0], asked[1]);
    assert!(asked[0].is_ok());
    let reference: Option<String> = charges::table
        .select(charges::gateway_reference)
        .first(&mut db.conn())
        .unwrap();
    assert_eq!(reference, asked[0].clone().ok().map(|a| a.reference));

    let second = jobs::tick(&mut db.conn(), &gateway, later).unwrap();
    assert_eq!(second.charges_settled, 0);
    assert_eq!(bill_count(&db, contoso), 1);
    assert_eq!(pool_counts(&db, contoso, "Business Premium"), (16, 10, 6));
    assert_eq!(gateway.calls().values().sum::<usize>(), 2);
    assert_eq!(audit_count(&db, contoso, "Bought licenses"), 1);
}

#[test]
fn a_declined_new_subscription_leaves_a_declined_charge_and_nothing_else() {
    let db = TestDb::with_demo();
    let (contoso, _) = tenants(&db);
    let admin = actor(&db, "billing@contoso.example");
    let decline = NewCard {
        holder: "Bill Hughes".into(),
        number: "4000 0000 0000 0002".into(),
        exp_month: "12".into(),
        exp_year: "2030".into(),
        security_code: "123".into(),
    };
    billing::add_card(
        &mut db.conn(),
        &admin,
        &TestGateway,
        test_now(),
        contoso,
        &decline,
        true,
    )
    .unwrap();
    let before: i64 = subscriptions::table
        .count()
        .get_result(&mut db.conn())
        .unwrap();
    let refused = subs::subscribe(
        &mut db.conn(),
        &admin,
        &TestGateway,
        test_now(),
        contoso,
        product_id(&db, "Business Premium"),
        2,
        BillingPeriod::Monthly,
    );
    assert!(
        matches!(&refused, Err(DomainError::Conflict(m)) if m.contains("declined")),
        "{refused:?}"
    );
    let after: i64 = subscriptions::table
        .count()
        .get_result(&mut db.conn())
        .unwrap();
    assert_eq!(after, before);
    assert_eq!(bill_count(&db, contoso), 0);
    assert_eq!(charge_states(&db), vec!["declined".to_owned()]);
}

/// Makes every insert of a charge for `sub` fail, as a broken row would.
fn break_charges_of(db: &TestDb, sub: i64) {
    let sql = match backend() {
        Backend::Sqlite => format!(
            "CREATE TRIGGER broken BEFORE INSERT ON charges WHEN NEW.subscription_id = {sub} \
             BEGIN SELECT RAISE(ABORT, 'this subscription is broken'); END;"
        ),
        Backend::Postgres => format!(
            "CREATE FUNCTION broken() RETURNS trigger AS $$ BEGIN \
               IF NEW.subscription_id = {sub} THEN RAISE EXCEPTION 'this subscription is broken'; END IF; \
               RETURN NEW; END $$ LANGUAGE plpgsql; \
             CREATE TRIGGER broken BEFORE INSERT ON charges FOR EACH ROW EXECUTE FUNCTION broken();"
        ),
    };
    db.conn().batch_execute(&sql).unwrap();
}

fn mend_charges(db: &TestDb) {
    let sql = match backend() {
        Backend::Sqlite => "DROP TRIGGER broken;",
        Backend::Postgres => "DROP TRIGGER broken ON charges; DROP FUNCTION broken();",
    };
    db.conn().batch_execute(sql).unwrap();
}

fn renewal_bills(db: &TestDb, sub: i64) -> i64 {
    use allot::domain::schema::bill_lines;
    bill_lines::table
        .inner_join(bills::table)
        .filter(bill_lines::subscription_id.eq(sub))
        .filter(bills::kind.eq("renewal"))
        .count()
        .get_result(&mut db.conn())
        .unwrap()
}

fn term_end(db: &TestDb, sub: i64) -> chrono::NaiveDateTime {
    subscriptions::table
        .find(sub)
        .select(subscriptions::term_end)
        .first(&mut db.conn())
        .unwrap()
}

#[test]
fn a_renewal_that_fails_in_the_middle_of_a_tick_stops_only_itself() {
    let db = TestDb::with_demo();
    let (contoso, _) = tenants(&db);
    let admin = actor(&db, "billing@contoso.example");
    let good = NewCard {
        holder: "Bill Hughes".into(),
        number: "4242 4242 4242 4242".into(),
        exp_month: "12".into(),
        exp_year: "2030".into(),
        security_code: "123".into(),
    };
    billing::add_card(
        &mut db.conn(),
        &admin,
        &TestGateway,
        test_now(),
        contoso,
        &good,
        true,
    )
    .unwrap();
    let premium: ProductId = product_id(&db, "Business Premium");
    let new: Vec<i64> = (0..3)
        .map(|_| {
            subs::subscribe(
                &mut db.conn(),
                &admin,
                &TestGateway,
                test_now(),
                contoso,
                premium,
                1,
                BillingPeriod::Monthly,
            )
            .unwrap()
            .0
        })
        .collect();
    break_charges_of(&db, new[1]);
    let renewal_time = test_now() + Duration::days(40);
    let ends: Vec<_> = new.iter().map(|s| term_end(&db, *s)).collect();

    let first = jobs::tick(&mut db.conn(), &TestGateway, renewal_time).unwrap();
    assert_eq!(first.failures, 1, "{first:?}");
    assert_eq!(renewal_bills(&db, new[0]), 1);
    assert_eq!(renewal_bills(&db, new[1]), 0);
    assert_eq!(
        renewal_bills(&db, new[2]),
        1,
        "the one after the failure renewed too"
    );
    assert!(term_end(&db, new[0]) > ends[0]);
    assert_eq!(term_end(&db, new[1]), ends[1]);
    assert!(term_end(&db, new[2]) > ends[2]);

    // A second tick renews nothing twice; the broken one fails again, alone.
    let second = jobs::tick(&mut db.conn(), &TestGateway, renewal_time).unwrap();
    assert_eq!(second.lifecycle.renewed, 0, "{second:?}");
    assert_eq!(second.failures, 1);
    assert_eq!(renewal_bills(&db, new[0]), 1);
    assert_eq!(renewal_bills(&db, new[2]), 1);

    // Mended, the next tick renews it, once.
    mend_charges(&db);
    let third = jobs::tick(&mut db.conn(), &TestGateway, renewal_time).unwrap();
    assert_eq!(third.lifecycle.renewed, 1, "{third:?}");
    assert_eq!(third.failures, 0);
    assert_eq!(renewal_bills(&db, new[1]), 1);
    let fourth = jobs::tick(&mut db.conn(), &TestGateway, renewal_time).unwrap();
    assert_eq!(fourth.lifecycle.renewed, 0);
    for sub in &new {
        assert_eq!(renewal_bills(&db, *sub), 1);
    }
}

#[test]
fn only_one_tick_runs_at_a_time_on_postgresql_and_the_lock_is_let_go() {
    if backend() != Backend::Postgres {
        return;
    }
    let db = TestDb::with_demo();
    let mut holder = db.conn();
    assert!(db::try_job_lock(&mut holder).unwrap());
    let refused = jobs::tick(&mut db.conn(), &TestGateway, test_now()).unwrap();
    assert!(!refused.ran);
    db::unlock_jobs(&mut holder).unwrap();
    drop(holder);
    let ran = jobs::tick(&mut db.conn(), &TestGateway, test_now()).unwrap();
    assert!(ran.ran);
    // Let go after a failing run too, while its session lives on.
    let mut session = DbConnection::Postgresql(diesel::PgConnection::establish(&db.url).unwrap());
    let failed = db::with_job_lock(&mut session, |_| -> Result<(), DomainError> {
        Err(DomainError::NotFound)
    });
    assert_eq!(failed, Err(DomainError::NotFound));
    let mut other = db.conn();
    assert!(db::try_job_lock(&mut other).unwrap());
    db::unlock_jobs(&mut other).unwrap();
    drop(session);
}

#[test]
fn the_ledger_gateway_answers_a_repeated_key_with_its_first_answer_across_processes() {
    // Two gateways on one directory stand for two processes (a server and `allot tick`, or a
    // server before and after a crash): the second is asked the keys the first answered.
    let dir = tempfile::tempdir().unwrap();
    let ledger = dir.path().join("ledger");
    let now = common::test_now();
    let good = CardOnFile {
        token: "test:approve",
        exp_month: 12,
        exp_year: 2030,
    };
    let refused = CardOnFile {
        token: "test:decline",
        ..good
    };
    let first = billing::LedgerGateway::new(&ledger);
    let taken = first.charge("allot-renewal-t1-s1-00", &good, 1200, now);
    let declined = first.charge("allot-renewal-t1-s2-00", &refused, 900, now);
    let after_restart = billing::LedgerGateway::new(&ledger);
    assert_eq!(
        after_restart.charge("allot-renewal-t1-s1-00", &good, 1200, now),
        taken
    );
    assert_eq!(
        after_restart.charge("allot-renewal-t1-s2-00", &good, 900, now),
        declined,
        "a declined key stays declined, whatever card it comes with later"
    );
    assert_eq!(
        declined,
        Err(ChargeFailure::Declined(billing::Decline::Declined))
    );
    let reference = taken.expect("the good card is charged").reference;
    let mut filed: Vec<(String, String)> = std::fs::read_dir(&ledger)
        .unwrap()
        .map(|entry| {
            let entry = entry.unwrap();
            (
                entry.file_name().into_string().unwrap(),
                std::fs::read_to_string(entry.path()).unwrap(),
            )
        })
        .collect();
    filed.sort();
    assert_eq!(
        filed,
        [
            (
                "allot-renewal-t1-s1-00".to_owned(),
                format!("1200\t{reference}\n")
            ),
            (
                "allot-renewal-t1-s2-00".to_owned(),
                "900\tdeclined\n".to_owned()
            ),
        ],
        "one file per key, written when it was first asked, and no draft left"
    );
    assert!(
        first.charge("../escape", &good, 100, now).is_err(),
        "a key that is no plain file name is not answered"
    );
}
