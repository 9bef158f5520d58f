//! The database: one code path for SQLite and PostgreSQL, an r2d2 pool, embedded migrations.

use diesel::Connection;
use diesel::connection::SimpleConnection;
use diesel::pg::PgConnection;
use diesel::r2d2::{self, ManageConnection};
use diesel::sqlite::SqliteConnection;
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};
use std::time::Duration;

use super::DomainError;

#[derive(diesel::MultiConnection)]
pub enum DbConnection {
    Postgresql(PgConnection),
    Sqlite(SqliteConnection),
}

pub type Pool = r2d2::Pool<Manager>;
pub type PooledConnection = r2d2::PooledConnection<Manager>;

const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");

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
}

impl ManageConnection for Manager {
    type Connection = DbConnection;
    type Error = r2d2::Error;

    fn connect(&self) -> Result<DbConnection, r2d2::Error> {
        match self.backend {
            Backend::Postgres => PgConnection::establish(&self.url)
                .map(DbConnection::Postgresql)
                .map_err(r2d2::Error::ConnectionError),
            Backend::Sqlite => {
                let mut conn =
                    SqliteConnection::establish(&self.url).map_err(r2d2::Error::ConnectionError)?;
                // The busy timeout makes a second writer wait for the first instead of failing.
                // (WAL, which lets readers run beside the writer, is set once in `connect`.)
                conn.batch_execute(
                    "PRAGMA busy_timeout = 10000; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;",
                )
                .map_err(r2d2::Error::QueryError)?;
                Ok(DbConnection::Sqlite(conn))
            }
        }
    }

    fn is_valid(&self, conn: &mut DbConnection) -> Result<(), r2d2::Error> {
        conn.batch_execute("SELECT 1")
            .map_err(r2d2::Error::QueryError)
    }

    fn has_broken(&self, _conn: &mut DbConnection) -> bool {
        false
    }
}

/// Builds the pool and brings the schema up to date.
pub fn connect(url: &str, max_size: u32) -> Result<Pool, String> {
    let backend = Backend::of_url(url);
    let manager = Manager {
        url: url.to_owned(),
        backend,
    };
    if backend == Backend::Sqlite {
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
        .min_idle(Some(2))
        .connection_timeout(Duration::from_secs(10))
        .build(manager)
        .map_err(|e| format!("cannot open the database: {e}"))?;
    let mut conn = pool
        .get()
        .map_err(|e| format!("cannot open the database: {e}"))?;
    migrate(&mut conn).map_err(|e| format!("cannot migrate the database: {e}"))?;
    Ok(pool)
}

/// Runs the pending migrations of this connection's backend.
pub fn migrate(conn: &mut DbConnection) -> Result<(), String> {
    let result = match conn {
        DbConnection::Postgresql(c) => c.run_pending_migrations(POSTGRES_MIGRATIONS).map(|_| ()),
        DbConnection::Sqlite(c) => c.run_pending_migrations(SQLITE_MIGRATIONS).map(|_| ()),
    };
    result.map_err(|e| e.to_string())
}

pub fn backend(conn: &DbConnection) -> Backend {
    match conn {
        DbConnection::Postgresql(_) => Backend::Postgres,
        DbConnection::Sqlite(_) => Backend::Sqlite,
    }
}

/// Runs `f` in one transaction. On SQLite a transaction that read before it wrote can find
/// another writer got in first (SQLITE_BUSY); it is rolled back and run again, a few times.
pub fn transaction<T>(
    conn: &mut DbConnection,
    mut f: impl FnMut(&mut DbConnection) -> Result<T, DomainError>,
) -> Result<T, DomainError> {
    let mut attempt = 0;
    loop {
        attempt += 1;
        match conn.transaction(|c| f(c)) {
            Err(DomainError::Storage(message))
                if attempt < 8 && backend(conn) == Backend::Sqlite && is_busy(&message) =>
            {
                std::thread::sleep(Duration::from_millis(5 * attempt));
            }
            other => return other,
        }
    }
}

fn is_busy(message: &str) -> bool {
    message.contains("database is locked") || message.contains("database is busy")
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
