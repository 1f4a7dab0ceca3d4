//! The gateway's settings, read from Spin variables on every request (Spin re-resolves variables
//! on each `get`, so an operator's change applies without a restart).

use std::time::Duration;

use service_kit::ApiError;

use crate::cors::CorsPolicy;

/// Names the gateway answers itself; no service may take them.
pub const RESERVED_NAMES: [&str; 3] = ["admin", "health", "services"];

#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// The registry: component ids, each also the first segment of its public paths.
    pub services: Vec<String>,
    /// Services whose GET and HEAD need no key.
    pub public_read: Vec<String>,
    pub cors: CorsPolicy,
    pub max_body_bytes: usize,
    /// Services whose `GET` answers the gateway may cache (see `cache`).
    pub cached_reads: Vec<String>,
    /// How long a cached answer may be served; 0 turns the cache off.
    pub cache_ttl_millis: i64,
    /// The deadline of each service's health check and contract read (`/health`, `/services`).
    pub health_timeout: Duration,
    /// The deadline of a request passed on to a service (its answer and body); then `504`.
    pub upstream_timeout: Duration,
    /// The length of the fixed wall-clock windows in which a key's rate is counted.
    pub rate_window: Duration,
}

/// Defaults of the optional deadline variables, in milliseconds.
pub const DEFAULT_HEALTH_TIMEOUT_MS: &str = "3000";
pub const DEFAULT_UPSTREAM_TIMEOUT_MS: &str = "30000";
/// Default of `rate_limit_window_seconds`: keys' rates are per minute.
pub const DEFAULT_RATE_WINDOW_SECONDS: &str = "60";
/// The longest rate window accepted: an hour.
const MAX_RATE_WINDOW_SECONDS: u64 = 3600;
/// The longest deadline accepted (the host bounds a whole request anyway).
const MAX_TIMEOUT_MS: u64 = 600_000;

impl Settings {
    /// The settings from the component's variables; a bad value is the operator's error (500,
    /// its detail logged).
    pub fn load() -> Result<Settings, ApiError> {
        let misconfigured = |problem: String| ApiError {
            detail: Some(problem),
            ..ApiError::new(500, "gateway misconfigured")
        };
        let get = |name: &str| {
            spin_sdk::variables::get(name)
                .map_err(|err| misconfigured(format!("variable {name}: {err:?}")))
        };
        // The cache is optional: a manifest that does not wire its variables runs without it.
        let optional = |name: &str, absent: &str| match spin_sdk::variables::get(name) {
            Err(spin_sdk::variables::Error::Undefined(_)) => Ok(absent.to_owned()),
            other => other.map_err(|err| misconfigured(format!("variable {name}: {err:?}"))),
        };
        let cached_reads = optional("cached_reads", "")?;
        let cache_ttl_seconds = optional("cache_ttl_seconds", "0")?;
        let health_timeout_ms = optional("health_timeout_ms", DEFAULT_HEALTH_TIMEOUT_MS)?;
        let upstream_timeout_ms = optional("upstream_timeout_ms", DEFAULT_UPSTREAM_TIMEOUT_MS)?;
        let rate_window_seconds =
            optional("rate_limit_window_seconds", DEFAULT_RATE_WINDOW_SECONDS)?;
        Settings::parse(
            &get("services")?,
            &get("public_read")?,
            &get("cors_origins")?,
            &get("max_body_bytes")?,
        )
        .and_then(|settings| settings.with_cache(&cached_reads, &cache_ttl_seconds))
        .and_then(|settings| settings.with_deadlines(&health_timeout_ms, &upstream_timeout_ms))
        .and_then(|settings| settings.with_rate_window(&rate_window_seconds))
        .map_err(misconfigured)
    }

