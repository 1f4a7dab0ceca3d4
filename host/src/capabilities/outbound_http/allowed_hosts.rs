//! Spin's `allowed_outbound_hosts` rules: parsing and matching, nothing else.

use anyhow::{bail, Context, Result};
use ipnet::IpNet;
use std::net::IpAddr;

/// A component's parsed `allowed_outbound_hosts`.
#[derive(Debug, Clone, Default)]
pub struct OutboundRules {
    entries: Vec<AllowedHost>,
}

#[derive(Debug, Clone, PartialEq)]
struct AllowedHost {
    /// `None` = any scheme (`*`).
    scheme: Option<String>,
    host: HostPattern,
    port: PortPattern,
}

#[derive(Debug, Clone, PartialEq)]
enum HostPattern {
    Any,
    /// `*.example.com`: any subdomain depth, not the name itself.
    SubdomainsOf(String),
    Exact(String),
    Cidr(IpNet),
    /// `self` / `self.alt`: this application.
    ThisApp,
}

#[derive(Debug, Clone, PartialEq)]
enum PortPattern {
    Any,
    One(u16),
    /// `a..b`, end exclusive.
    Range(u16, u16),
}

/// The port a scheme implies when an entry or a URL names none.
pub fn default_port(scheme: &str) -> Option<u16> {
    Some(match scheme {
        "http" => 80,
        "https" => 443,
        "redis" => 6379,
        "mysql" => 3306,
        "postgres" => 5432,
        "mqtt" => 1883,
        _ => return None,
    })
}

impl OutboundRules {
    /// Parses entries (templates already rendered); `component_ids` expands
    /// `*.spin.internal`.
    pub fn parse(entries: &[String], component_ids: &[String]) -> Result<OutboundRules> {
        let mut rules = Vec::new();
        for entry in entries {
            let parsed = parse_entry(entry)
                .with_context(|| format!("invalid allowed_outbound_hosts entry {entry:?}"))?;
            if parsed.host == HostPattern::SubdomainsOf("spin.internal".into()) {
                for id in component_ids {
                    rules.push(AllowedHost {
                        host: HostPattern::Exact(format!("{id}.spin.internal")),
                        ..parsed.clone()
                    });
                }
            } else {
                rules.push(parsed);
            }
        }
        Ok(OutboundRules { entries: rules })
    }

    /// Whether a request to `scheme://host:port` is allowed.
    pub fn allows(&self, scheme: &str, host: &str, port: u16) -> bool {
        let host = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_ascii_lowercase();
        self.entries.iter().any(|rule| {
            rule.scheme
                .as_deref()
                .is_none_or(|s| s.eq_ignore_ascii_case(scheme))
                && match &rule.port {
                    PortPattern::Any => true,
                    PortPattern::One(p) => *p == port,
                    PortPattern::Range(a, b) => (*a..*b).contains(&port),
                }
                && match &rule.host {
                    HostPattern::Any => true,
                    HostPattern::SubdomainsOf(domain) => host.ends_with(&format!(".{domain}")),
                    HostPattern::Exact(name) => *name == host,
                    HostPattern::Cidr(net) => {
                        host.parse::<IpAddr>().is_ok_and(|ip| net.contains(&ip))
                    }
                    HostPattern::ThisApp => false,
                }
        })
    }

    /// Whether requests to this application itself (relative URLs) are allowed.
    pub fn allows_self(&self) -> bool {
        self.entries
            .iter()
            .any(|r| matches!(r.host, HostPattern::ThisApp | HostPattern::Any))
    }
}

