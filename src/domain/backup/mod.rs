//! Backups and restores of the whole database, for the operator at the command line
//! (`allot backup FILE`, `allot restore FILE`), and the move of a SQLite installation to
//! PostgreSQL (`allot migrate-to URL`).
//!
//! "Consistent while running" means the copy is the database as one transaction saw it: every
//! change committed before the copy began is in it, none that committed after, and nothing half
//! done. On SQLite `VACUUM INTO` reads one snapshot and, in WAL mode, the server keeps writing
//! beside it. On PostgreSQL `pg_dump` reads one snapshot too; allot runs it rather than
//! reimplementing it, and leaves restoring to `pg_restore`.
//!
//! These take no actor: whoever can run the binary against the database file already holds all
//! of its data. Errors are one line for the terminal.

mod migrate_to;
mod postgres;
mod sqlite;

pub use migrate_to::{Migrated, copy_order, migrate_to};
use postgres::*;
use sqlite::*;

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable, Text};
use diesel::sqlite::SqliteConnection;
use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::db::Backend;

/// diesel's record of the migrations run; a file without it is not a database of allot.
const MIGRATIONS_TABLE: &str = "__diesel_schema_migrations";

/// A backup that was written and checked.
#[derive(Debug)]
pub enum Backup {
    /// A SQLite copy that passed `PRAGMA integrity_check`, with its tables' row counts.
    Sqlite {
        database: PathBuf,
        file: PathBuf,
        bytes: u64,
        tables: Vec<TableRows>,
    },
    /// A `pg_dump` archive in its custom format. `entries` is what `pg_restore --list` read
    /// back from it, when pg_restore is there to ask.
    PgDump {
        file: PathBuf,
        bytes: u64,
        command: String,
        entries: Option<usize>,
    },
}

/// A SQLite database put in place from a backup.
#[derive(Debug)]
pub struct Restored {
    pub database: PathBuf,
    pub bytes: u64,
    pub tables: Vec<TableRows>,
    /// The newest migration the backup had run; newer ones run when allot next starts.
    pub migration: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableRows {
    pub table: String,
    pub rows: i64,
}

/// Writes a consistent copy of the live database to `file`, while the server may be running.
/// Refuses when `file` exists unless `force`. The copy is written under a temporary name in the
/// same directory and renamed when complete and checked, so `file` is never half written.
pub fn back_up(database_url: &str, file: &Path, force: bool) -> Result<Backup, String> {
    match Backend::of_url(database_url) {
        Backend::Sqlite => back_up_sqlite(database_url, file, force),
        Backend::Postgres => back_up_postgres(database_url, file, force),
    }
}

/// Replaces the live SQLite database with the backup in `file`, after checking it is a sound
/// database of allot. An existing database is replaced only with `force`, and never while a
/// server or another program has it open. Migrations the backup lacks run on the next start.
pub fn restore(database_url: &str, file: &Path, force: bool) -> Result<Restored, String> {
    if Backend::of_url(database_url) == Backend::Postgres {
        return Err(format!(
            "allot restore works on SQLite only; for PostgreSQL stop the server and run pg_restore --clean --if-exists --no-owner --dbname \"$DATABASE_URL\" {}",
            file.display()
        ));
    }
    let target = sqlite_path(database_url)?;
    let source = fs::metadata(file).map_err(|e| format!("cannot read {}: {e}", file.display()))?;
    if !source.is_file() {
        return Err(format!("{} is not a file", file.display()));
    }
    let target_exists = target.exists();
    if target_exists && same_file(file, &target) {
        return Err(format!(
            "{} is the live database itself, not a backup of it",
            file.display()
        ));
    }
    if target_exists && !force {
        return Err(format!(
            "{} already holds a database; restoring replaces it: stop the server and run allot restore --force {}",
            target.display(),
            file.display()
        ));
    }
    // A non-empty log beside the file holds commits the file alone lacks: a copy of a live
    // database, not a backup; restoring it would quietly lose them.
    let wal = sidecar(file, "-wal");
    if fs::metadata(&wal).is_ok_and(|m| m.len() > 0) {
        return Err(format!(
            "{} has a write-ahead log beside it ({}): it is a copy of a live database, so make a backup with allot backup instead",
            file.display(),
            wal.display()
        ));
    }

    // Check the very bytes that will go live: a copy next to the target, which leaves the
    // backup itself untouched and makes the final step a rename on one file system.
    let temp = Partial::beside(&target)?;
    fs::copy(file, temp.path()).map_err(|e| {
        format!(
            "cannot copy {} to {}: {e}",
            file.display(),
            temp.path().display()
        )
    })?;
    sync_file(temp.path())?;
    let checked = check(temp.path(), file)?;

    // Held until the rename is done, so that nobody opens the old file in between.
    let lock = if target_exists {
        Some(take_exclusively(&target)?)
    } else {
        None
    };
    temp.rename_to(&target)?;
    // Logs left beside the target belong to the old database; SQLite would apply them to the
    // new one on the next open.
    for suffix in ["-wal", "-shm", "-journal"] {
        let stale = sidecar(&target, suffix);
        match fs::remove_file(&stale) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(format!("cannot remove {}: {e}", stale.display())),
        }
    }
    sync_dir(&target)?;
    drop(lock);
    Ok(Restored {
        bytes: size(&target),
        database: target,
        tables: checked.tables,
        migration: checked.migration,
    })
}

// ---------------------------------------------------------------- files, written safely

