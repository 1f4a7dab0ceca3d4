//! HTTP route matching with Spin's rules: the `routefinder` crate (Spin's own
//! matcher) orders routes, and this module adds Spin's route normalisation,
//! duplicate handling and the values behind the `spin-*` request headers.

use crate::manifest::route_syntax::{normalize, routefinder_pattern, strip_wildcard};
use crate::manifest::{App, RouteDecl, TriggerTarget};
use anyhow::{anyhow, Result};

/// One public route of the application.
#[derive(Debug, Clone)]
pub struct RouteEntry {
    /// Route exactly as written in the manifest (`spin-raw-component-route`).
    pub raw: String,
    /// Normalised route (`spin-matched-route`): leading `/`, one trailing `/` removed.
    pub matched: String,
    /// Normalised route without its trailing wildcard (`spin-component-route`).
    pub component_route: String,
    pub wildcard: bool,
    /// Component id or trigger id, for listings.
    pub label: String,
    pub target: TriggerTarget,
    prefix_segments: usize,
}

/// A successful match of a request path.
pub struct RouteMatch<'a> {
    pub entry: &'a RouteEntry,
    /// `spin-path-info`: what the wildcard matched (empty for exact routes).
    pub path_info: String,
    /// `:name` captures, in route order.
    pub params: Vec<(String, String)>,
}

/// The app's public routes, in Spin's matching order.
pub struct Router {
    finder: routefinder::Router<usize>,
    entries: Vec<RouteEntry>,
}

impl Router {
    /// Builds the router from the app's public routes. Returns the router and
    /// Spin's warnings (duplicates, reserved paths) to print.
    pub fn build(app: &App) -> Result<(Router, Vec<String>)> {
        let mut entries: Vec<RouteEntry> = Vec::new();
        let mut warnings = Vec::new();
        let mut duplicates = Vec::new();
        for trigger in &app.http_triggers {
            let RouteDecl::Public(raw) = &trigger.route else {
                continue;
            };
            let label = match &trigger.target {
                TriggerTarget::Component(id) => id.clone(),
                TriggerTarget::Static(_) => trigger.id.clone(),
            };
            let entry = RouteEntry::new(raw, label, trigger.target.clone())?;
            if entry.matched.starts_with("/.well-known/spin/")
                || entry.matched == "/.well-known/spin"
            {
                warnings.push(
                    "Routes under /.well-known/spin/ are handled by the Spin runtime and will never be reached"
                        .to_string(),
                );
            }
            // Identical route strings: the later declaration wins, as in Spin.
            if let Some(pos) = entries.iter().position(|e| e.raw == entry.raw) {
                let replaced = entries.remove(pos);
                duplicates.push(format!(
                    "  {}: {} (duplicate of {})",
                    replaced.label, replaced.raw, entry.label
                ));
            }
            entries.push(entry);
        }
        if !duplicates.is_empty() {
            warnings.push(format!(
                "The following component routes are duplicates and will never be used:\n{}",
                duplicates.join("\n")
            ));
        }
        let mut finder = routefinder::Router::new();
        for (index, entry) in entries.iter().enumerate() {
            finder
                .add(routefinder_pattern(&entry.matched), index)
                .map_err(|e| anyhow!("invalid route `{}`: {e}", entry.raw))?;
        }
        Ok((Router { finder, entries }, warnings))
    }

    /// Finds the best route for a raw (undecoded) request path.
    pub fn route(&self, path: &str) -> Option<RouteMatch<'_>> {
        let found = self.finder.best_match(path)?;
        let entry = &self.entries[*found.handler()];
        let params = found
            .captures()
            .params()
            .iter()
            .map(|c| (c.name().to_string(), c.value().to_string()))
            .collect();
        let path_info = if entry.wildcard {
            path_after_segments(path, entry.prefix_segments)
        } else {
            String::new()
        };
        Some(RouteMatch {
            entry,
            path_info,
            params,
        })
    }

    /// Public routes in matching precedence order.
    pub fn routes_in_order(&self) -> Vec<&RouteEntry> {
        self.finder
            .iter()
            .map(|(_, index)| &self.entries[*index])
            .collect()
    }
}

impl RouteEntry {
    fn new(raw: &str, label: String, target: TriggerTarget) -> Result<RouteEntry> {
        let matched = normalize(raw);
        let (component_route, wildcard) = match strip_wildcard(&matched) {
            Some(prefix) => (prefix.to_string(), true),
            None => (matched.clone(), false),
        };
        let prefix_segments = component_route.split('/').filter(|s| !s.is_empty()).count();
        Ok(RouteEntry {
            raw: raw.to_string(),
            matched,
            component_route,
            wildcard,
            label,
            target,
            prefix_segments,
        })
    }
}

