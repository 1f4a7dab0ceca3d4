//! The WASI capability (`wasi:io`, `wasi:clocks`, `wasi:random`, `wasi:cli`,
//! `wasi:filesystem`, `wasi:sockets`): each component's environment and its
//! stdout/stderr, logged per component (see `guest_output`).

pub mod guest_output;

use crate::capabilities::provides::Interface;
use crate::manifest::ComponentDecl;
use anyhow::Result;
use guest_output::GuestOutput;
use std::path::PathBuf;
use wasmtime::component::Linker;
use wasmtime_wasi::{WasiCtx, WasiView};

/// What the capability provides once linked (any 0.2.x version).
const PROVIDES: &[Interface] = &[
    Interface::Wasi("wasi:io/"),
    Interface::Wasi("wasi:clocks/"),
    Interface::Wasi("wasi:random/"),
    Interface::Wasi("wasi:cli/"),
    Interface::Wasi("wasi:filesystem/"),
    Interface::Wasi("wasi:sockets/"),
];

/// The capability's configuration and app-level state.
pub struct WasiApp {
    /// `-e KEY=VALUE`: added to every component's environment.
    env_overrides: Vec<(String, String)>,
    /// Where guest stdout/stderr are logged per component; `None` = not logged.
    log_dir: Option<PathBuf>,
}

impl WasiApp {
    pub fn new(env_overrides: Vec<(String, String)>, log_dir: Option<PathBuf>) -> WasiApp {
        WasiApp {
            env_overrides,
            log_dir,
        }
    }

    /// One component's environment and output streams.
    pub fn for_component(&self, decl: &ComponentDecl) -> Result<WasiComponent> {
        let mut environment: Vec<(String, String)> = decl
            .environment
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        environment.extend(self.env_overrides.iter().cloned());
        Ok(WasiComponent {
            environment,
            stdout: GuestOutput::open(self.log_dir.as_deref(), &decl.id, "stdout")?,
            stderr: GuestOutput::open(self.log_dir.as_deref(), &decl.id, "stderr")?,
        })
    }
}

/// The capability's per-component state.
pub struct WasiComponent {
    environment: Vec<(String, String)>,
    stdout: GuestOutput,
    stderr: GuestOutput,
}

impl WasiComponent {
    /// The per-instance state: a WASI context over the component's streams.
    pub fn new_instance(&self) -> WasiCtx {
        let mut wasi = WasiCtx::builder();
        wasi.stdout(self.stdout.clone())
            .stderr(self.stderr.clone())
            .envs(&self.environment);
        wasi.build()
    }
}

/// Adds the WASI interfaces to `linker`.
pub fn link<T: WasiView + 'static>(linker: &mut Linker<T>) -> Result<&'static [Interface]> {
    wasmtime_wasi::p2::add_to_linker_async(linker).map_err(anyhow::Error::from)?;
    Ok(PROVIDES)
}
