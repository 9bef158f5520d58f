//! PostgreSQL: `pg_dump` does the copy; allot finds it, keeps the password off the command line, and checks the archive.

use super::*;

pub(super) fn back_up_postgres(
    database_url: &str,
    file: &Path,
    force: bool,
) -> Result<Backup, String> {
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
pub(super) fn list_archive(pg_restore: &Path, archive: &Path) -> Result<usize, String> {
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

/// The first executable called `name` on PATH.
pub(super) fn on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| is_executable(candidate))
}

pub(super) fn is_executable(path: &Path) -> bool {
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
pub(super) fn without_password(url: &str) -> (String, Option<String>) {
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

pub(super) fn percent_decode(text: &str) -> String {
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
