//! The database: one code path for SQLite and PostgreSQL, an r2d2 pool, embedded migrations.

use diesel::Connection;
use diesel::RunQueryDsl;
use diesel::connection::{SimpleConnection, TransactionManager};
use diesel::pg::PgConnection;
use diesel::r2d2::{self, ManageConnection};
use diesel::sqlite::SqliteConnection;
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};
use std::cell::Cell;
use std::time::{Duration, Instant};

use super::DomainError;

#[derive(diesel::MultiConnection)]
pub enum DbConnection {
    Postgresql(PgConnection),
    Sqlite(SqliteConnection),
}

thread_local! {
    /// SQL statements the connections used on this thread have started (`counting_statements`).
    static STATEMENTS: Cell<u64> = const { Cell::new(0) };
}

/// What every connection of the pool watches in the statements it runs: it counts them, so a
/// request can say how many it ran (issue 17: few, and the same whatever the tenant's size),
/// and it logs one slower than `slow` with its SQL, where work proportional to a tenant's size
/// shows first.
struct StatementWatch {
    slow: Option<Duration>,
    started: Option<Instant>,
    /// A statement failed because the connection was lost: the pool drops the connection.
    lost: bool,
}

impl StatementWatch {
    fn of(conn: &mut DbConnection) -> Option<&mut StatementWatch> {
        let instrumentation = match conn {
            DbConnection::Postgresql(c) => c.instrumentation(),
            DbConnection::Sqlite(c) => c.instrumentation(),
        };
        instrumentation.downcast_mut::<StatementWatch>()
    }
}

impl diesel::connection::Instrumentation for StatementWatch {
    fn on_connection_event(&mut self, event: diesel::connection::InstrumentationEvent<'_>) {
        use diesel::connection::InstrumentationEvent as Event;
        match event {
            Event::StartQuery { .. } => {
                STATEMENTS.with(|n| n.set(n.get() + 1));
                self.started = Some(Instant::now());
            }
            Event::FinishQuery { query, error, .. } => {
                use diesel::result::{DatabaseErrorKind, Error};
                if let Some(Error::DatabaseError(
                    DatabaseErrorKind::ClosedConnection | DatabaseErrorKind::UnableToSendCommand,
                    _,
                )) = error
                {
                    self.lost = true;
                }
                let (Some(slow), Some(started)) = (self.slow, self.started.take()) else {
                    return;
                };
                let took = started.elapsed();
                if took >= slow {
                    // The SQL without its values (which may be personal data), cut short: a
                    // bulk statement's IN list runs to thousands of placeholders.
                    let text = query.to_string();
                    let sql = text.split(" -- binds:").next().unwrap_or_default();
                    let sql: String = sql.chars().take(400).collect();
                    tracing::warn!(ms = took.as_millis() as u64, sql = %sql, "slow statement");
                }
            }
            _ => {}
        }
    }
}

/// Runs `f` and says how many SQL statements it started on this thread, the pool's check of a
/// connection it hands out included.
pub fn counting_statements<T>(f: impl FnOnce() -> T) -> (T, u64) {
    let before = STATEMENTS.with(Cell::get);
    let value = f();
    (value, STATEMENTS.with(Cell::get) - before)
}

pub type Pool = r2d2::Pool<Manager>;
pub type PooledConnection = r2d2::PooledConnection<Manager>;

pub(crate) const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
pub(crate) const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");

/// Which database a URL names: `postgres://…` (or `postgresql://…`) is PostgreSQL,
/// anything else a SQLite file path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn of_url(url: &str) -> Backend {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Backend::Postgres
        } else {
            Backend::Sqlite
        }
    }
}

/// Opens connections of the backend the URL names. Chosen explicitly rather than by trying
/// each backend in turn, so a typo in a PostgreSQL URL never becomes a SQLite file.
#[derive(Debug, Clone)]
pub struct Manager {
    url: String,
    backend: Backend,
    /// PostgreSQL's `statement_timeout` for each connection; 0 for none.
    statement_timeout_ms: u64,
    /// Statements that take this long are logged; 0 for none.
    slow_statement_ms: u64,
}