    pub fn parse(
        services: &str,
        public_read: &str,
        cors_origins: &str,
        max_body_bytes: &str,
    ) -> Result<Settings, String> {
        let services = name_list(services);
        if services.is_empty() {
            return Err("variable services: name at least one service".into());
        }
        for name in &services {
            if !is_component_id(name) || RESERVED_NAMES.contains(&name.as_str()) {
                return Err(format!(
                    "variable services: {name:?} is not a usable service name"
                ));
            }
        }
        let public_read = name_list(public_read);
        if let Some(unknown) = public_read.iter().find(|name| !services.contains(name)) {
            return Err(format!(
                "variable public_read: {unknown:?} is not a registered service"
            ));
        }
        let max_body_bytes = max_body_bytes
            .trim()
            .parse::<usize>()
            .ok()
            .filter(|bytes| *bytes > 0)
            .ok_or_else(|| {
                format!("variable max_body_bytes: {max_body_bytes:?} is not a positive integer")
            })?;
        Ok(Settings {
            services,
            public_read,
            cors: CorsPolicy::parse(cors_origins)?,
            max_body_bytes,
            cached_reads: Vec::new(),
            cache_ttl_millis: 0,
            health_timeout: millis(DEFAULT_HEALTH_TIMEOUT_MS),
            upstream_timeout: millis(DEFAULT_UPSTREAM_TIMEOUT_MS),
            rate_window: seconds(DEFAULT_RATE_WINDOW_SECONDS),
        })
    }

    /// These settings with the rate-limit window, in whole seconds (tests shorten it so that
    /// none waits a minute for the next window).
    pub fn with_rate_window(self, seconds: &str) -> Result<Settings, String> {
        let seconds = seconds
            .trim()
            .parse::<u64>()
            .ok()
            .filter(|seconds| (1..=MAX_RATE_WINDOW_SECONDS).contains(seconds))
            .ok_or_else(|| {
                format!(
                    "variable rate_limit_window_seconds: {seconds:?} is not 1 to {MAX_RATE_WINDOW_SECONDS}"
                )
            })?;
        Ok(Settings {
            rate_window: Duration::from_secs(seconds),
            ..self
        })
    }

    /// These settings with the deadlines of chained calls, in milliseconds.
    pub fn with_deadlines(self, health_ms: &str, upstream_ms: &str) -> Result<Settings, String> {
        Ok(Settings {
            health_timeout: deadline("health_timeout_ms", health_ms)?,
            upstream_timeout: deadline("upstream_timeout_ms", upstream_ms)?,
            ..self
        })
    }

    /// These settings with the read cache configured.
    pub fn with_cache(self, cached_reads: &str, ttl_seconds: &str) -> Result<Settings, String> {
        let cached_reads = name_list(cached_reads);
        if let Some(unknown) = cached_reads
            .iter()
            .find(|name| !self.services.contains(name))
        {
            return Err(format!(
                "variable cached_reads: {unknown:?} is not a registered service"
            ));
        }
        let ttl_seconds = ttl_seconds
            .trim()
            .parse::<i64>()
            .ok()
            .filter(|seconds| (0..=86_400).contains(seconds))
            .ok_or_else(|| {
                format!("variable cache_ttl_seconds: {ttl_seconds:?} is not 0 to 86400")
            })?;
        Ok(Settings {
            cached_reads,
            cache_ttl_millis: ttl_seconds * 1000,
            ..self
        })
    }

    pub fn is_cached(&self, service: &str) -> bool {
        self.cache_ttl_millis > 0 && self.cached_reads.iter().any(|name| name == service)
    }

    pub fn is_registered(&self, service: &str) -> bool {
        self.services.iter().any(|name| name == service)
    }

    pub fn is_public_read(&self, service: &str) -> bool {
        self.public_read.iter().any(|name| name == service)
    }
}

/// The admin token, read only when an admin call needs it.
pub fn admin_token() -> Result<String, ApiError> {
    spin_sdk::variables::get("admin_token")
        .map_err(|err| ApiError::storage(format!("variable admin_token: {err:?}")))
}

fn deadline(variable: &str, text: &str) -> Result<Duration, String> {
    text.trim()
        .parse::<u64>()
        .ok()
        .filter(|ms| (1..=MAX_TIMEOUT_MS).contains(ms))
        .map(Duration::from_millis)
        .ok_or_else(|| format!("variable {variable}: {text:?} is not 1 to {MAX_TIMEOUT_MS}"))
}

