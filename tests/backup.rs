//! Backups and restores as an operator runs them: `allot backup` while the database keeps
//! changing, `allot restore` into place, and the refusals that keep a live database safe.
//! The commands run as a subprocess of the built binary.

mod common;

use allot::domain::db::{self, Backend};
use allot::domain::licenses::{self, PoolRef};
use allot::domain::schema::{audit_log, users};
use allot::domain::{Actor, TenantId, audit, backup};
use common::*;
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

/// `allot ARGS` on the database at `database_url`, with its data directory in `dir`.
fn allot(database_url: &str, dir: &Path, args: &[&str]) -> Output {
    command(database_url, dir, args)
        .output()
        .expect("the allot binary runs")
}

fn command(database_url: &str, dir: &Path, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_allot"));
    command
        .args(args)
        .env("DATABASE_URL", database_url)
        .env("ALLOT_DATA_DIR", dir)
        .env(
            "ALLOT_SECRET_KEY",
            "a test key of at least thirty-two bytes",
        )
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null());
    command
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// The one line a refused command prints, after checking it failed with just that line.
fn refusal(output: &Output) -> String {
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(
        !output.status.success(),
        "expected a refusal, got success: {}",
        stdout(output)
    );
    assert_eq!(
        stderr.lines().count(),
        1,
        "one line on stderr, not: {stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    stderr.trim().to_owned()
}

fn succeeded(output: &Output) -> String {
    assert!(
        output.status.success(),
        "allot failed: {}{}",
        stdout(output),
        String::from_utf8_lossy(&output.stderr)
    );
    stdout(output)
}

fn path_text(path: &Path) -> &str {
    path.to_str().expect("a UTF-8 temp path")
}

fn sqlite_only() -> bool {
    // Restoring and copying a file are SQLite's; PostgreSQL has its own test below.
    backend() == Backend::Sqlite
}

/// The integrity check of a SQLite file, opened directly.
fn integrity(path: &Path) -> String {
    #[derive(QueryableByName)]
    struct Line {
        #[diesel(sql_type = diesel::sql_types::Text)]
        integrity_check: String,
    }
    let mut conn = SqliteConnection::establish(path_text(path)).unwrap();
    let lines: Vec<Line> = diesel::sql_query("PRAGMA integrity_check")
        .load(&mut conn)
        .unwrap();
    lines
        .into_iter()
        .map(|l| l.integrity_check)
        .collect::<Vec<_>>()
        .join("; ")
}

/// Every tenant's pools as kept, then as counted again from the assignments: equal when the
/// kept counts are true.
fn kept_and_counted(
    conn: &mut db::DbConnection,
    tenant: TenantId,
) -> (Vec<licenses::PoolSummary>, Vec<licenses::PoolSummary>) {
    let system = Actor::System("test");
    let kept = licenses::pools(conn, &system, tenant).unwrap();
    licenses::recount(conn, tenant).unwrap();
    let counted = licenses::pools(conn, &system, tenant).unwrap();
    (kept, counted)
}

#[test]
fn a_backup_taken_while_licenses_change_restores_every_earlier_row_with_true_counts() {
    if !sqlite_only() {
        return;
    }
    let db = TestDb::with_demo();
    let (contoso, fabrikam) = tenants(&db);
    let admin = actor(&db, "admin@contoso.example");
    // A bigger file, so that the copy takes long enough for the writer to commit during it.
    let filler: Vec<(String, String)> = (0..100_000)
        .map(|i| (format!("filler{i}"), "x".repeat(200)))
        .collect();
    audit::record_many(
        &mut db.conn(),
        &Actor::System("test"),
        test_now(),
        Some(contoso),
        "Filler",
        &filler,
    )
    .unwrap();

    // The writer assigns three licenses, takes them back and adds a user, over and over, each
    // change a transaction of its own, until told to stop.
    let premium = PoolRef::Tenant(product_id(&db, "Business Premium"));
    let movers = contoso_users(&db, 11, 13);
    let stop = Arc::new(AtomicBool::new(false));
    let changes = Arc::new(AtomicUsize::new(0));
    let writer = {
        let (pool, admin, stop, changes) = (
            db.pool.clone(),
            admin.clone(),
            stop.clone(),
            changes.clone(),
        );
        std::thread::spawn(move || -> Result<(), String> {
            let mut conn = pool.get().map_err(|e| e.to_string())?;
            let mut round = 0;
            while !stop.load(Ordering::SeqCst) {
                licenses::assign(&mut conn, &admin, test_now(), contoso, premium, &movers)
                    .map_err(|e| format!("assign: {e:?}"))?;
                changes.fetch_add(1, Ordering::SeqCst);
                licenses::unassign(&mut conn, &admin, test_now(), contoso, premium, &movers)
                    .map_err(|e| format!("unassign: {e:?}"))?;
                changes.fetch_add(1, Ordering::SeqCst);
                let new = allot::domain::users::NewUser {
                    display_name: format!("Writer {round}"),
                    email: format!("writer{round}@contoso.example"),
                    password: None,
                    products: vec![],
                };
                allot::domain::users::create(&mut conn, &admin, test_now(), contoso, &new)
                    .map_err(|e| format!("create: {e:?}"))?;
                changes.fetch_add(1, Ordering::SeqCst);
                round += 1;
            }
            Ok(())
        })
    };
    while changes.load(Ordering::SeqCst) < 9 {
        std::thread::sleep(Duration::from_millis(5));
    }

    // What exists when the backup starts must all be in it.
    let audit_ids: Vec<i64> = audit_log::table
        .select(audit_log::id)
        .load(&mut db.conn())
        .unwrap();
    let user_ids: Vec<i64> = users::table.select(users::id).load(&mut db.conn()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("allot-backup.db");
    let before = changes.load(Ordering::SeqCst);
    let backed_up = allot(&db.url, dir.path(), &["backup", path_text(&file)]);
    let during = changes.load(Ordering::SeqCst) - before;
    stop.store(true, Ordering::SeqCst);
    let written = writer.join().unwrap();
    let report = succeeded(&backed_up);
    assert_eq!(written, Ok(()), "the writer never waited in vain");
    assert!(
        during > 0,
        "the writer committed while the backup ran: {report}"
    );
    assert!(report.contains("integrity check ok"), "{report}");
    assert!(
        !std::fs::read_dir(dir.path()).unwrap().any(|e| e
            .unwrap()
            .file_name()
            .to_string_lossy()
            .contains("partial")),
        "no temporary file is left"
    );

    let restored = dir.path().join("restored.db");
    let report = succeeded(&allot(
        path_text(&restored),
        dir.path(),
        &["restore", path_text(&file)],
    ));
    assert!(report.contains("integrity check ok"), "{report}");
    assert_eq!(integrity(&restored), "ok");

    let pool = db::connect(path_text(&restored), 2).expect("the restored database opens");
    let mut conn = pool.get().unwrap();
    let restored_audit: std::collections::HashSet<i64> = audit_log::table
        .select(audit_log::id)
        .load(&mut conn)
        .unwrap()
        .into_iter()
        .collect();
    let missing = audit_ids
        .iter()
        .filter(|id| !restored_audit.contains(id))
        .count();
    assert_eq!(missing, 0, "every audit entry from before the backup");
    let restored_users: std::collections::HashSet<i64> = users::table
        .select(users::id)
        .load(&mut conn)
        .unwrap()
        .into_iter()
        .collect();
    assert!(
        user_ids.iter().all(|id| restored_users.contains(id)),
        "every user from before the backup"
    );
    for tenant in [contoso, fabrikam] {
        let (kept, counted) = kept_and_counted(&mut conn, tenant);
        assert_eq!(kept, counted, "the kept counts match the assignments");
    }
}

#[test]
fn backup_and_restore_replace_nothing_without_force() {
    if !sqlite_only() {
        return;
    }
    let db = TestDb::with_demo();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("it's a backup.db");
    let file = path_text(&file);
    succeeded(&allot(&db.url, dir.path(), &["backup", file]));

    let again = refusal(&allot(&db.url, dir.path(), &["backup", file]));
    assert!(again.contains("exists; add --force"), "{again}");
    succeeded(&allot(&db.url, dir.path(), &["backup", "--force", file]));

    // Over the live database, even a stopped one, only when asked to.
    drop(db.pool.clone());
    let over = refusal(&allot(&db.url, dir.path(), &["restore", file]));
    assert!(
        over.contains("already holds a database") && over.contains("--force"),
        "{over}"
    );
    assert_eq!(user_count(&db.url), 50, "the live database is as it was");
}

#[test]
fn restore_refuses_while_the_database_is_held_open() {
    if !sqlite_only() {
        return;
    }
    let db = TestDb::with_demo();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("backup.db");
    succeeded(&allot(&db.url, dir.path(), &["backup", path_text(&file)]));
    // The test's pool is the server's: the same `db::connect`, connections kept open.
    let _reading = db.conn();
    let refused = refusal(&allot(
        &db.url,
        dir.path(),
        &["restore", "--force", path_text(&file)],
    ));
    assert!(refused.contains("is in use"), "{refused}");
    // A writer in the middle of a transaction is refused too.
    let mut writer = db.conn();
    writer
        .transaction(|conn| {
            audit::record(
                conn,
                &Actor::System("test"),
                test_now(),
                None,
                "Held",
                "",
                "",
            )
            .unwrap();
            let refused = refusal(&allot(
                &db.url,
                dir.path(),
                &["restore", "--force", path_text(&file)],
            ));
            assert!(refused.contains("is in use"), "{refused}");
            Ok::<_, diesel::result::Error>(())
        })
        .unwrap();
}

#[test]
fn restore_waits_for_allot_serve_to_stop_then_replaces_the_database() {
    if !sqlite_only() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("backup.db");
    {
        let db = TestDb::with_demo();
        succeeded(&allot(&db.url, dir.path(), &["backup", path_text(&file)]));
    }
    // A new place needs no --force.
    let live = dir.path().join("live.db");
    let live_url = path_text(&live);
    succeeded(&allot(live_url, dir.path(), &["restore", path_text(&file)]));

    let mut server = command(live_url, dir.path(), &["serve", "--bind", "127.0.0.1:0"])
        .env("RUST_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("allot serve starts");
    let (ready, listening) = std::sync::mpsc::channel();
    let output = server.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(output).lines().map_while(Result::ok) {
            if line.contains("allot listens") {
                let _ = ready.send(());
            }
        }
    });
    let started = listening.recv_timeout(Duration::from_secs(60));
    let refused = started.map(|()| {
        refusal(&allot(
            live_url,
            dir.path(),
            &["restore", "--force", path_text(&file)],
        ))
    });
    server.kill().unwrap();
    server.wait().unwrap();
    let refused = refused.expect("the server said it listens");
    assert!(refused.contains("is in use"), "{refused}");

    // Stopped (killed, so its log files are left behind): the restore goes ahead and
    // leaves no stale log for the new file.
    let report = succeeded(&allot(
        live_url,
        dir.path(),
        &["restore", "--force", path_text(&file)],
    ));
    assert!(report.contains("Restored"), "{report}");
    for suffix in ["-wal", "-shm"] {
        let stale = PathBuf::from(format!("{live_url}{suffix}"));
        assert!(!stale.exists(), "{} is gone", stale.display());
    }
    assert_eq!(integrity(&live), "ok");
    assert_eq!(user_count(live_url), 50);
}

#[test]
fn restore_refuses_files_that_are_not_sound_databases_of_allot() {
    if !sqlite_only() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("allot.db");
    let target_url = path_text(&target);

    let text = dir.path().join("notes.txt");
    std::fs::write(
        &text,
        "not a database, but long enough to be read as one ".repeat(20),
    )
    .unwrap();
    let refused = refusal(&allot(
        target_url,
        dir.path(),
        &["restore", path_text(&text)],
    ));
    assert!(refused.contains("not a sound SQLite database"), "{refused}");

    let other = dir.path().join("other.db");
    SqliteConnection::establish(path_text(&other))
        .unwrap()
        .batch_execute("CREATE TABLE notes (body TEXT); INSERT INTO notes VALUES ('hi');")
        .unwrap();
    let refused = refusal(&allot(
        target_url,
        dir.path(),
        &["restore", path_text(&other)],
    ));
    assert!(refused.contains("not one of allot"), "{refused}");

    let missing = refusal(&allot(target_url, dir.path(), &["restore", "no-such.db"]));
    assert!(missing.contains("cannot read no-such.db"), "{missing}");

    assert!(!target.exists(), "nothing was put in place");
    let left: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.contains("partial"))
        .collect();
    assert!(left.is_empty(), "no temporary file is left: {left:?}");
}

