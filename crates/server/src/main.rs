//! The `crm` command line: `serve` (the default), `worker`, `migrate`, `create-user`,
//! `demo-data`, `openapi`.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use crm_domain::access::Role;
use crm_server::{Config, ServeOptions, api_settings, identity, open_database, serve, telemetry};

mod sqlite_allocator;

/// CRM backend: a JSON REST API for B2B sales, marketing and service teams.
#[derive(Debug, Parser)]
#[command(name = "crm", version)]
struct Cli {
    /// Configuration file (TOML); by default `crm.toml` in the working directory, if present.
    #[arg(long, global = true, env = "CRM_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Apply pending migrations and serve the API, with the background worker (the default).
    Serve,
    /// Run only the background worker (re-tiering, sweeps, deliveries), without HTTP.
    Worker,
    /// Manage the database schema.
    Migrate {
        #[command(subcommand)]
        action: Option<MigrateAction>,
    },
    /// Create an account. The password is read from standard input with --password-stdin,
    /// otherwise generated and printed once.
    CreateUser {
        /// Login name (3–32 characters: letters, digits, '.', '_', '-').
        #[arg(long)]
        username: String,
        /// Role: admin, manager, sales or service.
        #[arg(long, value_parser = parse_role)]
        role: Role,
        /// Name shown to people; defaults to the username.
        #[arg(long)]
        display_name: Option<String>,
        /// Email address.
        #[arg(long)]
        email: Option<String>,
        /// Province code (GB/T 2260), e.g. 44.
        #[arg(long)]
        region: Option<String>,
        /// Team name.
        #[arg(long)]
        team: Option<String>,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Fill the database with realistic demo customers (valid codes, Chinese names, contacts,
    /// tags), owned by the active sales reps (five demo reps are created if there are none),
    /// with assignment rules, leads and deals in every stage.
    DemoData {
        /// How many customers to add.
        #[arg(long, default_value_t = 1000)]
        customers: usize,
        /// How many leads to add (default: one for every ten customers).
        #[arg(long)]
        leads: Option<usize>,
        /// How many deals to add (default: one per customer).
        #[arg(long)]
        deals: Option<usize>,
        /// How many service work orders to add (default: one per twenty customers, at
        /// least 40 or one per customer, at most 1,000).
        #[arg(long)]
        work_orders: Option<usize>,
        /// Seed of the random generator, for repeatable data.
        #[arg(long, default_value_t = 2026)]
        seed: u64,
    },
    /// Print the OpenAPI document (as committed in openapi/openapi.json).
    Openapi {
        /// Write to this file instead of standard output.
        #[arg(long, short)]
        output: Option<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
enum MigrateAction {
    /// Apply every pending migration (the default).
    Up,
    /// Roll back the latest migrations.
    Down {
        /// How many to roll back; all when omitted.
        #[arg(long)]
        steps: Option<u32>,
    },
}

/// mimalloc: requests, imports and bursts of sign-ins allocate and free many small objects;
/// it does that faster than the system allocator and returns freed memory to the system.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc commits memory as it is used, so that what a burst (start-up, an import) freed
/// goes back to the system when mimalloc purges it; in eagerly committed arenas (its default
/// where the system overcommits) it stays resident. mimalloc reserves its first arena at the
/// first allocation, before `main`, so the option is set by a constructor, as
/// `MIMALLOC_ARENA_EAGER_COMMIT=0` in the environment would (which still overrides it).
#[cfg(target_os = "linux")]
#[allow(unsafe_code)]
mod allocator_options {
    /// `mi_option_arena_eager_commit` in mimalloc.h (the same in its versions 2 and 3).
    const ARENA_EAGER_COMMIT: libmimalloc_sys::mi_option_t = 4;

    /// A default: `MIMALLOC_ARENA_EAGER_COMMIT` in the environment still decides. Allocates
    /// nothing (an allocation here would reserve the arena this is about).
    extern "C" fn commit_as_used() {
        // SAFETY: writes one entry of mimalloc's option table, before any other thread exists.
        unsafe { libmimalloc_sys::mi_option_set_default(ARENA_EAGER_COMMIT, 0) };
    }

    /// Run by the loader before `main`, before the Rust runtime's first allocation.
    #[used]
    #[unsafe(link_section = ".init_array")]
    static COMMIT_AS_USED: extern "C" fn() = commit_as_used;
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Some(Command::Openapi { output }) = &cli.command {
        return print_openapi(output.as_deref());
    }
    let config = match Config::load(cli.config.as_deref()) {
        Ok(config) => config,
        Err(message) => {
            eprintln!("crm: {message}");
            return ExitCode::from(78);
        }
    };
    if let Err(message) = telemetry::init(&config.log, config.log_format) {
        eprintln!("crm: {message}");
        return ExitCode::from(78);
    }
    // Before the first connection: nothing has used SQLite yet.
    if let Err(sqlite_allocator::NotInstalled(code)) = sqlite_allocator::install() {
        tracing::warn!(code, "SQLite keeps the C library's allocator");
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("crm: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        match cli.command {
            None | Some(Command::Serve) => run_server(config).await,
            Some(Command::Worker) => run_worker(config).await,
            Some(Command::Migrate { action }) => migrate(config, action).await,
            Some(Command::CreateUser {
                username,
                role,
                display_name,
                email,
                region,
                team,
                password_stdin,
            }) => {
                let (password, generated) = if password_stdin {
                    let mut line = String::new();
                    std::io::stdin().read_line(&mut line)?;
                    (line.trim_end_matches(['\r', '\n']).to_owned(), false)
                } else {
                    (identity::generate_password(), true)
                };
                let account = identity::NewAccount {
                    display_name: display_name.unwrap_or_else(|| username.clone()),
                    username,
                    email,
                    role,
                    region,
                    team,
                    password: password.clone(),
                };
                create_user(config, account, generated.then_some(password)).await
            }
            Some(Command::DemoData {
                customers,
                leads,
                deals,
                work_orders,
                seed,
            }) => {
                let mut size = crm_server::demo::Size::for_customers(customers);
                size.leads = leads.unwrap_or(size.leads);
                size.deals = deals.unwrap_or(size.deals);
                size.work_orders = work_orders.unwrap_or(size.work_orders);
                demo_data(config, size, seed).await
            }
            Some(Command::Openapi { .. }) => Ok(()),
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e:#}");
            eprintln!("crm: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn print_openapi(output: Option<&std::path::Path>) -> ExitCode {
    let json = crm_api::openapi_json();
    let result = match output {
        Some(path) => std::fs::write(path, json),
        None => {
            use std::io::Write;
            std::io::stdout().write_all(json.as_bytes())
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("crm: cannot write the OpenAPI document: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run_server(config: Config) -> anyhow::Result<()> {
    let ctx = crm_server::context(&config).await?;
    identity::bootstrap_admin(&ctx, &config).await?;
    let db = ctx.db.clone();
    let worker = crm_server::jobs::start(&ctx, &config);
    let state = crm_api::AppState::new(ctx, api_settings(&config));
    let listener = TcpListener::bind(config.bind)
        .map_err(|e| anyhow::anyhow!("cannot listen on {} (CRM_BIND): {e}", config.bind))?;
    let options = ServeOptions {
        workers: config.workers,
        shutdown_timeout: Duration::from_secs(config.shutdown_timeout),
        handle_signals: true,
    };
    let server = serve(listener, state, &options)?;
    tracing::info!(
        bind = %config.bind,
        database = db_kind(&config),
        "listening on http://{}; API docs at http://{}/docs/",
        config.bind,
        config.bind
    );
    server.await?;
    if let Some(worker) = worker {
        worker.shutdown().await;
    }
    db.close().await?;
    tracing::info!("stopped");
    Ok(())
}

async fn run_worker(config: Config) -> anyhow::Result<()> {
    let ctx = crm_server::context(&config).await?;
    let worker =
        crm_server::jobs::start_with(&ctx, crm_server::jobs::JobSettings::from_config(&config));
    tracing::info!(database = db_kind(&config), "background worker running");
    crm_server::wait_for_signal().await;
    worker.shutdown().await;
    ctx.db.close().await?;
    tracing::info!("stopped");
    Ok(())
}

fn db_kind(config: &Config) -> &'static str {
    if config.effective_database_url().starts_with("sqlite:") {
        "sqlite"
    } else {
        "postgres"
    }
}

async fn migrate(config: Config, action: Option<MigrateAction>) -> anyhow::Result<()> {
    let db = open_database(&config).await?;
    match action.unwrap_or(MigrateAction::Up) {
        MigrateAction::Up => crm_store::migrate_up(&db).await?,
        MigrateAction::Down { steps } => crm_store::migrate_down(&db, steps).await?,
    }
    tracing::info!("migrations done");
    Ok(())
}

fn parse_role(s: &str) -> Result<Role, String> {
    Role::parse(s).ok_or_else(|| "must be admin, manager, sales or service".to_owned())
}

async fn create_user(
    config: Config,
    account: identity::NewAccount,
    show: Option<String>,
) -> anyhow::Result<()> {
    let ctx = crm_server::context(&config).await?;
    let user = identity::create_account(&ctx, account).await?;
    println!(
        "created {} ({}) with id {}",
        user.username,
        user.role.as_str(),
        user.id
    );
    if let Some(password) = show {
        println!("password (shown only this once): {password}");
    }
    Ok(())
}

async fn demo_data(config: Config, size: crm_server::demo::Size, seed: u64) -> anyhow::Result<()> {
    let ctx = crm_server::context(&config).await?;
    identity::bootstrap_admin(&ctx, &config).await?;
    let took = crm_server::demo::load(&ctx, size, seed).await?;
    println!(
        "loaded {} demo customers, {} leads, {} deals and {} work orders in {:.1} s",
        size.customers,
        size.leads,
        size.deals,
        size.work_orders,
        took.as_secs_f64()
    );
    let events = crm_store::webhooks::outbox_head(&ctx.db).await?;
    println!(
        "their {events} events are in the feed (GET /api/v1/events); a webhook subscription \
         (POST /api/v1/webhooks, docs/WEBHOOKS.md) receives every event that follows it, and \
         `crm serve` shows its metrics at /metrics"
    );
    Ok(())
}
