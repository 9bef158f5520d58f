//! Add multiple users in the domain, on the backend under test: what the preview says of each
//! row, seats counted in file order, the import in resumable steps that never give a seat
//! twice, the passwords given once, and who may do it.

mod common;

use allot::domain::schema::{user_import_rows, users as users_table};
use allot::domain::users::import::{self, ImportId, ImportState, Passwords, RowKind};
use allot::domain::{DomainError, licenses, users};
use common::*;
use diesel::prelude::*;

const SALES: &str = "Sales Professional";

fn csv(rows: &[(&str, &str, &str)]) -> Vec<u8> {
    let mut out = String::from("display NAME,Sign-In Name,licenses\n");
    for (name, email, licenses) in rows {
        out.push_str(&format!("{name},{email},{licenses}\n"));
    }
    out.into_bytes()
}

fn preview(db: &TestDb, who: &str, file: &[u8]) -> Result<ImportId, DomainError> {
    let (contoso, _) = tenants(db);
    let rows = import::read_file(file)?;
    import::preview(
        &mut db.conn(),
        &actor(db, who),
        test_now(),
        contoso,
        "people.csv",
        &rows,
    )
}

/// Each row's number and what the page says of it.
fn said(db: &TestDb, id: ImportId) -> Vec<(i32, String)> {
    let (contoso, _) = tenants(db);
    let (rows, next) = import::rows(
        &mut db.conn(),
        &actor(db, "admin@contoso.example"),
        contoso,
        id,
        false,
        0,
        1000,
    )
    .unwrap();
    assert!(next.is_none());
    rows.iter().map(|r| (r.row_number, r.says())).collect()
}

fn user_count(db: &TestDb) -> i64 {
    users_table::table
        .count()
        .get_result(&mut db.conn())
        .unwrap()
}

fn start(db: &TestDb, id: ImportId) {
    let (contoso, _) = tenants(db);
    import::start(
        &mut db.conn(),
        &actor(db, "admin@contoso.example"),
        test_now(),
        contoso,
        id,
    )
    .unwrap();
}

fn summary(db: &TestDb, id: ImportId) -> import::ImportSummary {
    let (contoso, _) = tenants(db);
    import::summary(
        &mut db.conn(),
        &actor(db, "admin@contoso.example"),
        contoso,
        id,
    )
    .unwrap()
}

#[test]
fn reading_the_file_finds_the_columns_in_any_case_and_refuses_what_is_not_a_list_of_users() {
    let rows = import::read_file(
        b"\xEF\xBB\xBFLicenses,SIGN-IN NAME,Display Name\n\"A; B\",a@x.example,\"Ann, Lee\"\n\n",
    )
    .unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].row_number, 2);
    assert_eq!(rows[0].display_name, "Ann, Lee");
    assert_eq!(rows[0].licenses, vec!["A", "B"]);
    for (file, says) in [
        (&b""[..], "The file is empty."),
        (b"\x00\x01\x02\xff", "not a CSV file"),
        (
            b"Name,Email\nA,a@x.example\n",
            "no Display name or Sign-in name column",
        ),
        (b"Display name,Sign-in name\n", "no users"),
    ] {
        let e = import::read_file(file).unwrap_err();
        assert!(e.to_string().contains(says), "{e}");
    }
    let mut many = String::from("Display name,Sign-in name\n");
    for i in 0..=import::MAX_ROWS {
        many.push_str(&format!("U{i},u{i}@x.example\n"));
    }
    let e = import::read_file(many.as_bytes()).unwrap_err();
    assert!(e.to_string().contains("more than 50000 users"), "{e}");
}