impl Manager {
    fn watch(&self) -> StatementWatch {
        StatementWatch {
            slow: (self.slow_statement_ms > 0)
                .then(|| Duration::from_millis(self.slow_statement_ms)),
            started: None,
            lost: false,
        }
    }
}

impl ManageConnection for Manager {
    type Connection = DbConnection;
    type Error = r2d2::Error;

    fn connect(&self) -> Result<DbConnection, r2d2::Error> {
        match self.backend {
            Backend::Postgres => {
                let mut conn =
                    PgConnection::establish(&self.url).map_err(r2d2::Error::ConnectionError)?;
                if self.statement_timeout_ms > 0 {
                    conn.batch_execute(&format!(
                        "SET statement_timeout = {}",
                        self.statement_timeout_ms
                    ))
                    .map_err(r2d2::Error::QueryError)?;
                }
                conn.set_instrumentation(self.watch());
                Ok(DbConnection::Postgresql(conn))
            }
            Backend::Sqlite => {
                let mut conn =
                    SqliteConnection::establish(&self.url).map_err(r2d2::Error::ConnectionError)?;
                // The busy timeout makes a second writer wait for the first instead of failing.
                // (WAL, which lets readers run beside the writer, is set once in `connect`.)
                conn.batch_execute(
                    "PRAGMA busy_timeout = 10000; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;",
                )
                .map_err(r2d2::Error::QueryError)?;
                conn.set_instrumentation(self.watch());
                Ok(DbConnection::Sqlite(conn))
            }
        }
    }

    /// A SQLite connection is an open file: nothing to test. A PostgreSQL one is tested with
    /// `SELECT 1`, so one left stale by a restart of the server is replaced before a request
    /// uses it (the cluster test restarts PostgreSQL under load).
    fn is_valid(&self, conn: &mut DbConnection) -> Result<(), r2d2::Error> {
        match conn {
            DbConnection::Sqlite(_) => Ok(()),
            DbConnection::Postgresql(c) => {
                c.batch_execute("SELECT 1").map_err(r2d2::Error::QueryError)
            }
        }
    }

    /// Broken when a statement lost the connection or a transaction could not be ended
    /// (diesel's own test); the pool then opens a new one instead.
    fn has_broken(&self, conn: &mut DbConnection) -> bool {
        let lost = StatementWatch::of(conn).is_some_and(|watch| watch.lost);
        lost || match conn {
            DbConnection::Postgresql(c) => diesel::r2d2::R2D2Connection::is_broken(c),
            DbConnection::Sqlite(c) => diesel::r2d2::R2D2Connection::is_broken(c),
        }
    }
}

/// Builds the pool and brings the schema up to date.
pub fn connect(url: &str, max_size: u32) -> Result<Pool, String> {
    connect_tuned(url, max_size, 0, 0)
}

/// `connect`, with PostgreSQL cancelling a statement that runs longer than
/// `statement_timeout_ms`, and a warning logged for each that takes `slow_statement_ms` or
/// longer (0: never).
pub fn connect_tuned(
    url: &str,
    max_size: u32,
    statement_timeout_ms: u64,
    slow_statement_ms: u64,
) -> Result<Pool, String> {
    let backend = Backend::of_url(url);
    let manager = Manager {
        url: url.to_owned(),
        backend,
        statement_timeout_ms,
        slow_statement_ms,
    };
    if backend == Backend::Sqlite {
        sqlite_process_options();
        // WAL is a property of the file: set it once, before the pool opens connections.
        let mut first = manager
            .connect()
            .map_err(|e| format!("cannot open the database: {e}"))?;
        first
            .batch_execute("PRAGMA journal_mode = WAL;")
            .map_err(|e| format!("cannot switch the database to WAL mode: {e}"))?;
    }
    let pool = r2d2::Pool::builder()
        .max_size(max_size)
        .min_idle(Some(2.min(max_size)))
        .connection_timeout(Duration::from_secs(10))
        .build(manager)
        .map_err(|e| format!("cannot open the database: {e}"))?;
    let mut conn = pool
        .get()
        .map_err(|e| format!("cannot open the database: {e}"))?;
    migrate(&mut conn).map_err(|e| format!("cannot migrate the database: {e}"))?;
    Ok(pool)
}

