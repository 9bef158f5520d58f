//! Configuration from the environment. A bad value stops the start with one clear line.

use rand::RngCore;
use std::fs;
use std::io::Write;
use std::net::IpAddr;
use std::ops::RangeInclusive;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone)]
pub struct Config {
    pub database_url: String,
    pub data_dir: PathBuf,
    /// Key material for signing and encrypting session cookies (at least 32 bytes).
    pub secret_key: Vec<u8>,
    pub cookie_secure: bool,
    pub session_idle_minutes: i64,
    /// A session ends this long after sign-in, however active (`ALLOT_SESSION_MAX_HOURS`).
    pub session_max_hours: i64,
    pub smtp_url: Option<String>,
    pub smtp_from: String,
    /// The address people reach the server at, for links in emails (`ALLOT_PUBLIC_URL`).
    pub public_url: String,
    /// How long a volume licensing purchase order waits to be provisioned, in minutes (the
    /// seed's "up to 12 hours"; `ALLOT_PURCHASE_ORDER_MINUTES`).
    pub purchase_order_minutes: i64,
    /// Who charges cards (`ALLOT_PAYMENT_GATEWAY`).
    pub payment_gateway: GatewayChoice,
    /// Database connections this process keeps at most (`ALLOT_DB_POOL_SIZE`).
    pub pool_size: u32,
    /// PostgreSQL: a statement running longer is cancelled (`ALLOT_DB_STATEMENT_TIMEOUT_MS`).
    pub statement_timeout_ms: u64,
    /// A statement that takes this long is logged as slow (`ALLOT_DB_SLOW_STATEMENT_MS`; 0: none).
    pub slow_statement_ms: u64,
    /// Peer addresses allowed to read `/metrics` without its token (`ALLOT_METRICS_ALLOW`).
    pub metrics_allow: Vec<IpAddr>,
    /// Balancers whose `X-Forwarded-For` names the client (`ALLOT_TRUSTED_PROXIES`).
    pub trusted_proxies: Vec<IpAddr>,
    /// A bearer token that reads `/metrics` from anywhere (`ALLOT_METRICS_TOKEN`).
    pub metrics_token: Option<String>,
    /// On SIGTERM, how long `/readyz` says "draining" before the server stops taking new
    /// connections (`ALLOT_DRAIN_SECONDS`): the balancer's health checks see it first.
    pub drain_seconds: u64,
    /// Then how long requests in flight may take to finish (`ALLOT_SHUTDOWN_TIMEOUT_SECONDS`).
    pub shutdown_timeout_seconds: u64,
    /// Calls one API token may make in a minute, in each process
    /// (`ALLOT_API_REQUESTS_PER_MINUTE`).
    pub api_requests_per_minute: u32,
}

/// The payment gateways built in. Only the test gateway so far: its documented test card
/// numbers decide charges, like a payment provider's test mode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GatewayChoice {
    /// With `ledger` (`ALLOT_TEST_GATEWAY_LEDGER`), it keeps the keys it has answered in that
    /// directory, shared by every process, instead of in memory (`billing::LedgerGateway`).
    Test { ledger: Option<PathBuf> },
}

const SECRET_FILE: &str = "allot.secret";