#[test]
fn the_preview_says_what_will_happen_to_each_row_and_creates_nothing() {
    let db = TestDb::with_demo();
    let (contoso, _) = tenants(&db);
    let (_, _, available) = pool_counts(&db, contoso, SALES);
    assert_eq!(
        available, 6,
        "the demo's Sales Professional licenses to spare"
    );
    let users_before = user_count(&db);
    let mut rows: Vec<(String, String, String)> = vec![
        ("Bad Mail".into(), "not-an-email".into(), String::new()),
        (
            "Elsewhere".into(),
            "someone@fabrikam.example".into(),
            String::new(),
        ),
        (
            "Taken".into(),
            "user01@contoso.example".into(),
            String::new(),
        ),
        (
            "Unknown".into(),
            "u1@contoso.example".into(),
            "Visio Plan 9".into(),
        ),
        ("".into(), "noname@contoso.example".into(), String::new()),
    ];
    // Seven want Sales Professional: six get it, in file order; the seventh would get none.
    for i in 0..7 {
        rows.push((
            format!("Seller {i}"),
            format!("seller{i}@contoso.example"),
            SALES.into(),
        ));
    }
    rows.push((
        "Seller 0 again".into(),
        "SELLER0@contoso.example".into(),
        String::new(),
    ));
    // Two licenses, one of them short: the row is not created at all.
    rows.push((
        "Both".into(),
        "both@contoso.example".into(),
        format!("business premium; {SALES}"),
    ));
    let borrowed: Vec<(&str, &str, &str)> = rows
        .iter()
        .map(|(a, b, c)| (a.as_str(), b.as_str(), c.as_str()))
        .collect();
    let id = preview(&db, "admin@contoso.example", &csv(&borrowed)).unwrap();
    let said = said(&db, id);
    assert_eq!(said[0], (2, "Bad email".into()));
    assert_eq!(
        said[1],
        (3, "Bad email: must end with @contoso.example".into())
    );
    assert_eq!(said[2], (4, "Already exists".into()));
    assert_eq!(said[3], (5, "Product unknown: Visio Plan 9".into()));
    assert_eq!(said[4], (6, "Bad display name: 1 to 120 characters".into()));
    for i in 0..6 {
        assert_eq!(said[5 + i].1, "Created", "seller {i}");
    }
    assert_eq!(said[11], (13, format!("Not enough licenses: {SALES}")));
    assert_eq!(said[12], (14, "Already exists: row 7 of this file".into()));
    assert_eq!(said[13], (15, format!("Not enough licenses: {SALES}")));
    let job = summary(&db, id);
    assert_eq!(job.state, ImportState::Previewed);
    assert_eq!((job.will_create(), job.skipped(), job.total), (6, 8, 14));
    // Nothing made, nothing assigned.
    assert_eq!(user_count(&db), users_before);
    assert_eq!(pool_counts(&db, contoso, SALES).2, 6);
    // Only the skipped rows, for a big file's problems.
    let (skipped, _) = import::rows(
        &mut db.conn(),
        &actor(&db, "admin@contoso.example"),
        contoso,
        id,
        true,
        0,
        100,
    )
    .unwrap();
    assert_eq!(skipped.len(), 8);
    assert!(skipped.iter().all(|r| r.skipped()));
}

#[test]
fn the_import_runs_in_steps_and_a_step_run_again_or_after_a_crash_makes_nothing_twice() {
    let db = TestDb::with_demo();
    let (contoso, _) = tenants(&db);
    let rows: Vec<(String, String)> = (0..import::STEP + 30)
        .map(|i| {
            (
                format!("Step User {i:03}"),
                format!("step{i:03}@contoso.example"),
            )
        })
        .collect();
    let mut file: Vec<(&str, &str, &str)> = rows
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str(), ""))
        .collect();
    // Three of them with a license: they take three of the six seats.
    for row in file.iter_mut().skip(10).take(3) {
        row.2 = SALES;
    }
    let id = preview(&db, "admin@contoso.example", &csv(&file)).unwrap();
    let before = user_count(&db);
    // Not started: a step does nothing.
    assert!(!import::step(&mut db.conn(), test_now(), id).unwrap());
    assert_eq!(user_count(&db), before);
    start(&db, id);
    start(&db, id); // pressed twice: still one import
    assert!(import::step(&mut db.conn(), test_now(), id).unwrap());
    let job = summary(&db, id);
    assert_eq!(
        (job.state, job.done, job.created),
        (ImportState::Running, 100, 100)
    );
    assert_eq!(user_count(&db), before + 100);
    // A crash after the first step: a new connection (a new process) goes on from row 102.
    let mut failures = 0;
    let steps = import::drain(&mut db.conn(), test_now(), &mut failures).unwrap();
    assert_eq!((steps, failures), (2, 0), "the rest, then the end");
    // Run again: nothing more.
    assert_eq!(
        import::drain(&mut db.conn(), test_now(), &mut failures).unwrap(),
        0
    );
    assert!(!import::step(&mut db.conn(), test_now(), id).unwrap());
    let job = summary(&db, id);
    assert_eq!(job.state, ImportState::Finished);
    assert_eq!((job.done, job.created, job.skipped()), (130, 130, 0));
    assert_eq!(user_count(&db), before + 130);
    assert_eq!(audit_count(&db, contoso, "Added user"), 130);
    assert_eq!(pool_counts(&db, contoso, SALES).2, 3);
    assert!(said(&db, id).iter().all(|(_, s)| s == "Created"));
    assert_eq!(job.passwords, Passwords::Ready(130));
}