/// Sets two process-wide SQLite options, once, before its first connection (a profile of the
/// Licenses and Active users pages at 1M users and 8 clients found both):
/// - its count of the memory it holds is off: with it on, every allocation of every connection
///   takes one process-wide mutex, and the threads queued on it. Nothing here reads the count.
/// - every connection it opens has the query planner stability guarantee (QPSG): without it,
///   a statement whose `LIMIT ?` the planner read is prepared again each time a value is bound
///   to it, and diesel binds every LIMIT, so its statement cache saved nothing for them.
///
/// SQLite refuses the first once initialised (a second pool in one process): the count then
/// stays on, which only costs speed.
fn sqlite_process_options() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // SAFETY: SQLITE_CONFIG_MEMSTATUS takes one int; SQLite answers SQLITE_MISUSE rather
        // than misbehave when it is called too late. The auto extension is a plain function
        // with the signature SQLite calls it with.
        unsafe {
            let _ = libsqlite3_sys::sqlite3_config(
                libsqlite3_sys::SQLITE_CONFIG_MEMSTATUS,
                0 as std::ffi::c_int,
            );
            libsqlite3_sys::sqlite3_auto_extension(Some(stable_plans));
        }
    });
}

/// Run by SQLite on each connection it opens: turns on the query planner stability guarantee.
unsafe extern "C" fn stable_plans(
    db: *mut libsqlite3_sys::sqlite3,
    _error: *mut *mut std::ffi::c_char,
    _api: *const libsqlite3_sys::sqlite3_api_routines,
) -> std::ffi::c_int {
    // SAFETY: `db` is the connection being opened; ENABLE_QPSG takes an int and an int pointer
    // (null: the old value is not wanted).
    unsafe {
        libsqlite3_sys::sqlite3_db_config(
            db,
            libsqlite3_sys::SQLITE_DBCONFIG_ENABLE_QPSG,
            1 as std::ffi::c_int,
            std::ptr::null_mut::<std::ffi::c_int>(),
        )
    }
}

/// The key of PostgreSQL's advisory lock held while migrating.
const MIGRATION_LOCK: i64 = 7_307_002;

/// Runs the pending migrations of this connection's backend. On PostgreSQL several processes
/// may start at once (a fleet after an upgrade): each waits for a session-level advisory lock,
/// so one migrates and the others then find nothing pending. SQLite's file has one writer.
pub fn migrate(conn: &mut DbConnection) -> Result<(), String> {
    match conn {
        DbConnection::Postgresql(c) => {
            diesel::sql_query("SELECT pg_advisory_lock($1)")
                .bind::<diesel::sql_types::BigInt, _>(MIGRATION_LOCK)
                .execute(c)
                .map_err(|e| e.to_string())?;
            let result = c.run_pending_migrations(POSTGRES_MIGRATIONS).map(|_| ());
            let unlocked = diesel::sql_query("SELECT pg_advisory_unlock($1)")
                .bind::<diesel::sql_types::BigInt, _>(MIGRATION_LOCK)
                .execute(c);
            result.map_err(|e| e.to_string())?;
            unlocked.map(|_| ()).map_err(|e| e.to_string())
        }
        DbConnection::Sqlite(c) => c
            .run_pending_migrations(SQLITE_MIGRATIONS)
            .map(|_| ())
            .map_err(|e| e.to_string()),
    }
}

pub fn backend(conn: &DbConnection) -> Backend {
    match conn {
        DbConnection::Postgresql(_) => Backend::Postgres,
        DbConnection::Sqlite(_) => Backend::Sqlite,
    }
}

