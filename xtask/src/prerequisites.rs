//! What the tasks need beyond Rust, installed before anything is built: for `cargo xtask test`,
//! `redis-server` (Debian's package, for the Redis key-value tests) and schemathesis at the pinned
//! version (for contract conformance) and kubernetes-validate at the pinned version (schema
//! checks of deploy/spinkube, in the same Python); for `bench`, `wrk`. Where it cannot install
//! (not root, no apt-get, no pip) it stops at once with the one command that fixes it.

use std::process::{Command, Stdio};

use anyhow::{bail, Result};

use crate::setup;

/// The schemathesis release the conformance settings (`xtask/conformance/`) are written for.
pub const SCHEMATHESIS_VERSION: &str = "4.32.5";

/// The kubernetes-validate release (with the Kubernetes schemas it ships) that
/// tests/deploy_files.rs checks deploy/spinkube with.
pub const KUBERNETES_VALIDATE_VERSION: &str = "1.37.0";

/// Installs or checks every tool the tests use; `conformance` adds the Python tools
/// (schemathesis, and kubernetes-validate, which needs nothing more once pip is there).
pub fn ensure_test_tools(conformance: bool) -> Result<()> {
    ensure_redis_server()?;
    if conformance {
        ensure_schemathesis()?;
        ensure_kubernetes_validate()?;
    }
    Ok(())
}

/// kubernetes-validate at the pinned version, installed with pip (present since
/// [`ensure_schemathesis`]) when it is missing or another one.
fn ensure_kubernetes_validate() -> Result<()> {
    let installed = || {
        let output = Command::new("python3")
            .args(["-m", "kubernetes_validate", "--version"])
            .stderr(Stdio::null())
            .output()
            .ok()?;
        // Prints the bare version, e.g. `1.37.0`.
        output
            .status
            .success()
            .then(|| String::from_utf8_lossy(&output.stdout).trim().to_owned())
    };
    if installed().as_deref() == Some(KUBERNETES_VALIDATE_VERSION) {
        return Ok(());
    }
    let pin = format!("kubernetes-validate=={KUBERNETES_VALIDATE_VERSION}");
    pip_install(
        &pin,
        "schema checks of deploy/spinkube",
        &format!("install it with `python3 -m pip install '{pin}'`"),
    )?;
    match installed() {
        Some(version) if version == KUBERNETES_VALIDATE_VERSION => Ok(()),
        other => bail!(
            "pip installed {pin}, yet python3 finds {}",
            other.unwrap_or_else(|| "none".into())
        ),
    }
}

fn ensure_redis_server() -> Result<()> {
    ensure_program(
        "redis-server",
        "redis-server",
        "the Redis key-value tests start one",
    )
}

/// `program` on PATH, else Debian's `package` installed (when root with apt-get), else an error
/// with the command to run; `why` says what needs it.
pub fn ensure_program(program: &str, package: &str, why: &str) -> Result<()> {
    if on_path(program) {
        return Ok(());
    }
    if !can_apt_install() {
        bail!(
            "{program} is not installed ({why}): install it with \
             `sudo apt-get install -y {package}`"
        );
    }
    eprintln!("Installing {package} (Debian package; {why})");
    apt_install(&[package])?;
    if !on_path(program) {
        bail!("{program} is still not on PATH after installing {package}");
    }
    Ok(())
}

/// schemathesis at the pinned version, installed with pip when it is missing or another one.
pub fn ensure_schemathesis() -> Result<()> {
    match installed_schemathesis() {
        Some(version) if version == SCHEMATHESIS_VERSION => return Ok(()),
        Some(version) => eprintln!(
            "schemathesis {version} is installed; contract conformance is pinned to \
             {SCHEMATHESIS_VERSION}"
        ),
        None => {}
    }
    let pin = format!("schemathesis=={SCHEMATHESIS_VERSION}");
    let fix = format!(
        "install it with `python3 -m pip install '{pin}'`, or skip contract conformance with \
         `cargo xtask test --no-conformance`"
    );
    if !runs(Command::new("python3").args(["-m", "pip", "--version"])) {
        if !can_apt_install() {
            bail!("contract conformance needs python3 with pip: {fix}");
        }
        eprintln!("Installing python3 and pip (Debian packages) for contract conformance");
        apt_install(&["python3", "python3-pip"])?;
    }
    pip_install(&pin, "contract conformance", &fix)?;
    match installed_schemathesis() {
        Some(version) if version == SCHEMATHESIS_VERSION => Ok(()),
        other => bail!(
            "pip installed schemathesis, yet python3 finds {}: {fix}",
            other.unwrap_or_else(|| "none".into())
        ),
    }
}

/// `python3 -m pip install PIN`; on failure, the error and `fix`. `why` says what needs it.
fn pip_install(pin: &str, why: &str, fix: &str) -> Result<()> {
    eprintln!("Installing {pin} with pip ({why})");
    let mut pip = Command::new("python3");
    pip.args(["-m", "pip", "install", "--quiet", pin])
        // A Debian python3 refuses installs outside a venv (PEP 668) unless told; older pips
        // ignore the variable.
        .env("PIP_BREAK_SYSTEM_PACKAGES", "1");
    setup::run(&mut pip).map_err(|err| anyhow::anyhow!("{err:#}: {fix}"))
}

/// The version python3's schemathesis reports, if it has one.
pub fn installed_schemathesis() -> Option<String> {
    let output = Command::new("python3")
        .args(["-m", "schemathesis.cli", "--version"])
        .stderr(Stdio::null())
        .output()
        .ok()?;
    if !output.status.success() {
        return None;
    }
    // `schemathesis, version 4.32.5`
    let text = String::from_utf8_lossy(&output.stdout);
    let version = text.trim().rsplit(' ').next()?.trim().to_owned();
    (!version.is_empty()).then_some(version)
}

/// Root with apt-get: Debian's packages can be installed without asking anyone.
fn can_apt_install() -> bool {
    // SAFETY: geteuid(2) has no preconditions and cannot fail.
    let root = unsafe { libc::geteuid() } == 0;
    root && on_path("apt-get")
}

/// Installs Debian packages, refreshing the package lists first only when they are too old to
/// have them (a fresh machine has none).
fn apt_install(packages: &[&str]) -> Result<()> {
    let apt_get = |args: &[&str]| {
        let mut cmd = Command::new("apt-get");
        cmd.args(args).env("DEBIAN_FRONTEND", "noninteractive");
        eprintln!("{}", setup::describe(&cmd));
        setup::run(&mut cmd)
    };
    let install = [&["install", "-y", "--no-install-recommends"], packages].concat();
    if apt_get(&install).is_ok() {
        return Ok(());
    }
    apt_get(&["update"])?;
    apt_get(&install)
}

/// An executable file named `program` in a PATH directory.
fn on_path(program: &str) -> bool {
    use std::os::unix::fs::PermissionsExt;
    let Some(path) = std::env::var_os("PATH") else {
        return false;
    };
    std::env::split_paths(&path).any(|dir| {
        std::fs::metadata(dir.join(program))
            .is_ok_and(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
    })
}

/// The command starts and exits successfully (its output is not wanted).
fn runs(cmd: &mut Command) -> bool {
    cmd.stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}