#[test]
fn seats_taken_since_the_preview_are_not_given_twice_and_the_row_says_so() {
    let db = TestDb::with_demo();
    let (contoso, _) = tenants(&db);
    let file: Vec<(String, String)> = (0..6)
        .map(|i| (format!("Late {i}"), format!("late{i}@contoso.example")))
        .collect();
    let file: Vec<(&str, &str, &str)> = file
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str(), SALES))
        .collect();
    let id = preview(&db, "admin@contoso.example", &csv(&file)).unwrap();
    assert_eq!(summary(&db, id).will_create(), 6);
    // Meanwhile an admin gives one of the six seats to someone else.
    licenses::assign(
        &mut db.conn(),
        &actor(&db, "admin@contoso.example"),
        test_now(),
        contoso,
        licenses::PoolRef::Tenant(product_id(&db, SALES)),
        &[user_id(&db, "user20@contoso.example")],
    )
    .unwrap();
    start(&db, id);
    let mut failures = 0;
    import::drain(&mut db.conn(), test_now(), &mut failures).unwrap();
    let said = said(&db, id);
    assert_eq!(said.iter().filter(|(_, s)| s == "Created").count(), 5);
    assert_eq!(said[5].1, format!("Not enough licenses: {SALES}"));
    let (licenses, assigned, available) = pool_counts(&db, contoso, SALES);
    assert_eq!((assigned, available), (licenses, 0), "never over-assigned");
    // The sixth row made no user at all.
    let sixth: i64 = users_table::table
        .filter(users_table::email.eq("late5@contoso.example"))
        .count()
        .get_result(&mut db.conn())
        .unwrap();
    assert_eq!(sixth, 0);
}

#[test]
fn the_passwords_are_given_once_then_erased() {
    let db = TestDb::with_demo();
    let (contoso, _) = tenants(&db);
    let admin = actor(&db, "admin@contoso.example");
    let id = preview(
        &db,
        "admin@contoso.example",
        &csv(&[("Pia Once", "pia@contoso.example", ""), ("Bad", "bad", "")]),
    )
    .unwrap();
    let early = import::take_passwords(&mut db.conn(), &admin, test_now(), contoso, id);
    assert!(
        matches!(early, Err(DomainError::Conflict(_))),
        "not before it ran"
    );
    start(&db, id);
    import::drain(&mut db.conn(), test_now(), &mut 0).unwrap();
    let given = import::take_passwords(&mut db.conn(), &admin, test_now(), contoso, id).unwrap();
    assert_eq!(given.len(), 1);
    assert_eq!(given[0].0, "pia@contoso.example");
    assert_eq!(given[0].1.len(), 16);
    let kept: i64 = user_import_rows::table
        .filter(user_import_rows::password.is_not_null())
        .count()
        .get_result(&mut db.conn())
        .unwrap();
    assert_eq!(kept, 0, "erased from the database");
    let again = import::take_passwords(&mut db.conn(), &admin, test_now(), contoso, id);
    assert!(matches!(again, Err(DomainError::Conflict(m)) if m.contains("no longer kept")));
    assert!(matches!(
        summary(&db, id).passwords,
        Passwords::Downloaded(_)
    ));
    assert_eq!(
        audit_count(&db, contoso, "Downloaded imported users' passwords"),
        1
    );
}

