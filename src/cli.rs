//! The command line: `allot serve | migrate | demo | tick | admin create | staff create |
//! backup | restore | migrate-to`.

use chrono::{DateTime, Utc};
use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

use crate::config::Config;
use crate::domain::{Actor, Role, StaffRole, accounts, backup, db, demo};
use crate::jobs;
use crate::startup::{self, Dependencies};

#[derive(Debug, Parser)]
#[command(
    name = "allot",
    version,
    about = "A self-hosted admin center for the licenses of online products"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the web server (and the scheduled jobs, every minute).
    Serve {
        /// Address to listen on.
        #[arg(long, env = "ALLOT_BIND", default_value = "127.0.0.1:8080")]
        bind: String,
        /// Load the demo data when the database has none.
        #[arg(long)]
        demo: bool,
    },
    /// Create or update the database schema.
    Migrate,
    /// Load the demo data (does nothing when it is already there).
    Demo,
    /// Run the scheduled jobs once.
    Tick {
        /// Run as of this time (RFC 3339, e.g. 2027-01-01T00:00:00Z) instead of now.
        #[arg(long)]
        now: Option<String>,
    },
    /// Tenant admins.
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
    /// Provider staff.
    Staff {
        #[command(subcommand)]
        command: StaffCommand,
    },
    /// Write a consistent copy of the database to FILE, also while the server runs
    /// (SQLite: a checked copy; PostgreSQL: runs pg_dump --format=custom).
    Backup {
        file: PathBuf,
        /// Replace FILE when it exists.
        #[arg(long)]
        force: bool,
    },
    /// Replace the SQLite database with the backup in FILE (the server must be stopped;
    /// PostgreSQL: use pg_restore).
    Restore {
        file: PathBuf,
        /// Replace the database when there is one.
        #[arg(long)]
        force: bool,
    },
    /// Copy the SQLite database into an empty PostgreSQL database (the server must be
    /// stopped): migrates it, copies every row in one transaction, compares the row counts.
    MigrateTo {
        /// The target, postgres://user[:password]@host[:port]/database
        url: String,
    },
}

#[derive(Debug, Subcommand)]
enum AdminCommand {
    /// Make someone an admin of a tenant (creating the tenant and the user when missing).
    /// The password is read from ALLOT_PASSWORD or asked for on the terminal.
    Create {
        #[arg(long)]
        tenant: String,
        #[arg(long)]
        email: String,
        /// global, billing, license or user
        #[arg(long)]
        role: String,
    },
}

#[derive(Debug, Subcommand)]
enum StaffCommand {
    /// Add a member of the provider's staff. The password is read from ALLOT_PASSWORD or
    /// asked for on the terminal.
    Create {
        #[arg(long)]
        email: String,
        /// support or partner
        #[arg(long)]
        role: String,
    },
}

/// Parses the command line and runs it; errors are one line on stderr.
pub fn run() -> ExitCode {
    let cli = Cli::parse();
    if let Err(message) = init_logs() {
        eprintln!("allot: {message}");
        return ExitCode::FAILURE;
    }
    match execute(cli.command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("allot: {message}");
            ExitCode::FAILURE
        }
    }
}

/// Logs as text lines, or with `ALLOT_LOG_FORMAT=json` as JSON lines: one a request when it
/// ends (its method, route, status, time and `request_id`, the `X-Request-Id` it answered
/// with), and every line logged within a request carries its span and so the same id.
fn init_logs() -> Result<(), String> {
    use tracing_subscriber::fmt::format::FmtSpan;
    let filter = || {
        tracing_subscriber::EnvFilter::try_from_default_env()
            .unwrap_or_else(|_| "info,actix_server=warn".into())
    };
    match std::env::var("ALLOT_LOG_FORMAT").ok().as_deref() {
        None | Some("") | Some("text") => tracing_subscriber::fmt()
            .with_env_filter(filter())
            .with_target(false)
            .init(),
        Some("json") => tracing_subscriber::fmt()
            .json()
            .with_env_filter(filter())
            .with_current_span(true)
            .with_span_list(false)
            .with_span_events(FmtSpan::CLOSE)
            .init(),
        Some(other) => {
            return Err(format!(
                "ALLOT_LOG_FORMAT must be text or json, not '{other}'"
            ));
        }
    }
    Ok(())
}

