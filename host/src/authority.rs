//! Which authority an inbound request is for, decided as Spin decides it (spin-compat s.2 and
//! s.11): a `Host` naming `*.spin.internal` is dropped first (a client must not pose as a
//! chained call); then the `Host` header and an absolute-form target's authority must agree,
//! and one of them must be left. Routing never looks at the authority.

use http::uri::Authority;
use http::HeaderMap;

/// The authority the guest sees, and the `Host` value for `spin-full-url` (`None` when the
/// request has no `Host` left: Spin then writes `localhost` there).
#[derive(Debug, PartialEq, Eq)]
pub struct InboundAuthority {
    pub authority: Authority,
    pub host_header: Option<String>,
}

/// Why a request gets no answer at all (Spin closes the connection).
#[derive(Debug, PartialEq, Eq)]
pub enum Unanswerable {
    NoAuthority,
    UnparsableHost,
    Disagree,
}

impl std::fmt::Display for Unanswerable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Unanswerable::NoAuthority => "request without a Host header or an absolute-form target",
            Unanswerable::UnparsableHost => "request with an unparsable Host header",
            Unanswerable::Disagree => "Host header and request target name different authorities",
        })
    }
}

impl std::error::Error for Unanswerable {}

/// Removes a `*.spin.internal` `Host` from `headers`, then decides the authority.
pub fn resolve(
    headers: &mut HeaderMap,
    target: Option<&Authority>,
) -> Result<InboundAuthority, Unanswerable> {
    if headers
        .get(http::header::HOST)
        .and_then(|value| value.to_str().ok())
        .is_some_and(names_service_chaining_host)
    {
        headers.remove(http::header::HOST);
    }
    let host_header = match headers.get(http::header::HOST) {
        None => None,
        Some(value) => {
            let text = value.to_str().map_err(|_| Unanswerable::UnparsableHost)?;
            let parsed = Authority::try_from(text).map_err(|_| Unanswerable::UnparsableHost)?;
            Some((text.to_owned(), parsed))
        }
    };
    match (host_header, target) {
        (None, None) => Err(Unanswerable::NoAuthority),
        (None, Some(target)) => Ok(InboundAuthority {
            authority: target.clone(),
            host_header: None,
        }),
        (Some((_, host)), Some(target)) if host != *target => Err(Unanswerable::Disagree),
        (Some((text, host)), _) => Ok(InboundAuthority {
            authority: host,
            host_header: Some(text),
        }),
    }
}

/// `x.spin.internal` or `x.spin.internal:port`: the names only chained requests carry.
fn names_service_chaining_host(host: &str) -> bool {
    let name = host.rsplit_once(':').map_or(host, |(name, _)| name);
    name.ends_with(".spin.internal")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolve_with(
        host: Option<&str>,
        target: Option<&str>,
    ) -> Result<(String, Option<String>), Unanswerable> {
        let mut headers = HeaderMap::new();
        if let Some(host) = host {
            headers.insert(http::header::HOST, host.parse().unwrap());
        }
        let target = target.map(|t| Authority::try_from(t).unwrap());
        resolve(&mut headers, target.as_ref())
            .map(|found| (found.authority.to_string(), found.host_header))
    }

    #[test]
    fn spins_table_of_targets_and_hosts() {
        use Unanswerable::*;
        let internal = "support.spin.internal";
        let own = "127.0.0.1:3997";
        let other = "example.com";
        assert_eq!(
            resolve_with(Some(internal), Some(internal)),
            Ok((internal.into(), None))
        );
        assert_eq!(resolve_with(Some(other), Some(internal)), Err(Disagree));
        assert_eq!(resolve_with(Some(own), Some(internal)), Err(Disagree));
        assert_eq!(
            resolve_with(Some(internal), Some(other)),
            Ok((other.into(), None))
        );
        assert_eq!(
            resolve_with(Some(other), Some(other)),
            Ok((other.into(), Some(other.into())))
        );
        assert_eq!(resolve_with(Some(own), Some(other)), Err(Disagree));
        assert_eq!(resolve_with(Some(internal), None), Err(NoAuthority));
        assert_eq!(
            resolve_with(Some(other), None),
            Ok((other.into(), Some(other.into())))
        );
        assert_eq!(
            resolve_with(Some(own), None),
            Ok((own.into(), Some(own.into())))
        );
    }

    #[test]
    fn a_port_on_the_internal_name_is_still_internal() {
        assert_eq!(
            resolve_with(Some("x.spin.internal:80"), None),
            Err(Unanswerable::NoAuthority)
        );
        assert_eq!(
            resolve_with(Some("spin.internal.example.com"), None).map(|found| found.0),
            Ok("spin.internal.example.com".into())
        );
    }

    #[test]
    fn no_authority_and_bad_hosts_are_unanswerable() {
        assert_eq!(resolve_with(None, None), Err(Unanswerable::NoAuthority));
        assert_eq!(
            resolve_with(Some("a b"), None),
            Err(Unanswerable::UnparsableHost)
        );
    }
}
