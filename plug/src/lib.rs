//! Composition ahead of time, as `wac plug` does it: the plug's exports that a socket imports
//! are wired into the socket, and the result is one standalone component exporting what the
//! socket exports. For the edge, the socket is the middleware (`components/edge`) and the plug
//! a service: the service's `wasi:http/incoming-handler` export satisfies the middleware's
//! import of it, and the composition serves HTTP with the middleware in front.
//!
//! Spin composes `[component.<id>.dependencies]` at load time with the same crate, so this
//! result is what a manifest's dependency form runs.

use anyhow::{bail, Context, Result};
use wac_graph::types::Package;
use wac_graph::{CompositionGraph, EncodeOptions, PlugError};

/// The interface a middleware imports and a service exports.
pub const HTTP_HANDLER: &str = "wasi:http/incoming-handler@0.2.0";

/// A component's bytes with a name for messages and for the composition's package names.
pub struct Component<'a> {
    pub name: &'a str,
    pub bytes: &'a [u8],
}

/// `socket` with `plug` plugged into every import of the socket that the plug exports,
/// encoded and validated. Fails, naming both, when the plug satisfies none of its imports.
pub fn plug(socket: Component, plug: Component) -> Result<Vec<u8>> {
    let mut graph = CompositionGraph::new();
    let socket_id = register(&mut graph, "socket", &socket)?;
    let plug_id = register(&mut graph, "plug", &plug)?;
    match wac_graph::plug(&mut graph, vec![plug_id], socket_id) {
        Ok(()) => {}
        Err(PlugError::NoPlugHappened) => bail!(
            "{} exports nothing that {} imports (a service must export {HTTP_HANDLER})",
            plug.name,
            socket.name
        ),
        Err(err) => {
            return Err(anyhow::Error::new(err))
                .with_context(|| format!("plugging {} into {}", plug.name, socket.name))
        }
    }
    graph
        .encode(EncodeOptions::default())
        .with_context(|| format!("encoding {} plugged into {}", plug.name, socket.name))
}

/// Registers a component under a package name of its own (`compose:<role>`), so that two
/// components with equal names (or equal bytes) never collide in the graph.
fn register(
    graph: &mut CompositionGraph,
    role: &str,
    component: &Component,
) -> Result<wac_graph::PackageId> {
    let package = Package::from_bytes(
        &format!("compose:{role}"),
        None,
        component.bytes,
        graph.types_mut(),
    )
    .with_context(|| format!("{} is not a WebAssembly component", component.name))?;
    Ok(graph.register_package(package)?)
}

/// The names of a component's imports and exports, for checks and messages.
pub fn interface_names(name: &str, bytes: &[u8]) -> Result<(Vec<String>, Vec<String>)> {
    let mut graph = CompositionGraph::new();
    let package = Package::from_bytes("compose:inspect", None, bytes, graph.types_mut())
        .with_context(|| format!("{name} is not a WebAssembly component"))?;
    let world = &graph.types()[package.ty()];
    Ok((
        world.imports.keys().cloned().collect(),
        world.exports.keys().cloned().collect(),
    ))
}