/// The rest of `path` after skipping `count` segments, keeping its leading
/// and trailing slashes (`/a/x/` after one segment is `/x/`).
fn path_after_segments(path: &str, count: usize) -> String {
    let mut rest = path;
    for _ in 0..count {
        rest = rest.trim_start_matches('/');
        rest = &rest[rest.find('/').unwrap_or(rest.len())..];
    }
    rest.to_string()
}

/// Header name for a `:name` capture: `user_id` -> `spin-path-match-user-id`.
pub fn param_header_name(name: &str) -> String {
    format!(
        "spin-path-match-{}",
        name.replace('_', "-").to_ascii_lowercase()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::App;
    use std::path::Path;

    fn router(routes: &[&str]) -> Router {
        let mut text = String::from("spin_manifest_version = 2\n[application]\nname = \"t\"\n");
        for (i, r) in routes.iter().enumerate() {
            text.push_str(&format!(
                "[[trigger.http]]\nroute = \"{r}\"\ncomponent = \"c{i}\"\n"
            ));
            text.push_str(&format!("[component.c{i}]\nsource = \"x.wasm\"\n"));
        }
        let app = App::parse(&text, Path::new("/")).unwrap();
        Router::build(&app).unwrap().0
    }

    fn winner(r: &Router, path: &str) -> Option<String> {
        r.route(path).map(|m| m.entry.raw.clone())
    }

    #[test]
    fn precedence_follows_spin() {
        let r = router(&[
            "/a/...",
            "/a",
            "/a/:id",
            "/a/b/...",
            "/one/...",
            "/one/two/...",
            "/...",
            "/:x",
        ]);
        assert_eq!(winner(&r, "/a").unwrap(), "/a");
        assert_eq!(winner(&r, "/a/7").unwrap(), "/a/:id");
        assert_eq!(winner(&r, "/a/b").unwrap(), "/a/b/...");
        assert_eq!(winner(&r, "/a/7/8").unwrap(), "/a/...");
        assert_eq!(winner(&r, "/one/two/x").unwrap(), "/one/two/...");
        assert_eq!(winner(&r, "/foo").unwrap(), "/:x");
        assert_eq!(winner(&r, "/foo/bar").unwrap(), "/...");
    }

    #[test]
    fn wildcard_path_info_keeps_trailing_slash() {
        let r = router(&["/a/..."]);
        assert_eq!(r.route("/a").unwrap().path_info, "");
        assert_eq!(r.route("/a/").unwrap().path_info, "/");
        assert_eq!(r.route("/a/x").unwrap().path_info, "/x");
        assert_eq!(r.route("/a/x/").unwrap().path_info, "/x/");
        assert!(r.route("/ab").is_none());
    }

    #[test]
    fn catch_all_matches_root() {
        let r = router(&["/..."]);
        let m = r.route("/").unwrap();
        assert_eq!(m.path_info, "/");
        assert_eq!(m.entry.component_route, "");
        assert_eq!(m.entry.matched, "/...");
    }

    #[test]
    fn params_are_captured_and_header_names_derived() {
        let r = router(&["/api/users/:user_id/..."]);
        let m = r.route("/api/users/42/posts/7").unwrap();
        assert_eq!(m.params, vec![("user_id".to_string(), "42".to_string())]);
        assert_eq!(m.path_info, "/posts/7");
        assert_eq!(m.entry.component_route, "/api/users/:user_id");
        assert_eq!(param_header_name("user_id"), "spin-path-match-user-id");
    }

    #[test]
    fn slashes_around_request_path_are_ignored() {
        let r = router(&["/a"]);
        assert!(r.route("/a/").is_some());
        assert!(r.route("//a").is_some());
        assert!(r.route("/a///").is_some());
        assert!(r.route("/b").is_none());
    }

    #[test]
    fn root_route_matches_as_empty() {
        let r = router(&["/"]);
        let m = r.route("/").unwrap();
        assert_eq!(m.entry.matched, "");
    }

    #[test]
    fn later_duplicate_wins_with_warning() {
        let text = "spin_manifest_version = 2\n[application]\nname = \"t\"\n\
            [[trigger.http]]\nroute = \"/x\"\ncomponent = \"first\"\n\
            [[trigger.http]]\nroute = \"/x\"\ncomponent = \"second\"\n\
            [component.first]\nsource = \"a.wasm\"\n[component.second]\nsource = \"b.wasm\"\n";
        let app = App::parse(text, Path::new("/")).unwrap();
        let (r, warnings) = Router::build(&app).unwrap();
        assert_eq!(r.route("/x").unwrap().entry.label, "second");
        assert!(
            warnings[0].contains("first: /x (duplicate of second)"),
            "{warnings:?}"
        );
    }
}
