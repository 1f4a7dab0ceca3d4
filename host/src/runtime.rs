//! The running application: every triggered component pre-instantiated with
//! its capabilities, and the one path that runs a request through a fresh
//! instance (used by inbound HTTP and by service chaining alike), and the
//! swap of one loaded version for the next on reload.

use crate::capabilities::outbound_http::{ResponseFuture, ServiceChain};
use crate::capabilities::provides::Interface;
use crate::capability_set::CapabilityOptions;
use crate::component::{ComponentRuntime, Loader};
use crate::engine;
use crate::function_cache::FunctionCache;
use crate::instance::InstanceState;
use crate::loaded_app::{ComponentChange, Inputs, LoadedApp};
use crate::manifest::App;
use crate::metrics::Metrics;
use crate::runtime_config::RuntimeConfig;
use anyhow::Result;
use bytes::Bytes;
use futures::FutureExt;
use http_body_util::{BodyExt, Empty};
use hyper::body::Body;
use std::net::SocketAddr;
use std::panic::AssertUnwindSafe;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};
use wasmtime::component::Linker;
use wasmtime::{Engine, Store, StoreLimitsBuilder, UpdateDeadline};
use wasmtime_wasi_http::p2::bindings::http::types::Scheme;
use wasmtime_wasi_http::p2::body::HyperOutgoingBody;
use wasmtime_wasi_http::{Error as HttpError, WasiBody, WasiHttpView};

/// Epoch ticks in a row a guest holding a write turn runs on past the one at
/// which it would yield (see `new_store`), so a long transaction still cannot
/// hog a worker thread.
const MAX_TICKS_RUN_ON: u32 = 5;

/// Per-request limits.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Wall-clock budget for one request, guest execution included.
    pub request_timeout: Duration,
    pub max_instance_memory: Option<usize>,
}

/// Everything needed to start the application.
pub struct StartOptions {
    pub app: App,
    pub runtime_config: RuntimeConfig,
    /// Stores, log files, environment and variables given on the command line.
    pub capabilities: CapabilityOptions,
    pub cache_dir: Option<PathBuf>,
    pub listen_addr: SocketAddr,
    pub limits: Limits,
}

/// The application as it serves: the current [`LoadedApp`] (replaced whole by
/// a reload), and what outlives reloads: the engine, metrics and limits.
pub struct AppRuntime {
    /// Read once per request (and per chained call); a request keeps the
    /// version it read alive until it ends, whatever a reload swaps in.
    current: RwLock<Arc<LoadedApp>>,
    /// The configured listen address; self requests are sent here.
    pub listen_addr: SocketAddr,
    /// Counted always; served only with `--metrics-listen`.
    pub metrics: Arc<Metrics>,
    engine: Engine,
    linker: Linker<InstanceState>,
    provided: Vec<Interface>,
    cache_dir: Option<PathBuf>,
    /// Compiled functions kept across compiles; `None` without a cache dir.
    functions: Option<Arc<FunctionCache>>,
    /// Given again to each reload: command-line settings do not change.
    capability_options: CapabilityOptions,
    limits: Limits,
}

impl AppRuntime {
    /// Validates, opens stores and compiles components. Returns the runtime
    /// and the warnings Spin would log at startup.
    pub fn start(options: StartOptions) -> Result<(Arc<AppRuntime>, Vec<String>)> {
        let StartOptions {
            app,
            runtime_config,
            capabilities,
            cache_dir,
            listen_addr,
            limits,
        } = options;
        let functions = cache_dir
            .as_deref()
            .and_then(FunctionCache::open_or_warn)
            .map(Arc::new);
        let engine = engine::new_engine(limits.max_instance_memory, functions.clone())?;
        let (linker, provided) = engine::base_linker(&engine)?;
        let metrics = Arc::new(Metrics::new());
        let loader = Loader {
            engine: &engine,
            linker: &linker,
            provided: &provided,
            cache_dir: cache_dir.as_deref(),
        };
        let inputs = Inputs {
            app,
            runtime_config: &runtime_config,
            options: capabilities.clone(),
            loader,
            metrics: &metrics,
        };
        let (loaded, warnings, _) = LoadedApp::load(inputs, None)?;
        let runtime = AppRuntime {
            current: RwLock::new(Arc::new(loaded)),
            listen_addr,
            metrics,
            engine,
            linker,
            provided,
            cache_dir,
            functions,
            capability_options: capabilities,
            limits,
        };
        Ok((Arc::new(runtime), warnings))
    }