fn parse_entry(entry: &str) -> Result<AllowedHost> {
    if entry == "insecure:allow-all" {
        bail!("'insecure:allow-all' is not allowed; use \"*://*:*\" to allow everything");
    }
    let Some((scheme, rest)) = entry.split_once("://") else {
        bail!("expected <scheme>://<host>[:<port>]")
    };
    let scheme = match scheme {
        "*" => None,
        s if !s.is_empty() && s.chars().all(|c| c.is_ascii_alphabetic()) => {
            Some(s.to_ascii_lowercase())
        }
        _ => bail!("scheme must be `*` or a single alphabetic scheme"),
    };
    let rest = rest.strip_suffix('/').unwrap_or(rest);
    // A CIDR host contains a `/`; anything else after the host is a path.
    let (host_text, port_text) = split_host_port(rest)?;
    let host = match host_text.to_ascii_lowercase().as_str() {
        "*" => HostPattern::Any,
        "self" | "self.alt" => HostPattern::ThisApp,
        h if h.starts_with("*.") => HostPattern::SubdomainsOf(h[2..].to_string()),
        h if h.contains('/') => HostPattern::Cidr(h.parse().map_err(|_| {
            anyhow::anyhow!("paths are not allowed; only <scheme>://<host>[:<port>]")
        })?),
        h if h.contains('*') => bail!("`*` is only allowed alone or as a leading `*.`"),
        h => HostPattern::Exact(h.trim_start_matches('[').trim_end_matches(']').to_string()),
    };
    let port = match port_text {
        Some("*") => PortPattern::Any,
        Some(p) if p.contains("..") => {
            let (a, b) = p.split_once("..").expect("checked");
            PortPattern::Range(
                a.parse().context("bad port range")?,
                b.parse().context("bad port range")?,
            )
        }
        Some(p) => PortPattern::One(p.parse().with_context(|| format!("bad port {p:?}"))?),
        None => match scheme.as_deref().and_then(default_port) {
            Some(p) => PortPattern::One(p),
            None if host == HostPattern::ThisApp => PortPattern::Any,
            None => bail!(
                "a port is required for scheme {:?}",
                scheme.as_deref().unwrap_or("*")
            ),
        },
    };
    Ok(AllowedHost { scheme, host, port })
}

/// Splits `host[:port]`, handling `[v6]:port` and CIDR suffixes.
fn split_host_port(text: &str) -> Result<(&str, Option<&str>)> {
    if let Some(stripped) = text.strip_prefix('[') {
        let end = stripped.find(']').context("unclosed `[`")?;
        let host = &text[..end + 2];
        let rest = &text[end + 2..];
        return Ok((host, rest.strip_prefix(':')));
    }
    let (host, port) = match text.rsplit_once(':') {
        Some((h, p)) => (h, Some(p)),
        None => (text, None),
    };
    if let Some((_, tail)) = host.split_once('/') {
        if !tail.chars().all(|c| c.is_ascii_digit()) || tail.is_empty() {
            bail!("paths are not allowed; only <scheme>://<host>[:<port>]");
        }
    }
    Ok((host, port))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(entries: &[&str]) -> OutboundRules {
        let entries: Vec<String> = entries.iter().map(|s| s.to_string()).collect();
        OutboundRules::parse(&entries, &["echo".into(), "visits".into()]).unwrap()
    }

    #[test]
    fn default_ports_follow_the_scheme() {
        let r = rules(&["https://example.com"]);
        assert!(r.allows("https", "example.com", 443));
        assert!(!r.allows("https", "example.com", 8443));
        assert!(!r.allows("http", "example.com", 80));
    }

    #[test]
    fn wildcard_subdomains_exclude_the_domain_itself() {
        let r = rules(&["http://*.example.com"]);
        assert!(r.allows("http", "a.b.example.com", 80));
        assert!(!r.allows("http", "example.com", 80));
    }

    #[test]
    fn port_ranges_exclude_their_end_and_cidrs_match() {
        let r = rules(&["http://127.0.0.0/8:8000..8002"]);
        assert!(r.allows("http", "127.0.0.1", 8001));
        assert!(!r.allows("http", "127.0.0.1", 8002));
        assert!(!r.allows("http", "10.0.0.1", 8001));
    }

    #[test]
    fn spin_internal_wildcard_expands_to_components() {
        let r = rules(&["http://*.spin.internal"]);
        assert!(r.allows("http", "echo.spin.internal", 80));
        assert!(!r.allows("https", "echo.spin.internal", 443));
        assert!(!r.allows("http", "other.spin.internal", 80));
    }

    #[test]
    fn everything_and_self() {
        let r = rules(&["*://*:*"]);
        assert!(r.allows("redis", "db", 1));
        assert!(rules(&["http://self"]).allows_self());
        assert!(!rules(&["http://example.com"]).allows_self());
    }

    #[test]
    fn malformed_entries_are_rejected() {
        for bad in [
            "insecure:allow-all",
            "*://example.com",
            "http://example.com/path",
            "example.com",
            "ftp://x",
        ] {
            assert!(
                OutboundRules::parse(&[bad.to_string()], &[]).is_err(),
                "{bad}"
            );
        }
    }
}
