//! The running application: every triggered component pre-instantiated with
//! its capabilities, and the one path that runs a request through a fresh
//! instance (used by inbound HTTP and by service chaining alike).

use crate::engine;
use crate::guest_output::GuestOutput;
use crate::instance::{ComponentRuntime, InstanceState};
use crate::manifest::App;
use crate::metrics::Metrics;
use crate::outbound::{OutboundHooks, OutboundRules};
use crate::routes::Router;
use crate::runtime_config::RuntimeConfig;
use crate::variables::VariableResolver;
use crate::{key_value, sqlite};
use anyhow::{Context, Result};
use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper::body::Body;
use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};
use wasmtime::{Engine, Store, StoreLimitsBuilder, UpdateDeadline};
use wasmtime_wasi_http::p2::bindings::http::types::Scheme;
use wasmtime_wasi_http::p2::bindings::ProxyPre;
use wasmtime_wasi_http::p2::body::HyperOutgoingBody;
use wasmtime_wasi_http::{Error as HttpError, WasiBody, WasiHttpView};

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
    pub state_dir: Option<PathBuf>,
    /// Where guest stdout/stderr are logged per component; `None` = not logged.
    pub log_dir: Option<PathBuf>,
    pub cache_dir: Option<PathBuf>,
    pub listen_addr: SocketAddr,
    pub limits: Limits,
    /// `-e KEY=VALUE`: added to every component's environment.
    pub env_overrides: Vec<(String, String)>,
    /// `--variable name=value`.
    pub cli_variables: BTreeMap<String, String>,
}

pub struct AppRuntime {
    pub name: String,
    pub version: String,
    pub router: Router,
    pub components: HashMap<String, Arc<ComponentRuntime>>,
    /// Component descriptions, for the startup listing.
    pub descriptions: HashMap<String, String>,
    /// The configured listen address; self requests are sent here.
    pub listen_addr: SocketAddr,
    /// Counted always; served only with `--metrics-listen`.
    pub metrics: Arc<Metrics>,
    engine: Engine,
    limits: Limits,
}

