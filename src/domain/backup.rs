//! Backups and restores of the whole database, for the operator at the command line
//! (`allot backup FILE`, `allot restore FILE`).
//!
//! "Consistent while running" means the copy is the database as one transaction saw it: every
//! change committed before the copy began is in it, none that committed after, and nothing half
//! done. On SQLite `VACUUM INTO` reads one snapshot and, in WAL mode, the server keeps writing
//! beside it. On PostgreSQL `pg_dump` reads one snapshot too; allot runs it rather than
//! reimplementing it, and leaves restoring to `pg_restore`.
//!
//! These take no actor: whoever can run the binary against the database file already holds all
//! of its data. Errors are one line for the terminal.

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

fn back_up_sqlite(database_url: &str, file: &Path, force: bool) -> Result<Backup, String> {
    let database = sqlite_path(database_url)?;
    if !database.is_file() {
        return Err(format!(
            "there is no database at {} to back up",
            database.display()
        ));
    }
    refuse_existing(file, force)?;
    if same_file(file, &database) {
        return Err(format!(
            "{} is the live database itself; name another file",
            file.display()
        ));
    }
    let temp = Partial::beside(file)?;
    let into = temp.path().to_str().ok_or_else(|| {
        format!(
            "{} is not a UTF-8 path; SQLite cannot write there",
            file.display()
        )
    })?;
    {
        let mut conn = open(database_url)?;
        // One read transaction: a snapshot of every commit so far, while writers go on in
        // the WAL. Bound as a parameter, so no quoting of the path is needed.
        diesel::sql_query("VACUUM INTO ?")
            .bind::<Text, _>(into)
            .execute(&mut conn)
            .map_err(|e| format!("cannot copy {}: {e}", database.display()))?;
    }
    sync_file(temp.path())?;
    let checked = check(temp.path(), file)?;
    temp.rename_to(file)?;
    sync_dir(file)?;
    Ok(Backup::Sqlite {
        database,
        file: file.to_owned(),
        bytes: size(file),
        tables: checked.tables,
    })
}

fn back_up_postgres(database_url: &str, file: &Path, force: bool) -> Result<Backup, String> {
    let Some(pg_dump) = on_path("pg_dump") else {
        return Err("pg_dump is not on PATH: install postgresql-client (your server's version or newer) and back up with pg_dump --format=custom, restore with pg_restore".into());
    };
    refuse_existing(file, force)?;
    let temp = Partial::beside(file)?;
    // The password goes in the environment, where other users' `ps` cannot read it.
    let (url, password) = without_password(database_url);
    let mut dump = Command::new(&pg_dump);
    dump.arg("--format=custom")
        .arg("--file")
        .arg(temp.path())
        .arg("--dbname")
        .arg(&url)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    if let Some(password) = password {
        dump.env("PGPASSWORD", password);
    }
    let output = dump
        .output()
        .map_err(|e| format!("cannot run {}: {e}", pg_dump.display()))?;
    if !output.status.success() {
        return Err(format!(
            "pg_dump failed: {}",
            last_line(&output.stderr).unwrap_or_else(|| output.status.to_string())
        ));
    }
    if size(temp.path()) == 0 {
        return Err("pg_dump wrote an empty file".into());
    }
    let entries = match on_path("pg_restore") {
        Some(pg_restore) => Some(list_archive(&pg_restore, temp.path())?),
        None => None,
    };
    sync_file(temp.path())?;
    temp.rename_to(file)?;
    sync_dir(file)?;
    Ok(Backup::PgDump {
        file: file.to_owned(),
        bytes: size(file),
        command: format!(
            "{} --format=custom --file {} {url}",
            pg_dump.display(),
            file.display()
        ),
        entries,
    })
}

/// How many entries `pg_restore --list` reads from an archive: proof it can be restored from.
fn list_archive(pg_restore: &Path, archive: &Path) -> Result<usize, String> {
    let output = Command::new(pg_restore)
        .arg("--list")
        .arg(archive)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run {}: {e}", pg_restore.display()))?;
    if !output.status.success() {
        return Err(format!(
            "pg_restore cannot read the archive pg_dump wrote: {}",
            last_line(&output.stderr).unwrap_or_else(|| output.status.to_string())
        ));
    }
    Ok(String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with(';'))
        .count())
}

