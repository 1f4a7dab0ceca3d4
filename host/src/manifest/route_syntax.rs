//! Route syntax shared by manifest validation and the router: how a route
//! is normalized and written as a `routefinder` pattern. Pure string rules.

use anyhow::{anyhow, Result};

/// Checks that a manifest route parses (Spin rejects e.g. `/:`).
pub fn check_route_syntax(raw: &str) -> Result<()> {
    let pattern = routefinder_pattern(&normalize(raw));
    pattern
        .parse::<routefinder::RouteSpec>()
        .map_err(|e| anyhow!("{e}"))?;
    Ok(())
}

/// Leading `/` added, one trailing `/` removed (so `/` becomes `""`).
pub fn normalize(raw: &str) -> String {
    let with_slash = if raw.starts_with('/') {
        raw.to_string()
    } else {
        format!("/{raw}")
    };
    with_slash
        .strip_suffix('/')
        .map(str::to_string)
        .unwrap_or(with_slash)
}

/// The prefix of a wildcard route (`/a/...`, `/a/*`, `/...`), if it is one.
pub fn strip_wildcard(route: &str) -> Option<&str> {
    route
        .strip_suffix("/...")
        .or_else(|| route.strip_suffix("/*"))
}

/// The `routefinder` pattern of a normalized route (a wildcard becomes `/*`).
pub fn routefinder_pattern(route: &str) -> String {
    match strip_wildcard(route) {
        Some(prefix) => format!("{prefix}/*"),
        None if route.is_empty() => "/".to_string(),
        None => route.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unnamed_param_is_a_syntax_error() {
        assert!(check_route_syntax("/:").is_err());
        assert!(check_route_syntax("/users/:id/...").is_ok());
    }
}