fn execute(command: Command) -> Result<(), String> {
    let config = Config::from_env()?;
    // These open the database themselves, before the pool below would create, migrate and
    // hold it: a restore must find it closed.
    match &command {
        Command::Backup { file, force } => {
            println!("{}", backup::back_up(&config.database_url, file, *force)?);
            return Ok(());
        }
        Command::Restore { file, force } => {
            println!("{}", backup::restore(&config.database_url, file, *force)?);
            return Ok(());
        }
        // Reads the SQLite file as it is: opening the pool would migrate it first.
        Command::MigrateTo { url } => {
            println!("{}", backup::migrate_to(&config.database_url, url)?);
            return Ok(());
        }
        _ => {}
    }
    let pool = db::connect_tuned(
        &config.database_url,
        config.pool_size,
        config.statement_timeout_ms,
        config.slow_statement_ms,
    )?;
    let dependencies = Dependencies::from_config(&config)?;
    let clock = dependencies.clock.clone();
    let mut conn = pool.get().map_err(|e| e.to_string())?;
    match command {
        Command::Serve { bind, demo } => {
            if demo && demo::load(&mut conn, clock.now()).map_err(|e| e.to_string())? {
                println!("Loaded the demo data.");
            }
            if demo {
                println!(
                    "Demo: sign in at http://{bind}/signin as admin@contoso.example (or billing@, licenses@, users@, support@allot.example) with the password '{}'.",
                    demo::DEMO_PASSWORD
                );
            }
            drop(conn);
            startup::serve(&config, pool, dependencies, &bind)
                .map_err(|e| format!("cannot serve on {bind}: {e}"))
        }
        Command::Migrate => {
            println!("The database is up to date.");
            Ok(())
        }
        Command::Demo => {
            if demo::load(&mut conn, clock.now()).map_err(|e| e.to_string())? {
                println!(
                    "Loaded the demo data. The password of every demo account is '{}'.",
                    demo::DEMO_PASSWORD
                );
            } else {
                println!("The demo data is already there.");
            }
            Ok(())
        }
        Command::Tick { now } => {
            let now = match now {
                Some(text) => DateTime::parse_from_rfc3339(&text)
                    .map(|t| t.with_timezone(&Utc))
                    .map_err(|_| {
                        format!(
                            "--now must be an RFC 3339 time like 2027-01-01T00:00:00Z, not '{text}'"
                        )
                    })?,
                None => clock.now(),
            };
            let report = jobs::tick(&mut conn, dependencies.gateway.as_ref(), now)
                .map_err(|e| e.to_string())?;
            if let Some(mailer) = &dependencies.mailer {
                let sent = crate::domain::outbox::deliver(&mut conn, mailer.as_ref(), now, 1000)
                    .map_err(|e| e.to_string())?;
                println!("Sent {sent} emails from the outbox.");
            }
            if report.ran {
                println!(
                    "Ran the scheduled jobs as of {}: {report:?}",
                    now.to_rfc3339()
                );
            } else {
                println!("Another process is running the scheduled jobs; nothing done.");
            }
            Ok(())
        }
        Command::Admin {
            command:
                AdminCommand::Create {
                    tenant,
                    email,
                    role,
                },
        } => {
            let role: Role = role.parse().map_err(|_| {
                format!("--role must be global, billing, license or user, not '{role}'")
            })?;
            let password = read_password()?;
            let done = accounts::create_admin(
                &mut conn,
                &Actor::System("command line"),
                clock.now(),
                &tenant,
                &email,
                role,
                &password,
            )
            .map_err(|e| e.to_string())?;
            match done {
                accounts::AdminCreated::NewUser(_) => {
                    println!("Created {email} as {} of {tenant}.", role.title())
                }
                accounts::AdminCreated::RoleAdded(_) => {
                    println!(
                        "{email} is now also {} of {tenant}; the password was left as it was.",
                        role.title()
                    )
                }
            }
            Ok(())
        }
        Command::Staff {
            command: StaffCommand::Create { email, role },
        } => {
            let role: StaffRole = role
                .parse()
                .map_err(|_| format!("--role must be support or partner, not '{role}'"))?;
            let password = read_password()?;
            accounts::create_staff(
                &mut conn,
                &Actor::System("command line"),
                clock.now(),
                &email,
                role,
                &password,
            )
            .map_err(|e| e.to_string())?;
            println!("Created {email} as {}.", role.title());
            Ok(())
        }
        // Run above, without the pool.
        Command::Backup { .. } | Command::Restore { .. } | Command::MigrateTo { .. } => Ok(()),
    }
}

fn read_password() -> Result<String, String> {
    if let Ok(password) = std::env::var("ALLOT_PASSWORD") {
        return Ok(password);
    }
    let first = rpassword::prompt_password("Password: ").map_err(|e| {
        format!("cannot read the password from the terminal ({e}); set ALLOT_PASSWORD")
    })?;
    let again = rpassword::prompt_password("Password again: ").map_err(|e| e.to_string())?;
    if first != again {
        return Err("the passwords differ".into());
    }
    Ok(first)
}