/// What a check of a SQLite file found.
struct Checked {
    tables: Vec<TableRows>,
    migration: Option<String>,
}

#[derive(QueryableByName)]
struct IntegrityLine {
    #[diesel(sql_type = Text)]
    integrity_check: String,
}

#[derive(QueryableByName)]
struct TableName {
    #[diesel(sql_type = Text)]
    name: String,
}

#[derive(QueryableByName)]
struct RowCount {
    #[diesel(sql_type = BigInt)]
    row_count: i64,
}

#[derive(QueryableByName)]
struct Newest {
    #[diesel(sql_type = Nullable<Text>)]
    version: Option<String>,
}

/// Opens `path` (an existing file) and checks it is a sound SQLite database of allot;
/// `named` is how the operator knows it, for the messages.
fn check(path: &Path, named: &Path) -> Result<Checked, String> {
    let text = path
        .to_str()
        .ok_or_else(|| format!("{} is not a UTF-8 path", path.display()))?;
    let not_a_database = |e: diesel::result::Error| {
        format!("{} is not a sound SQLite database: {e}", named.display())
    };
    let checked = {
        let mut conn = open(text)?;
        let lines: Vec<IntegrityLine> = diesel::sql_query("PRAGMA integrity_check")
            .load(&mut conn)
            .map_err(not_a_database)?;
        let problems: Vec<String> = lines
            .into_iter()
            .map(|l| l.integrity_check)
            .filter(|l| l != "ok")
            .collect();
        if !problems.is_empty() {
            return Err(format!(
                "{} fails SQLite's integrity check: {}",
                named.display(),
                problems.join("; ")
            ));
        }
        let names: Vec<TableName> = diesel::sql_query(
            "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name",
        )
        .load(&mut conn)
        .map_err(not_a_database)?;
        if !names.iter().any(|t| t.name == MIGRATIONS_TABLE) {
            return Err(format!(
                "{} is a SQLite database but not one of allot (it has no {MIGRATIONS_TABLE} table)",
                named.display()
            ));
        }
        let mut tables = Vec::with_capacity(names.len());
        for TableName { name } in names {
            let count: RowCount = diesel::sql_query(format!(
                "SELECT count(*) AS row_count FROM \"{}\"",
                name.replace('"', "\"\"")
            ))
            .get_result(&mut conn)
            .map_err(not_a_database)?;
            tables.push(TableRows {
                table: name,
                rows: count.row_count,
            });
        }
        let newest: Newest = diesel::sql_query(format!(
            "SELECT max(version) AS version FROM {MIGRATIONS_TABLE}"
        ))
        .get_result(&mut conn)
        .map_err(not_a_database)?;
        Checked {
            tables,
            migration: newest.version,
        }
    };
    // A backup in WAL mode leaves these behind when opened; they are ours, not the backup's.
    for suffix in ["-wal", "-shm"] {
        let _ = fs::remove_file(sidecar(path, suffix));
    }
    Ok(checked)
}

/// Takes the live database for ourselves, or says who has it. allot always runs it in WAL
/// mode, and leaving WAL mode needs every other connection closed: SQLite refuses while any
/// connection that has read the file is open (a server's pool has, from its migrations on),
/// which is the honest test that no server runs on it. Leaving WAL also folds the log into
/// the old file, so no log of it is left to confuse the new one. The exclusive transaction
/// then keeps newcomers out until the caller drops the connection, after the rename. The old
/// database is being replaced, so changing its journal mode costs nothing.
fn take_exclusively(target: &Path) -> Result<SqliteConnection, String> {
    let text = target
        .to_str()
        .ok_or_else(|| format!("{} is not a UTF-8 path", target.display()))?;
    let mut conn = SqliteConnection::establish(text)
        .map_err(|e| format!("cannot open {}: {e}", target.display()))?;
    let taken = conn.batch_execute(
        "PRAGMA busy_timeout = 1000; PRAGMA journal_mode = DELETE; PRAGMA locking_mode = EXCLUSIVE; BEGIN EXCLUSIVE;",
    );
    match taken {
        Ok(()) => Ok(conn),
        Err(e) if is_busy(&e.to_string()) => Err(format!(
            "{} is in use by a running allot server or another program; stop it, then restore",
            target.display()
        )),
        Err(e) => Err(format!(
            "cannot take {} to replace it: {e}",
            target.display()
        )),
    }
}

