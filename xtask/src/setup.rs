//! What the commands share: where things are, the wasm target, building the host.

use std::{
    ffi::OsString,
    path::{Path, PathBuf},
    process::Command,
};

use anyhow::{bail, Context, Result};

const WASM_TARGET: &str = "wasm32-wasip2";

/// The repository root (the workspace holding this crate).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives in the workspace")
        .to_path_buf()
}

/// Cargo's target directory: `CARGO_TARGET_DIR` if set (relative to the root), else `target`.
pub fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => repo_root().join(dir),
        None => repo_root().join("target"),
    }
}

/// The Cargo profile of the host's optimised build: `release` is tuned for the components
/// (fat LTO, one codegen unit), which would make wasmtime's build far too slow.
const HOST_RELEASE_PROFILE: &str = "host-release";

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Profile {
    Dev,
    Release,
}

impl Profile {
    fn dir_name(self) -> &'static str {
        match self {
            Profile::Dev => "debug",
            Profile::Release => HOST_RELEASE_PROFILE,
        }
    }
}

/// Path of the `spin-host` binary that `build_host(profile)` produces.
pub fn host_binary(profile: Profile) -> PathBuf {
    target_dir().join(profile.dir_name()).join("spin-host")
}

/// A `cargo` command: the cargo running xtask when there is one, so the toolchain matches.
pub fn cargo() -> Command {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| OsString::from("cargo"));
    let mut cmd = Command::new(cargo);
    cmd.current_dir(repo_root());
    cmd
}

/// Runs `cmd` with inherited stdio and fails unless it exits successfully.
pub fn run(cmd: &mut Command) -> Result<()> {
    let status = cmd
        .status()
        .with_context(|| format!("could not start {}", describe(cmd)))?;
    if !status.success() {
        bail!("{} failed ({status})", describe(cmd));
    }
    Ok(())
}

/// `program arg arg...` for messages.
pub fn describe(cmd: &Command) -> String {
    let mut words = vec![cmd.get_program().to_string_lossy().into_owned()];
    words.extend(cmd.get_args().map(|arg| arg.to_string_lossy().into_owned()));
    words.join(" ")
}

/// Installs the wasm32-wasip2 Rust target with rustup unless it is already there.
pub fn ensure_wasm_target() -> Result<()> {
    let installed = match Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output()
    {
        Ok(output) if output.status.success() => output.stdout,
        Ok(output) => bail!(
            "`rustup target list --installed` failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        ),
        Err(err) => {
            // A toolchain without rustup may still have the target; the build will tell.
            eprintln!("warning: could not run rustup ({err}); assuming {WASM_TARGET} is installed");
            return Ok(());
        }
    };
    if String::from_utf8_lossy(&installed)
        .lines()
        .any(|line| line.trim() == WASM_TARGET)
    {
        return Ok(());
    }
    eprintln!("Installing the Rust target {WASM_TARGET} (rustup target add {WASM_TARGET})");
    run(Command::new("rustup").args(["target", "add", WASM_TARGET]))
}

/// Builds `spin-host` with the given profile.
pub fn build_host(profile: Profile) -> Result<()> {
    let args: &[&str] = match profile {
        Profile::Dev => &["build", "--package", "spin-host"],
        Profile::Release => &[
            "build",
            "--profile",
            HOST_RELEASE_PROFILE,
            "--package",
            "spin-host",
        ],
    };
    eprintln!("Building the host with `cargo {}`", args.join(" "));
    run(cargo().args(args))
}