impl AppRuntime {
    /// Validates, opens stores and compiles components. Returns the runtime
    /// and the warnings Spin would log at startup.
    pub fn start(options: StartOptions) -> Result<(Arc<AppRuntime>, Vec<String>)> {
        let StartOptions {
            app,
            runtime_config,
            state_dir,
            log_dir,
            cache_dir,
            listen_addr,
            limits,
            env_overrides,
            cli_variables,
        } = options;
        let (router, warnings) = Router::build(&app)?;
        let triggered: Vec<_> = app.triggered_components().cloned().collect();
        for component in &triggered {
            if !component.source.is_file() {
                anyhow::bail!(
                    "Failed to load component `{}`: source file {} does not exist (build it first: `cargo xtask build`)",
                    component.id,
                    component.source.display()
                );
            }
        }
        let variables = Arc::new(VariableResolver::new(
            &app,
            &runtime_config.variable_providers,
            cli_variables,
        )?);
        let state_dir = state_dir.as_deref();
        let kv_stores = key_value::open_stores(
            triggered
                .iter()
                .flat_map(|c| c.key_value_stores.iter().map(|l| (c.id.clone(), l.clone()))),
            &runtime_config.key_value_stores,
            state_dir,
        )?;
        let databases = sqlite::open_databases(
            triggered
                .iter()
                .flat_map(|c| c.sqlite_databases.iter().map(|l| (c.id.clone(), l.clone()))),
            &runtime_config.sqlite_databases,
            state_dir,
        )?;

        let engine = engine::new_engine(limits.max_instance_memory)?;
        let linker = engine::base_linker(&engine)?;
        let all_ids: Vec<String> = app.components.keys().cloned().collect();
        let metrics = Arc::new(Metrics::new());
        let mut components = HashMap::new();
        for decl in triggered {
            let id = decl.id.clone();
            let component = engine::load_component(&engine, &decl.source, cache_dir.as_deref())
                .with_context(|| format!("Failed to load component `{id}`"))?;
            // Spin links every interface it knows; imports this host lacks
            // trap when called instead of failing instantiation.
            let mut linker = linker.clone();
            engine::stub_unknown_imports(&mut linker, &component, &engine)?;
            let pre = linker
                .instantiate_pre(&component)
                .map_err(anyhow::Error::from)?;
            let pre = ProxyPre::new(pre)
                .map_err(anyhow::Error::from)
                .with_context(|| {
                    format!("component `{id}` does not export wasi:http/incoming-handler")
                })?;
            let hosts = decl
                .allowed_outbound_hosts
                .iter()
                .map(|h| variables.render_for_startup(h))
                .collect::<Result<Vec<_>>>()
                .with_context(|| format!("component `{id}`: allowed_outbound_hosts"))?;
            let outbound = OutboundRules::parse(&hosts, &all_ids)
                .with_context(|| format!("component `{id}`"))?;
            let mut environment: Vec<(String, String)> = decl
                .environment
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            environment.extend(env_overrides.iter().cloned());
            let runtime = ComponentRuntime {
                id: id.clone(),
                pre,
                environment,
                stdout: GuestOutput::open(log_dir.as_deref(), &id, "stdout")?,
                stderr: GuestOutput::open(log_dir.as_deref(), &id, "stderr")?,
                key_value: decl
                    .key_value_stores
                    .iter()
                    .map(|l| {
                        let store = key_value::KeyValueStore {
                            backend: kv_stores[l].clone(),
                            ops: Arc::new(metrics.key_value_ops(&id, l)),
                        };
                        (l.clone(), store)
                    })
                    .collect(),
                sqlite: decl
                    .sqlite_databases
                    .iter()
                    .map(|l| {
                        let store = sqlite::SqliteStore {
                            database: databases[l].clone(),
                            ops: Arc::new(metrics.sqlite_ops(&id, l)),
                        };
                        (l.clone(), store)
                    })
                    .collect(),
                variables: variables.clone(),
                outbound: Arc::new(outbound),
                metrics: metrics.component(&id),
            };
            components.insert(id, Arc::new(runtime));
        }
        let descriptions = app
            .components
            .values()
            .map(|c| (c.id.clone(), c.description.clone()))
            .collect();
        let runtime = AppRuntime {
            name: app.name,
            version: app.version,
            router,
            components,
            descriptions,
            listen_addr,
            metrics,
            engine,
            limits,
        };
        Ok((Arc::new(runtime), warnings))
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
        let incoming = store
            .data_mut()
            .http()
            .new_incoming_request(Scheme::Http, request)
            .map_err(anyhow::Error::from)?;
        let outparam = store
            .data_mut()
            .http()
            .new_response_outparam(sender)
            .map_err(anyhow::Error::from)?;
        let guest = component.clone();

        // The guest runs in its own task so it may keep streaming the body
        // after the response head is sent; the deadline bounds it either way.
        // A trap or the deadline counts as a trap whenever it happens, before
        // or after the response head.
        let task = tokio::spawn(async move {
            let outcome = tokio::time::timeout_at(deadline.into(), async {
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
            })
            .await;
            if !matches!(outcome, Ok(Ok(()))) {
                guest.metrics.traps.inc();
            }
            outcome
        });

        match tokio::time::timeout_at(deadline.into(), receiver).await {
            Ok(Ok(Ok(response))) => Ok(response),
            Ok(Ok(Err(code))) => anyhow::bail!("guest answered with error code {code:?}"),
            Ok(Err(_)) => match task.await {
                Ok(Ok(Ok(()))) => {
                    component.metrics.traps.inc();
                    anyhow::bail!("guest never set a response")
                }
                Ok(Ok(Err(trap))) => Err(anyhow::Error::from(trap)),
                Ok(Err(_)) => anyhow::bail!(
                    "request deadline of {:?} exceeded",
                    self.limits.request_timeout
                ),
                Err(join) => {
                    component.metrics.traps.inc();
                    anyhow::bail!("guest task failed: {join}")
                }
            },
            Err(_) => anyhow::bail!(
                "request deadline of {:?} exceeded",
                self.limits.request_timeout
            ),
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
        let hooks = OutboundHooks {
            app: self.clone(),
            component_id: component.id.as_str().into(),
            rules: component.outbound.clone(),
        };
        let state = InstanceState::new(component.clone(), hooks, limits.build());
        let mut store = Store::new(&self.engine, state);
        store.limiter(|state| &mut state.limits);
        // Check the clock every tick; yield to other requests meanwhile so a
        // busy guest cannot starve them, and trap once past the deadline.
        store.set_epoch_deadline(1);
        store.epoch_deadline_callback(move |_| {
            if Instant::now() >= deadline {
                Err(wasmtime::Error::msg("request deadline exceeded"))
            } else {
                Ok(UpdateDeadline::Yield(1))
            }
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
        let Some(component) = self.components.get(target).cloned() else {
            eprintln!("Service chaining: no component `{target}` with an HTTP trigger in this app");
            return Err(HttpError::DestinationNotFound);
        };
        crate::spin_headers::SpinHeaders::chained(request.uri()).append_to(request.headers_mut());
        Ok(self.invoke(&component, request).await)
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
