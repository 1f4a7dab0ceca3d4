//! The gateway's `admin_token` for local runs. The app does not start without one, so a
//! newcomer's `cargo xtask up` makes one and keeps it in the state dir; anyone who sets
//! `SPIN_VARIABLE_ADMIN_TOKEN` (or passes `--variable admin_token=...`) chooses their own.

use std::io::Read;
use std::path::Path;

use anyhow::{Context, Result};

pub const ENV: &str = "SPIN_VARIABLE_ADMIN_TOKEN";
const FILE: &str = ".spin/admin-token";

/// The token to start the app with: `None` when the caller already provides one.
pub fn for_local_run(root: &Path, host_args: &[String]) -> Result<Option<String>> {
    let given_as_flag = host_args
        .iter()
        .any(|arg| arg.starts_with("admin_token=") || arg.starts_with("--variable=admin_token="));
    if std::env::var_os(ENV).is_some() || given_as_flag {
        return Ok(None);
    }
    let path = root.join(FILE);
    if let Ok(token) = std::fs::read_to_string(&path) {
        if !token.trim().is_empty() {
            return Ok(Some(token.trim().to_owned()));
        }
    }
    let token = random_token()?;
    std::fs::create_dir_all(path.parent().expect("a file in a dir"))?;
    std::fs::write(&path, format!("{token}\n"))
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(Some(token))
}

/// 32 random bytes as hex.
pub fn random_token() -> Result<String> {
    let mut bytes = [0u8; 32];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut random| random.read_exact(&mut bytes))
        .context("reading /dev/urandom")?;
    Ok(bytes.iter().map(|byte| format!("{byte:02x}")).collect())
}

/// Where `for_local_run` keeps a generated token, for messages.
pub fn file_hint() -> &'static str {
    FILE
}
