//! SQLite: a consistent copy with `VACUUM INTO`, checked, and a restore only when no server holds the database.

use super::*;

pub(super) fn back_up_sqlite(
    database_url: &str,
    file: &Path,
    force: bool,
) -> Result<Backup, String> {
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

/// What a check of a SQLite file found.
pub(super) struct Checked {
    pub(super) tables: Vec<TableRows>,
    pub(super) migration: Option<String>,
}

#[derive(QueryableByName)]
pub(super) struct IntegrityLine {
    #[diesel(sql_type = Text)]
    integrity_check: String,
}

#[derive(QueryableByName)]
pub(super) struct TableName {
    #[diesel(sql_type = Text)]
    name: String,
}

#[derive(QueryableByName)]
pub(super) struct RowCount {
    #[diesel(sql_type = BigInt)]
    row_count: i64,
}

#[derive(QueryableByName)]
pub(super) struct Newest {
    #[diesel(sql_type = Nullable<Text>)]
    version: Option<String>,
}

/// Opens `path` (an existing file) and checks it is a sound SQLite database of allot;
/// `named` is how the operator knows it, for the messages.
pub(super) fn check(path: &Path, named: &Path) -> Result<Checked, String> {
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
pub(super) fn take_exclusively(target: &Path) -> Result<SqliteConnection, String> {
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

pub(super) fn is_busy(message: &str) -> bool {
    message.contains("database is locked") || message.contains("database is busy")
}

/// A connection to a SQLite file that waits for a writer instead of failing at once.
pub(super) fn open(path: &str) -> Result<SqliteConnection, String> {
    let mut conn =
        SqliteConnection::establish(path).map_err(|e| format!("cannot open {path}: {e}"))?;
    conn.batch_execute("PRAGMA busy_timeout = 10000;")
        .map_err(|e| format!("cannot open {path}: {e}"))?;
    Ok(conn)
}

/// The file a SQLite `DATABASE_URL` names. A `file:` URI or `:memory:` is refused: backups
/// work on the file itself (its directory, its log files beside it).
pub(super) fn sqlite_path(database_url: &str) -> Result<PathBuf, String> {
    if database_url.starts_with("file:") || database_url == ":memory:" || database_url.is_empty() {
        return Err(format!(
            "backups need DATABASE_URL to be a SQLite file path, not '{database_url}'"
        ));
    }
    Ok(PathBuf::from(database_url))
}