#[test]
fn only_admins_who_may_add_users_import_and_only_in_their_own_tenant() {
    let db = TestDb::with_demo();
    let (contoso, _) = tenants(&db);
    let file = csv(&[("Role Test", "roletest@contoso.example", "")]);
    for who in ["licenses@contoso.example", "billing@contoso.example"] {
        assert!(
            matches!(preview(&db, who, &file), Err(DomainError::Forbidden)),
            "{who}"
        );
    }
    let id = preview(&db, "users@contoso.example", &file).unwrap();
    let licenses_admin = actor(&db, "licenses@contoso.example");
    assert!(matches!(
        import::summary(&mut db.conn(), &licenses_admin, contoso, id),
        Err(DomainError::Forbidden)
    ));
    // Fabrikam's admin: in their tenant, Contoso's import is not found.
    let fabrikam_admin = actor(&db, "admin@fabrikam.example");
    let fabrikam = fabrikam_admin.tenant().unwrap();
    assert!(matches!(
        import::summary(&mut db.conn(), &fabrikam_admin, fabrikam, id),
        Err(DomainError::NotFound)
    ));
    assert!(matches!(
        import::start(&mut db.conn(), &fabrikam_admin, test_now(), fabrikam, id),
        Err(DomainError::NotFound)
    ));
    assert!(matches!(
        import::take_passwords(&mut db.conn(), &fabrikam_admin, test_now(), fabrikam, id),
        Err(DomainError::NotFound)
    ));
    // The User admin's import runs as them.
    import::start(
        &mut db.conn(),
        &actor(&db, "users@contoso.example"),
        test_now(),
        contoso,
        id,
    )
    .unwrap();
    import::drain(&mut db.conn(), test_now(), &mut 0).unwrap();
    let created = users::list(
        &mut db.conn(),
        &actor(&db, "admin@contoso.example"),
        contoso,
        "roletest",
        users::UserFilter::All,
        users::UserSort::Name,
        None,
    )
    .unwrap();
    assert_eq!(created.rows.len(), 1);
    assert_eq!(summary(&db, id).counts, vec![(RowKind::Created, 1)]);
}

#[test]
fn an_import_whose_admin_was_blocked_since_imports_nothing_more_and_says_why() {
    let db = TestDb::with_demo();
    let (contoso, _) = tenants(&db);
    let user_admin = actor(&db, "users@contoso.example");
    let id = preview(
        &db,
        "users@contoso.example",
        &csv(&[("Too Late", "toolate@contoso.example", "")]),
    )
    .unwrap();
    import::start(&mut db.conn(), &user_admin, test_now(), contoso, id).unwrap();
    users::set_blocked(
        &mut db.conn(),
        &actor(&db, "admin@contoso.example"),
        test_now(),
        contoso,
        user_id(&db, "users@contoso.example"),
        true,
    )
    .unwrap();
    import::drain(&mut db.conn(), test_now(), &mut 0).unwrap();
    let job = summary(&db, id);
    assert_eq!(
        (job.state, job.created, job.done),
        (ImportState::Finished, 0, 1)
    );
    assert_eq!(
        said(&db, id),
        vec![(
            2,
            "Not imported: the admin who started the import can no longer add users".to_owned()
        )]
    );
    assert_eq!(job.passwords, Passwords::None);
}

#[test]
fn passwords_never_downloaded_are_erased_after_seven_days() {
    let db = TestDb::with_demo();
    let (contoso, _) = tenants(&db);
    let id = preview(
        &db,
        "admin@contoso.example",
        &csv(&[("Forgot Me", "forgot@contoso.example", "")]),
    )
    .unwrap();
    start(&db, id);
    import::drain(&mut db.conn(), test_now(), &mut 0).unwrap();
    assert_eq!(summary(&db, id).passwords, Passwords::Ready(1));
    let later = test_now() + import::PASSWORDS_KEPT + chrono::Duration::minutes(1);
    import::drain(&mut db.conn(), later, &mut 0).unwrap();
    assert!(matches!(summary(&db, id).passwords, Passwords::Expired(_)));
    let kept: i64 = user_import_rows::table
        .filter(user_import_rows::password.is_not_null())
        .count()
        .get_result(&mut db.conn())
        .unwrap();
    assert_eq!(kept, 0);
    let taken = import::take_passwords(
        &mut db.conn(),
        &actor(&db, "admin@contoso.example"),
        later,
        contoso,
        id,
    );
    assert!(matches!(taken, Err(DomainError::Conflict(m)) if m.contains("within 7 days")));
}