#[test]
fn backup_on_postgres_runs_pg_dump_or_says_to_install_it() {
    if backend() != Backend::Postgres {
        return;
    }
    let db = TestDb::with_demo();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("allot.dump");
    let output = allot(&db.url, dir.path(), &["backup", path_text(&file)]);
    if on_path("pg_dump") {
        let report = succeeded(&output);
        assert!(report.contains("pg_dump --format=custom"), "{report}");
        assert!(std::fs::metadata(&file).unwrap().len() > 0);
        if on_path("pg_restore") {
            let listed = Command::new("pg_restore")
                .arg("--list")
                .arg(&file)
                .output()
                .unwrap();
            assert!(listed.status.success());
            assert!(stdout(&listed).contains("TABLE public users"));
        }
    } else {
        let refused = refusal(&output);
        assert!(refused.contains("install postgresql-client"), "{refused}");
    }

    // Without pg_dump on PATH, one line says what to install.
    let empty = tempfile::tempdir().unwrap();
    let refused = refusal(
        &command(&db.url, dir.path(), &["backup", path_text(&file)])
            .env("PATH", empty.path())
            .output()
            .unwrap(),
    );
    assert!(
        refused.contains("pg_dump is not on PATH: install postgresql-client"),
        "{refused}"
    );

    let restore = refusal(&allot(&db.url, dir.path(), &["restore", path_text(&file)]));
    assert!(restore.contains("pg_restore"), "{restore}");
}

#[test]
fn the_domain_backup_refuses_a_missing_database_in_one_line() {
    if !sqlite_only() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nothing-here.db");
    let err = backup::back_up(path_text(&missing), &dir.path().join("b.db"), false).unwrap_err();
    assert!(err.starts_with("there is no database at"), "{err}");
    assert!(!missing.exists(), "looking did not create it");
}

fn on_path(name: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join(name).is_file()))
}

/// How many users a SQLite file holds, opened on its own.
fn user_count(path: &str) -> i64 {
    let mut conn = SqliteConnection::establish(path).unwrap();
    users::table.count().get_result(&mut conn).unwrap()
}