    /// The version serving now.
    pub fn current(&self) -> Arc<LoadedApp> {
        self.current
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    /// How many compiled functions were found in / missing from the function
    /// cache so far; `None` when there is none.
    pub fn function_cache_counts(&self) -> Option<(u64, u64)> {
        self.functions.as_ref().map(|cache| cache.hits_and_misses())
    }

    /// Trims the function cache to its size limit (blocking: it may rewrite the file).
    pub fn trim_function_cache(&self) {
        if let Some(cache) = &self.functions {
            cache.trim();
        }
    }

    /// Builds the next version from `app` and `runtime_config`, compiling only
    /// what changed, while the current one keeps serving; then swaps it in at
    /// once. On any error nothing is swapped. Blocking (it compiles): call it
    /// off the async workers. Reloads must not overlap (the caller
    /// serialises them), else one could build on a version about to be replaced.
    /// Returns what changed and the warnings Spin would log at startup.
    pub fn reload(
        &self,
        app: App,
        runtime_config: &RuntimeConfig,
    ) -> Result<(Vec<ComponentChange>, Vec<String>)> {
        let previous = self.current();
        let inputs = Inputs {
            app,
            runtime_config,
            options: self.capability_options.clone(),
            loader: Loader {
                engine: &self.engine,
                linker: &self.linker,
                provided: &self.provided,
                cache_dir: self.cache_dir.as_deref(),
            },
            metrics: &self.metrics,
        };
        let (next, warnings, changes) = LoadedApp::load(inputs, Some(&previous))?;
        *self
            .current
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = Arc::new(next);
        Ok((changes, warnings))
    }

    /// Runs one request through a fresh instance of `component`. Never fails:
    /// traps, missing responses and deadlines become an empty 500, with the
    /// details logged rather than sent. Counted in the component's metrics
    /// (invocation, response class, time to the response head).
    pub async fn invoke<B>(
        self: &Arc<Self>,
        component: &Arc<ComponentRuntime>,
        request: http::Request<B>,
    ) -> http::Response<HyperOutgoingBody>
    where
        B: Body<Data = Bytes> + Send + 'static,
        B::Error: Into<HttpError>,
    {
        let started = Instant::now();
        component.metrics.invocations.inc();
        let response = match self.try_invoke(component, request, started).await {
            Ok(response) => response,
            Err(e) => {
                eprintln!(
                    "Error processing request for component `{}`: {e:?}",
                    component.id
                );
                empty_response(500)
            }
        };
        component
            .metrics
            .record_response(response.status().as_u16(), started.elapsed());
        response
    }

    async fn try_invoke<B>(
        self: &Arc<Self>,
        component: &Arc<ComponentRuntime>,
        request: http::Request<B>,
        started: Instant,
    ) -> Result<http::Response<HyperOutgoingBody>>
    where
        B: Body<Data = Bytes> + Send + 'static,
        B::Error: Into<HttpError>,
    {
        let deadline = started + self.limits.request_timeout;
        let mut store = self.new_store(component, deadline);
        let (sender, receiver) = tokio::sync::oneshot::channel();
        // Whether the guest set its response (a value or an error code): a
        // guest that returns without doing so has failed.
        let responded = Arc::new(AtomicBool::new(false));
        let incoming = store
            .data_mut()
            .http()
            .new_incoming_request(Scheme::Http, request)
            .map_err(anyhow::Error::from)?;
        let outparam = store
            .data_mut()
            .http()
            .new_response_outparam_from_callback({
                let responded = responded.clone();
                move |response| {
                    responded.store(true, Ordering::Release);
                    let _ = sender.send(response);
                }
            })
            .map_err(anyhow::Error::from)?;
        let guest = component.clone();

        // The guest runs in its own task so it may keep streaming the body
        // after the response head is sent; the deadline bounds it either way.
        // The task decides how the guest ended and counts a trap, once,
        // whenever it happens, before or after the response head.
        let task = tokio::spawn(async move {
            let run = tokio::time::timeout_at(deadline.into(), async {
                let instantiating = Instant::now();
                let proxy = guest.pre.instantiate_async(&mut store).await?;
                guest
                    .metrics
                    .instantiation
                    .observe(instantiating.elapsed().as_secs_f64());
                proxy
                    .wasi_http_incoming_handler()
                    .call_handle(&mut store, incoming, outparam)
                    .await
            });
            let ending = match AssertUnwindSafe(run).catch_unwind().await {
                Ok(Ok(Ok(()))) if responded.load(Ordering::Acquire) => GuestEnding::Returned,
                Ok(Ok(Ok(()))) => GuestEnding::NoResponse,
                Ok(Ok(Err(trap))) => GuestEnding::Trapped(trap),
                Ok(Err(_)) => GuestEnding::DeadlineExceeded,
                Err(panic) => GuestEnding::Panicked(panic_message(panic.as_ref())),
            };
            if !matches!(ending, GuestEnding::Returned) {
                guest.metrics.traps.inc();
            }
            ending
        });

        let deadline_exceeded = || {
            anyhow::anyhow!(
                "request deadline of {:?} exceeded",
                self.limits.request_timeout
            )
        };
        match tokio::time::timeout_at(deadline.into(), receiver).await {
            Ok(Ok(Ok(response))) => Ok(response),
            Ok(Ok(Err(code))) => anyhow::bail!("guest answered with error code {code:?}"),
            Ok(Err(_)) => match task.await {
                Ok(GuestEnding::Returned | GuestEnding::NoResponse) => {
                    anyhow::bail!("guest never set a response")
                }
                Ok(GuestEnding::Trapped(trap)) => Err(anyhow::Error::from(trap)),
                Ok(GuestEnding::DeadlineExceeded) => Err(deadline_exceeded()),
                Ok(GuestEnding::Panicked(message)) => {
                    anyhow::bail!("guest task failed: panicked with message {message:?}")
                }
                Err(join) => anyhow::bail!("guest task failed: {join}"),
            },
            Err(_) => Err(deadline_exceeded()),
        }
    }

    fn new_store(
        self: &Arc<Self>,
        component: &Arc<ComponentRuntime>,
        deadline: Instant,
    ) -> Store<InstanceState> {
        let mut limits = StoreLimitsBuilder::new()
            .instances(64)
            .tables(64)
            .memories(16)
            .trap_on_grow_failure(true);
        if let Some(max) = self.limits.max_instance_memory {
            limits = limits.memory_size(max);
        }
        let state =
            InstanceState::new(component.capabilities.clone(), self.clone(), limits.build());
        let mut store = Store::new(&self.engine, state);
        store.limiter(|state| &mut state.limits);
        // Check the clock every tick and trap once past the deadline. A tick
        // that finds a guest running has usually caught it in a short slice,
        // so the guest yields to other requests only when the previous tick
        // found it running too (it has kept a worker for about a tick): a busy
        // guest cannot starve the others, and a short request is not sent to
        // the back of the run queue for nothing. A guest holding a database's
        // write turn runs on a few ticks more: its queued writers wait too.
        store.set_epoch_deadline(1);
        let mut previous_tick: Option<Instant> = None;
        let mut ticks_run_on = 0;
        store.epoch_deadline_callback(move |store| {
            let now = Instant::now();
            if now >= deadline {
                return Err(wasmtime::Error::msg("request deadline exceeded"));
            }
            let running_since_last_tick =
                previous_tick.is_some_and(|at| now - at < engine::EPOCH_TICK * 3 / 2);
            previous_tick = Some(now);
            if !running_since_last_tick {
                return Ok(UpdateDeadline::Continue(1));
            }
            if store.data().holds_write_turn() && ticks_run_on < MAX_TICKS_RUN_ON {
                ticks_run_on += 1;
                return Ok(UpdateDeadline::Continue(1));
            }
            ticks_run_on = 0;
            previous_tick = None;
            Ok(UpdateDeadline::Yield(1))
        });
        store
    }

    /// Service chaining: `http://<id>.spin.internal/...` handed in-process to
    /// component `id`, whatever its route (public or private).
    pub async fn handle_chained(
        self: &Arc<Self>,
        target: &str,
        mut request: http::Request<WasiBody>,
    ) -> Result<http::Response<WasiBody>, HttpError> {
        // The version current when the call is made, not the caller's.
        let Some(component) = self.current().components.get(target).cloned() else {
            eprintln!("Service chaining: no component `{target}` with an HTTP trigger in this app");
            return Err(HttpError::DestinationNotFound);
        };
        crate::spin_headers::SpinHeaders::chained(request.uri()).append_to(request.headers_mut());
        Ok(self.invoke(&component, request).await)
    }
}

/// How a guest's run ended; anything but `Returned` counts as a trap.
enum GuestEnding {
    Returned,
    /// Returned without setting a response.
    NoResponse,
    Trapped(wasmtime::Error),
    DeadlineExceeded,
    /// A host function panicked (the panic is caught so it is counted here).
    Panicked(String),
}

fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    match panic.downcast_ref::<&str>() {
        Some(message) => message.to_string(),
        None => panic.downcast_ref::<String>().cloned().unwrap_or_default(),
    }
}

impl ServiceChain for AppRuntime {
    fn listen_addr(&self) -> SocketAddr {
        self.listen_addr
    }

    fn send_chained(
        self: Arc<Self>,
        target: String,
        request: http::Request<WasiBody>,
    ) -> ResponseFuture {
        Box::new(async move {
            let response = self.handle_chained(&target, request).await?;
            Ok((
                response,
                Box::new(async { Ok(()) }) as Box<dyn std::future::Future<Output = _> + Send>,
            ))
        })
    }
}

/// A response with no body, as Spin sends for 404s and component failures.
pub fn empty_response(status: u16) -> http::Response<HyperOutgoingBody> {
    let mut response = http::Response::new(
        Empty::<Bytes>::new()
            .map_err(|never| match never {})
            .boxed_unsync(),
    );
    *response.status_mut() =
        http::StatusCode::from_u16(status).unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR);
    response
}