fn millis(text: &str) -> Duration {
    Duration::from_millis(text.parse().expect("the defaults are numbers"))
}

fn seconds(text: &str) -> Duration {
    Duration::from_secs(text.parse().expect("the defaults are numbers"))
}

fn name_list(text: &str) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for name in text.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        if !names.iter().any(|known| known == name) {
            names.push(name.to_owned());
        }
    }
    names
}

/// Spin component ids: lowercase letters, digits and inner `-`/`_`, starting with a letter.
fn is_component_id(name: &str) -> bool {
    name.starts_with(|c: char| c.is_ascii_lowercase())
        && !name.ends_with(['-', '_'])
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_parse() {
        let settings = Settings::parse(
            "visits,events,support,telemetry,insights",
            "visits",
            "*",
            "1048576",
        )
        .unwrap();
        assert_eq!(settings.services.len(), 5);
        assert!(settings.is_public_read("visits"));
        assert!(!settings.is_public_read("support"));
        assert_eq!(settings.max_body_bytes, 1 << 20);
    }

    #[test]
    fn lists_are_trimmed_and_deduplicated() {
        let settings = Settings::parse(" a , b,a,, ", "", "*", "10").unwrap();
        assert_eq!(settings.services, ["a", "b"]);
        assert!(settings.public_read.is_empty());
    }

    #[test]
    fn the_cache_names_registered_services() {
        let settings = Settings::parse("visits,support", "", "*", "10").unwrap();
        let cached = settings.clone().with_cache("visits", "60").unwrap();
        assert!(cached.is_cached("visits"));
        assert!(!cached.is_cached("support"));
        assert!(!settings
            .clone()
            .with_cache("visits", "0")
            .unwrap()
            .is_cached("visits"));
        assert!(settings.clone().with_cache("billing", "60").is_err());
        assert!(settings.with_cache("visits", "-1").is_err());
    }

    #[test]
    fn deadlines_default_and_parse() {
        let settings = Settings::parse("visits", "", "*", "10").unwrap();
        assert_eq!(settings.health_timeout, Duration::from_secs(3));
        assert_eq!(settings.upstream_timeout, Duration::from_secs(30));
        let set = settings.clone().with_deadlines(" 250 ", "1000").unwrap();
        assert_eq!(set.health_timeout, Duration::from_millis(250));
        assert_eq!(set.upstream_timeout, Duration::from_secs(1));
        for (health, upstream, word) in [
            ("0", "1", "health_timeout_ms"),
            ("soon", "1", "health_timeout_ms"),
            ("1", "600001", "upstream_timeout_ms"),
        ] {
            let err = settings
                .clone()
                .with_deadlines(health, upstream)
                .unwrap_err();
            assert!(err.contains(word), "{err}");
        }
    }

    #[test]
    fn the_rate_window_defaults_to_a_minute_and_parses() {
        let settings = Settings::parse("visits", "", "*", "10").unwrap();
        assert_eq!(settings.rate_window, Duration::from_secs(60));
        let default = settings
            .clone()
            .with_rate_window(DEFAULT_RATE_WINDOW_SECONDS)
            .unwrap();
        assert_eq!(default.rate_window, Duration::from_secs(60));
        let short = settings.clone().with_rate_window(" 2 ").unwrap();
        assert_eq!(short.rate_window, Duration::from_secs(2));
        for bad in ["0", "-1", "soon", "3601", "1.5"] {
            let err = settings.clone().with_rate_window(bad).unwrap_err();
            assert!(err.contains("rate_limit_window_seconds"), "{err}");
        }
    }

    #[test]
    fn bad_values_are_named() {
        for (services, public_read, limit, word) in [
            ("", "", "1", "services"),
            ("admin", "", "1", "admin"),
            ("Visits", "", "1", "Visits"),
            ("visits", "support", "1", "public_read"),
            ("visits", "", "0", "max_body_bytes"),
            ("visits", "", "lots", "max_body_bytes"),
        ] {
            let err = Settings::parse(services, public_read, "*", limit).unwrap_err();
            assert!(err.contains(word), "{err}");
        }
    }
}