impl Config {
    /// Reads the environment. Creates the data directory and, when `ALLOT_SECRET_KEY` is not
    /// set, the session key file in it (mode 0600), so sessions survive a restart.
    pub fn from_env() -> Result<Config, String> {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        let data_dir = PathBuf::from(var("ALLOT_DATA_DIR").unwrap_or_else(|| ".".into()));
        fs::create_dir_all(&data_dir)
            .map_err(|e| format!("ALLOT_DATA_DIR: cannot create {}: {e}", data_dir.display()))?;
        let database_url = match var("DATABASE_URL") {
            Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => url,
            Some(url) if url.contains("://") => {
                return Err(format!(
                    "DATABASE_URL must be postgres://… or a SQLite file path, not '{url}'"
                ));
            }
            Some(path) => path,
            None => data_dir.join("allot.db").to_string_lossy().into_owned(),
        };
        let secret_key = match var("ALLOT_SECRET_KEY") {
            Some(key) if key.len() >= 32 => key.into_bytes(),
            Some(_) => return Err("ALLOT_SECRET_KEY must have at least 32 characters".into()),
            None => stored_secret(&data_dir)?,
        };
        let cookie_secure = match var("ALLOT_COOKIE_SECURE").as_deref() {
            None | Some("0") | Some("false") => false,
            Some("1") | Some("true") => true,
            Some(other) => {
                return Err(format!("ALLOT_COOKIE_SECURE must be 0 or 1, not '{other}'"));
            }
        };
        let session_idle_minutes = number(
            &var,
            "ALLOT_SESSION_IDLE_MINUTES",
            1..=7 * 24 * 60,
            8 * 60,
            "minutes",
        )?;
        let session_max_hours = number(&var, "ALLOT_SESSION_MAX_HOURS", 1..=30 * 24, 12, "hours")?;
        let smtp_url = var("ALLOT_SMTP_URL");
        let smtp_from =
            var("ALLOT_SMTP_FROM").unwrap_or_else(|| "allot <no-reply@localhost>".into());
        let public_url = match var("ALLOT_PUBLIC_URL") {
            None => "http://localhost:8080".to_owned(),
            Some(url) if url.starts_with("http://") || url.starts_with("https://") => {
                url.trim_end_matches('/').to_owned()
            }
            Some(other) => {
                return Err(format!(
                    "ALLOT_PUBLIC_URL must start with http:// or https://, not '{other}'"
                ));
            }
        };
        let purchase_order_minutes = number(
            &var,
            "ALLOT_PURCHASE_ORDER_MINUTES",
            0..=12 * 60,
            12 * 60,
            "minutes",
        )?;
        let payment_gateway = match var("ALLOT_PAYMENT_GATEWAY").as_deref() {
            None | Some("test") => GatewayChoice::Test {
                ledger: var("ALLOT_TEST_GATEWAY_LEDGER").map(PathBuf::from),
            },
            Some(other) => {
                return Err(format!(
                    "ALLOT_PAYMENT_GATEWAY must be 'test' (the built-in test gateway, the only one so far), not '{other}'"
                ));
            }
        };
        let pool_size = number(&var, "ALLOT_DB_POOL_SIZE", 1..=256, 16, "connections")?;
        let statement_timeout_ms = number(
            &var,
            "ALLOT_DB_STATEMENT_TIMEOUT_MS",
            0..=3_600_000,
            30_000,
            "milliseconds (0: none)",
        )?;
        let slow_statement_ms = number(
            &var,
            "ALLOT_DB_SLOW_STATEMENT_MS",
            0..=3_600_000,
            250,
            "milliseconds (0: none)",
        )?;
        let loopback = vec![
            IpAddr::from([127, 0, 0, 1]),
            IpAddr::from([0u16, 0, 0, 0, 0, 0, 0, 1]),
        ];
        let metrics_allow = ip_list(&var, "ALLOT_METRICS_ALLOW", loopback)?;
        let trusted_proxies = ip_list(&var, "ALLOT_TRUSTED_PROXIES", vec![])?;
        let metrics_token = match var("ALLOT_METRICS_TOKEN") {
            Some(t) if t.len() >= 16 => Some(t),
            Some(_) => return Err("ALLOT_METRICS_TOKEN must have at least 16 characters".into()),
            None => None,
        };
        let drain_seconds = number(&var, "ALLOT_DRAIN_SECONDS", 0..=300, 0, "seconds")?;
        let shutdown_timeout_seconds = number(
            &var,
            "ALLOT_SHUTDOWN_TIMEOUT_SECONDS",
            1..=600,
            30,
            "seconds",
        )?;
        let api_requests_per_minute = number(
            &var,
            "ALLOT_API_REQUESTS_PER_MINUTE",
            1..=1_000_000,
            crate::web::api::REQUESTS_PER_MINUTE,
            "calls a minute",
        )?;
        Ok(Config {
            database_url,
            data_dir,
            secret_key,
            cookie_secure,
            session_idle_minutes,
            session_max_hours,
            smtp_url,
            smtp_from,
            public_url,
            purchase_order_minutes,
            payment_gateway,
            pool_size,
            statement_timeout_ms,
            slow_statement_ms,
            metrics_allow,
            trusted_proxies,
            metrics_token,
            drain_seconds,
            shutdown_timeout_seconds,
            api_requests_per_minute,
        })
    }
}

/// IP addresses separated by commas from `name` (`default` when unset).
fn ip_list(
    var: &dyn Fn(&str) -> Option<String>,
    name: &str,
    default: Vec<IpAddr>,
) -> Result<Vec<IpAddr>, String> {
    match var(name) {
        None => Ok(default),
        Some(list) => list
            .split(',')
            .map(str::trim)
            .filter(|a| !a.is_empty())
            .map(|a| {
                a.parse::<IpAddr>().map_err(|_| {
                    format!("{name} must list IP addresses separated by commas, not '{a}'")
                })
            })
            .collect(),
    }
}

/// A whole number from `name` within `range` (`default` when unset), or the one line that says
/// what it must be.
fn number<T>(
    var: &dyn Fn(&str) -> Option<String>,
    name: &str,
    range: RangeInclusive<T>,
    default: T,
    unit: &str,
) -> Result<T, String>
where
    T: std::str::FromStr + PartialOrd + std::fmt::Display + Copy,
{
    match var(name) {
        None => Ok(default),
        Some(v) => match v.trim().parse::<T>() {
            Ok(n) if range.contains(&n) => Ok(n),
            _ => Err(format!(
                "{name} must be a number of {unit} from {} to {}, not '{v}'",
                range.start(),
                range.end()
            )),
        },
    }
}

/// The session key kept in the data directory, made on first start.
fn stored_secret(data_dir: &Path) -> Result<Vec<u8>, String> {
    let path = data_dir.join(SECRET_FILE);
    match fs::read_to_string(&path) {
        Ok(text) => {
            let key = hex::decode(text.trim())
                .map_err(|_| format!("{} is not a valid session key file", path.display()))?;
            if key.len() < 32 {
                return Err(format!("{} holds a key that is too short", path.display()));
            }
            Ok(key)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let mut key = vec![0u8; 64];
            rand::rng().fill_bytes(&mut key);
            write_private(&path, hex::encode(&key).as_bytes())
                .map_err(|e| format!("cannot write the session key {}: {e}", path.display()))?;
            Ok(key)
        }
        Err(e) => Err(format!(
            "cannot read the session key {}: {e}",
            path.display()
        )),
    }
}

fn write_private(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(contents)?;
    file.sync_all()
}