pub(super) fn refuse_existing(file: &Path, force: bool) -> Result<(), String> {
    match fs::symlink_metadata(file) {
        Ok(m) if m.is_dir() => Err(format!("{} is a directory", file.display())),
        Ok(_) if !force => Err(format!(
            "{} exists; add --force to replace it",
            file.display()
        )),
        _ => Ok(()),
    }
}

pub(super) fn same_file(a: &Path, b: &Path) -> bool {
    match (fs::canonicalize(a), fs::canonicalize(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

/// `path` with `suffix` appended to its name, as SQLite names its log files.
pub(super) fn sidecar(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

pub(super) fn size(path: &Path) -> u64 {
    fs::metadata(path).map(|m| m.len()).unwrap_or(0)
}

/// A file being written under a temporary name beside its final one. Removed when dropped
/// unless renamed, so a failure leaves nothing; a crash leaves only this hidden name, never a
/// half-written file under the final one.
pub(super) struct Partial {
    path: Option<PathBuf>,
}

impl Partial {
    pub(super) fn beside(target: &Path) -> Result<Partial, String> {
        let name = target
            .file_name()
            .ok_or_else(|| format!("{} is not a file name", target.display()))?;
        let parent = match target.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        // Absolute, so SQLite can never take the name for a `file:` URI.
        let dir = fs::canonicalize(parent)
            .map_err(|e| format!("cannot write in {}: {e}", parent.display()))?;
        let mut temp = std::ffi::OsString::from(".");
        temp.push(name);
        temp.push(format!(
            ".partial-{}-{:08x}",
            std::process::id(),
            rand::random::<u32>()
        ));
        Ok(Partial {
            path: Some(dir.join(temp)),
        })
    }

    pub(super) fn path(&self) -> &Path {
        self.path.as_deref().unwrap_or(Path::new(""))
    }

    pub(super) fn rename_to(mut self, target: &Path) -> Result<(), String> {
        let path = self.path.take().unwrap_or_default();
        fs::rename(&path, target).map_err(|e| {
            let _ = fs::remove_file(&path);
            format!("cannot move the new file into {}: {e}", target.display())
        })
    }
}

impl Drop for Partial {
    fn drop(&mut self) {
        if let Some(path) = self.path.take() {
            for suffix in ["", "-wal", "-shm", "-journal"] {
                let _ = fs::remove_file(sidecar(&path, suffix));
            }
        }
    }
}

pub(super) fn sync_file(path: &Path) -> Result<(), String> {
    fs::File::open(path)
        .and_then(|f| f.sync_all())
        .map_err(|e| format!("cannot flush {} to disk: {e}", path.display()))
}

/// Makes a rename in the file's directory durable.
pub(super) fn sync_dir(file: &Path) -> Result<(), String> {
    let dir = match file.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| format!("cannot flush {} to disk: {e}", dir.display()))
}

fn last_line(bytes: &[u8]) -> Option<String> {
    String::from_utf8_lossy(bytes)
        .lines()
        .rev()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .map(str::to_owned)
}

/// 1234567 → "1.2 MB".
fn human(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["bytes", "KB", "MB", "GB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1000.0 && unit < UNITS.len() - 1 {
        value /= 1000.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} bytes")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

fn write_tables(f: &mut fmt::Formatter<'_>, tables: &[TableRows]) -> fmt::Result {
    let total: i64 = tables.iter().map(|t| t.rows).sum();
    write!(f, "{} tables, {total} rows", tables.len())?;
    for t in tables {
        write!(f, "\n  {:<32} {:>10}", t.table, t.rows)?;
    }
    Ok(())
}

impl fmt::Display for Backup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Backup::Sqlite {
                database,
                file,
                bytes,
                tables,
            } => {
                write!(
                    f,
                    "Backed up {} to {} ({}), a consistent snapshot; integrity check ok; ",
                    database.display(),
                    file.display(),
                    human(*bytes)
                )?;
                write_tables(f, tables)
            }
            Backup::PgDump {
                file,
                bytes,
                command,
                entries,
            } => {
                write!(
                    f,
                    "Ran {command}: wrote {} ({}), a consistent snapshot",
                    file.display(),
                    human(*bytes)
                )?;
                match entries {
                    Some(n) => write!(f, "; pg_restore --list reads {n} entries from it."),
                    None => write!(f, "; restore it with pg_restore."),
                }
            }
        }
    }
}

impl fmt::Display for Restored {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Restored {} ({}); integrity check ok; schema at migration {}; any newer migrations run when allot next starts; ",
            self.database.display(),
            human(self.bytes),
            self.migration.as_deref().unwrap_or("none"),
        )?;
        write_tables(f, &self.tables)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_password_leaves_the_url_decoded() {
        assert_eq!(
            without_password("postgres://allot:s%40cret:x@db.example:5432/allot?sslmode=require"),
            (
                "postgres://allot@db.example:5432/allot?sslmode=require".to_owned(),
                Some("s@cret:x".to_owned())
            )
        );
        assert_eq!(
            without_password("postgres://postgres@127.0.0.1/allot"),
            ("postgres://postgres@127.0.0.1/allot".to_owned(), None)
        );
        assert_eq!(
            without_password("postgresql://host/db"),
            ("postgresql://host/db".to_owned(), None)
        );
    }

    #[test]
    fn sizes_read_as_people_say_them() {
        assert_eq!(human(512), "512 bytes");
        assert_eq!(human(1_234_567), "1.2 MB");
    }
}