/// Runs `f` in one transaction. When the database is busy (on SQLite a transaction that read
/// before it wrote can find another writer got in first; on PostgreSQL a serialization failure
/// or lock timeout) it is rolled back and run again, a few times. Only the outermost
/// transaction retries: a nested one is a savepoint of a transaction that has already failed.
///
/// `f` may run more than once, so it must not do anything the database cannot roll back,
/// such as charging a card: see `billing::pay`.
pub fn transaction<T>(
    conn: &mut DbConnection,
    mut f: impl FnMut(&mut DbConnection) -> Result<T, DomainError>,
) -> Result<T, DomainError> {
    let outermost = in_transaction(conn) == Some(false);
    let mut attempt = 0;
    loop {
        attempt += 1;
        match conn.transaction(|c| f(c)) {
            Err(DomainError::Busy) if outermost && attempt < ATTEMPTS => {
                std::thread::sleep(Duration::from_millis(5 * attempt));
            }
            other => return other,
        }
    }
}

/// How many times `transaction` runs a closure that keeps finding the database busy.
pub const ATTEMPTS: u64 = 8;

/// Whether a transaction is open on the connection (None when diesel cannot tell: broken).
pub fn in_transaction(conn: &mut DbConnection) -> Option<bool> {
    <DbConnection as Connection>::TransactionManager::transaction_manager_status_mut(conn)
        .transaction_depth()
        .ok()
        .map(|depth| depth.is_some())
}

/// Whether an error means "the database is busy, try again", decided by its kind:
/// PostgreSQL's serialization failure is a diesel kind; SQLite's SQLITE_BUSY and SQLITE_LOCKED
/// reach us only as their message, which for these codes is the code's own text
/// (`sqlite3_errstr`), so it is compared whole with that text, never searched.
/// PostgreSQL's lock timeout (55P03) and deadlock (40P01) have no diesel kind and are known by
/// their server messages.
pub fn is_busy(e: &diesel::result::Error) -> bool {
    use diesel::result::{DatabaseErrorKind, Error};
    match e {
        Error::DatabaseError(DatabaseErrorKind::SerializationFailure, _) => true,
        Error::DatabaseError(DatabaseErrorKind::Unknown, info) => {
            let message = info.message();
            SQLITE_BUSY_TEXTS.iter().any(|text| message == text)
                || message == "canceling statement due to lock timeout"
                || message == "deadlock detected"
        }
        Error::RollbackErrorOnCommit { commit_error, .. } => is_busy(commit_error),
        _ => false,
    }
}

static SQLITE_BUSY_TEXTS: std::sync::LazyLock<[String; 2]> = std::sync::LazyLock::new(|| {
    [
        sqlite_code_text(libsqlite3_sys::SQLITE_BUSY),
        sqlite_code_text(libsqlite3_sys::SQLITE_LOCKED),
    ]
});

fn sqlite_code_text(code: std::ffi::c_int) -> String {
    // SAFETY: sqlite3_errstr returns a pointer to a static NUL-terminated string for any code.
    unsafe { std::ffi::CStr::from_ptr(libsqlite3_sys::sqlite3_errstr(code)) }
        .to_string_lossy()
        .into_owned()
}

/// The key of PostgreSQL's advisory lock that the scheduled jobs hold.
const JOB_LOCK: i64 = 7_307_001;

#[derive(diesel::QueryableByName)]
struct Locked {
    #[diesel(sql_type = diesel::sql_types::Bool)]
    locked: bool,
}

/// Runs `f` while holding the scheduled jobs' lock, or returns None at once when another
/// process holds it. On PostgreSQL it is a session-level advisory lock
/// (`pg_try_advisory_lock`), held across `f`'s many small transactions and released even when
/// `f` fails or panics; on SQLite there is none to take (one writer at a time, and each job's
/// steps are conditional updates, so a second concurrent run does nothing twice).
pub fn with_job_lock<T>(
    conn: &mut DbConnection,
    f: impl FnOnce(&mut DbConnection) -> Result<T, DomainError>,
) -> Result<Option<T>, DomainError> {
    if !try_job_lock(conn)? {
        return Ok(None);
    }
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(conn)));
    let unlocked = unlock_jobs(conn);
    match result {
        Ok(result) => {
            let value = result?;
            unlocked?;
            Ok(Some(value))
        }
        Err(panic) => std::panic::resume_unwind(panic),
    }
}

