//! Identity at the process level: the token-signing secret, the first admin account, and
//! accounts created from the command line.

use std::io::Write;
use std::path::Path;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use crm_app::auth::{AuthSettings, MIN_SECRET_LEN};
use crm_app::users::{CreateUser, User};
use crm_app::{AppError, Caller, Ctx};
use crm_domain::access::Role;
use crm_store::users;
use secrecy::ExposeSecret;

use crate::Config;

/// File in the data directory holding the generated signing secret.
const SECRET_FILE: &str = "jwt-secret";

/// Authentication settings from the configuration. Without `CRM_JWT_SECRET`, a secret is
/// generated on first start and kept in the data directory (mode 0600).
pub fn auth_settings(config: &Config) -> anyhow::Result<AuthSettings> {
    let jwt_secret = match &config.jwt_secret {
        Some(secret) => secret.expose_secret().as_bytes().to_vec(),
        None => {
            if config.database_url.is_some() {
                tracing::warn!(
                    "CRM_JWT_SECRET is not set: using a secret kept in the data directory; copies \
                     of the server behind one load balancer must share CRM_JWT_SECRET"
                );
            }
            stored_secret(&config.data_dir)?
        }
    };
    Ok(AuthSettings {
        jwt_secret,
        access_ttl: Duration::from_secs(config.access_token_ttl),
        refresh_ttl: Duration::from_secs(config.refresh_token_ttl),
        lock_base_secs: config.login_lock_seconds,
        hash_concurrency: std::thread::available_parallelism().map_or(2, |n| n.get()),
    })
}

fn stored_secret(data_dir: &Path) -> anyhow::Result<Vec<u8>> {
    std::fs::create_dir_all(data_dir)
        .map_err(|e| anyhow::anyhow!("cannot create data directory {}: {e}", data_dir.display()))?;
    let path = data_dir.join(SECRET_FILE);
    match std::fs::read_to_string(&path) {
        Ok(text) if text.trim().len() >= MIN_SECRET_LEN => {
            return Ok(text.trim().as_bytes().to_vec());
        }
        Ok(_) => anyhow::bail!(
            "{} is too short; delete it to generate a new secret",
            path.display()
        ),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => anyhow::bail!("cannot read {}: {e}", path.display()),
    }
    let mut bytes = [0u8; 48];
    rand::fill(&mut bytes);
    let secret = URL_SAFE_NO_PAD.encode(bytes);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(&path)
        .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", path.display()))?;
    file.write_all(secret.as_bytes())
        .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))?;
    tracing::info!(path = %path.display(), "generated the token-signing secret");
    Ok(secret.into_bytes())
}

/// A generated password: 24 characters of base64url.
pub fn generate_password() -> String {
    let mut bytes = [0u8; 18];
    rand::fill(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// What `create_account` needs.
#[derive(Debug, Clone)]
pub struct NewAccount {
    pub username: String,
    pub display_name: String,
    pub email: Option<String>,
    pub role: Role,
    pub region: Option<String>,
    pub team: Option<String>,
    pub password: String,
}

/// Creates an account through the same use case as `POST /api/v1/users`, as the system.
pub async fn create_account(ctx: &Ctx, account: NewAccount) -> anyhow::Result<User> {
    let body = CreateUser {
        username: account.username,
        display_name: account.display_name,
        email: account.email,
        role: account.role,
        region: account.region,
        team: account.team,
        password: account.password,
    };
    crm_app::users::create(ctx, &Caller::System, body.into())
        .await
        .map_err(|e| anyhow::anyhow!(describe(&e)))
}

/// An application error as one line for the command line: the detail and every bad field.
pub fn describe(err: &AppError) -> String {
    let fields: Vec<String> = err
        .field_errors()
        .iter()
        .map(|f| format!("{} {}", f.field, f.message))
        .collect();
    if fields.is_empty() {
        err.detail()
    } else {
        format!("{} {}", err.detail(), fields.join("; "))
    }
}

/// On a database with no accounts, creates `admin` with `CRM_ADMIN_PASSWORD`, or with a
/// generated password printed once. A server never starts with a known default password.
pub async fn bootstrap_admin(ctx: &Ctx, config: &Config) -> anyhow::Result<()> {
    if users::count(&ctx.db).await? > 0 {
        return Ok(());
    }
    let (password, generated) = match &config.admin_password {
        Some(p) => (p.expose_secret().to_owned(), false),
        None => (generate_password(), true),
    };
    let account = NewAccount {
        username: "admin".to_owned(),
        display_name: "Administrator".to_owned(),
        email: None,
        role: Role::Admin,
        region: None,
        team: None,
        password: password.clone(),
    };
    match create_account(ctx, account).await {
        Ok(_) => {}
        // Another copy starting at the same time created it first.
        Err(e) if e.to_string().contains("already exists") => return Ok(()),
        Err(e) => anyhow::bail!("cannot create the first admin account (CRM_ADMIN_PASSWORD): {e}"),
    }
    if generated {
        eprintln!(
            "\n  First start: created the account `admin` with the password\n\n      {password}\n\n  \
             It is shown only this once. Sign in and change it (PUT /api/v1/me/password).\n"
        );
    } else {
        tracing::info!(
            "first start: created the account `admin` with the password from CRM_ADMIN_PASSWORD"
        );
    }
    Ok(())
}