fn is_busy(message: &str) -> bool {
    message.contains("database is locked") || message.contains("database is busy")
}

/// A connection to a SQLite file that waits for a writer instead of failing at once.
fn open(path: &str) -> Result<SqliteConnection, String> {
    let mut conn =
        SqliteConnection::establish(path).map_err(|e| format!("cannot open {path}: {e}"))?;
    conn.batch_execute("PRAGMA busy_timeout = 10000;")
        .map_err(|e| format!("cannot open {path}: {e}"))?;
    Ok(conn)
}

/// The file a SQLite `DATABASE_URL` names. A `file:` URI or `:memory:` is refused: backups
/// work on the file itself (its directory, its log files beside it).
fn sqlite_path(database_url: &str) -> Result<PathBuf, String> {
    if database_url.starts_with("file:") || database_url == ":memory:" || database_url.is_empty() {
        return Err(format!(
            "backups need DATABASE_URL to be a SQLite file path, not '{database_url}'"
        ));
    }
    Ok(PathBuf::from(database_url))
}

fn refuse_existing(file: &Path, force: bool) -> Result<(), String> {
    match fs::symlink_metadata(file) {
        Ok(m) if m.is_dir() => Err(format!("{} is a directory", file.display())),
        Ok(_) if !force => Err(format!(
            "{} exists; add --force to replace it",
            file.display()
        )),
        _ => Ok(()),
    }
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (fs::canonicalize(a), fs::canonicalize(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

/// `path` with `suffix` appended to its name, as SQLite names its log files.
fn sidecar(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

fn size(path: &Path) -> u64 {
    fs::metadata(path).map(|m| m.len()).unwrap_or(0)
}

/// A file being written under a temporary name beside its final one. Removed when dropped
/// unless renamed, so a failure leaves nothing; a crash leaves only this hidden name, never a
/// half-written file under the final one.
struct Partial {
    path: Option<PathBuf>,
}

impl Partial {
    fn beside(target: &Path) -> Result<Partial, String> {
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

    fn path(&self) -> &Path {
        self.path.as_deref().unwrap_or(Path::new(""))
    }

    fn rename_to(mut self, target: &Path) -> Result<(), String> {
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

fn sync_file(path: &Path) -> Result<(), String> {
    fs::File::open(path)
        .and_then(|f| f.sync_all())
        .map_err(|e| format!("cannot flush {} to disk: {e}", path.display()))
}

/// Makes a rename in the file's directory durable.
fn sync_dir(file: &Path) -> Result<(), String> {
    let dir = match file.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| format!("cannot flush {} to disk: {e}", dir.display()))
}

/// The first executable called `name` on PATH.
fn on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| is_executable(candidate))
}

fn is_executable(path: &Path) -> bool {
    match fs::metadata(path) {
        #[cfg(unix)]
        Ok(m) => {
            use std::os::unix::fs::PermissionsExt;
            m.is_file() && m.permissions().mode() & 0o111 != 0
        }
        #[cfg(not(unix))]
        Ok(m) => m.is_file(),
        Err(_) => false,
    }
}

/// Splits the password out of `postgres://user:password@host/db`, percent-decoded.
fn without_password(url: &str) -> (String, Option<String>) {
    let Some((scheme, rest)) = url.split_once("://") else {
        return (url.to_owned(), None);
    };
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let Some((userinfo, host)) = authority.rsplit_once('@') else {
        return (url.to_owned(), None);
    };
    let Some((user, password)) = userinfo.split_once(':') else {
        return (url.to_owned(), None);
    };
    (
        format!("{scheme}://{user}@{host}{tail}"),
        Some(percent_decode(password)),
    )
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
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