/// Takes the scheduled jobs' advisory lock on PostgreSQL for this session; true when taken (or
/// on SQLite, which has none).
pub fn try_job_lock(conn: &mut DbConnection) -> Result<bool, DomainError> {
    match conn {
        DbConnection::Postgresql(pg) => {
            let lock: Locked = diesel::sql_query("SELECT pg_try_advisory_lock($1) AS locked")
                .bind::<diesel::sql_types::BigInt, _>(JOB_LOCK)
                .get_result(pg)?;
            Ok(lock.locked)
        }
        DbConnection::Sqlite(_) => Ok(true),
    }
}

/// Releases what `try_job_lock` took.
pub fn unlock_jobs(conn: &mut DbConnection) -> Result<(), DomainError> {
    if let DbConnection::Postgresql(pg) = conn {
        diesel::sql_query("SELECT pg_advisory_unlock($1) AS locked")
            .bind::<diesel::sql_types::BigInt, _>(JOB_LOCK)
            .get_result::<Locked>(pg)?;
    }
    Ok(())
}

/// One step of a scheduled job (one subscription, one purge, one provisioning) has run in its
/// own transaction: its value, or None when it failed. A failure is logged with the job and
/// the item's id and counted in `failures`, and the job goes on with its next item.
pub fn keep_going<T>(
    failures: &mut usize,
    job: &str,
    id: i64,
    result: Result<T, DomainError>,
) -> Option<T> {
    match result {
        Ok(value) => Some(value),
        Err(e) => {
            *failures += 1;
            tracing::warn!(job, id, error = ?e, "a scheduled step failed; the others go on");
            None
        }
    }
}

/// The versions of the migrations this build carries for `backend`, oldest first
/// (diesel's `__diesel_schema_migrations.version`, e.g. `20261125000001`).
pub fn migration_versions(backend: Backend) -> Result<Vec<String>, String> {
    use diesel::migration::MigrationSource;
    let versions = match backend {
        Backend::Postgres => MigrationSource::<diesel::pg::Pg>::migrations(&POSTGRES_MIGRATIONS)
            .map(|ms| ms.iter().map(|m| m.name().version().to_string()).collect()),
        Backend::Sqlite => {
            MigrationSource::<diesel::sqlite::Sqlite>::migrations(&SQLITE_MIGRATIONS)
                .map(|ms| ms.iter().map(|m| m.name().version().to_string()).collect())
        }
    };
    let mut versions: Vec<String> = versions.map_err(|e| e.to_string())?;
    versions.sort();
    Ok(versions)
}

/// Whether every migration this build knows of is applied (`/readyz`).
pub fn migrations_applied(conn: &mut DbConnection) -> Result<bool, String> {
    let pending = match conn {
        DbConnection::Postgresql(c) => c.has_pending_migration(POSTGRES_MIGRATIONS),
        DbConnection::Sqlite(c) => c.has_pending_migration(SQLITE_MIGRATIONS),
    };
    pending.map(|p| !p).map_err(|e| e.to_string())
}

/// Checks that the database answers.
pub fn ping(conn: &mut DbConnection) -> Result<(), DomainError> {
    conn.batch_execute("SELECT 1")?;
    Ok(())
}

/// Inserts many rows in one statement. diesel builds multi-row INSERTs per backend, not for
/// the MultiConnection as a whole, so this picks the backend's connection (same transaction).
macro_rules! insert_batch {
    ($conn:expr, $table:expr, $rows:expr) => {
        match $conn {
            $crate::domain::db::DbConnection::Sqlite(c) => {
                diesel::insert_into($table).values($rows).execute(c)
            }
            $crate::domain::db::DbConnection::Postgresql(c) => {
                diesel::insert_into($table).values($rows).execute(c)
            }
        }
    };
}
pub(crate) use insert_batch;
