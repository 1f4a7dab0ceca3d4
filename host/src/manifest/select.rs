//! `up -c/--component-id ID`: run a subset of the application, as Spin does (spin-compat s.10).
//! Only the selected components and the triggers naming them stay; an unknown id, or a selected
//! component allowed to chain to a component left out (or to any, by wildcard), is refused
//! before anything starts, with Spin's messages.

use anyhow::{bail, Result};

use super::{App, TriggerTarget};

impl App {
    /// This application with only the `selected` components and their triggers.
    pub fn select_components(mut self, selected: &[String]) -> Result<App> {
        for id in selected {
            if !self.components.contains_key(id) {
                bail!("Specified component \"{id}\" not found in application");
            }
        }
        self.check_chaining_stays_inside(selected)?;
        self.http_triggers.retain(
            |trigger| matches!(&trigger.target, TriggerTarget::Component(id) if selected.contains(id)),
        );
        let triggered: Vec<String> = self
            .triggered_components()
            .map(|component| component.id.clone())
            .collect();
        self.components.retain(|id, _| triggered.contains(id));
        if self.http_triggers.is_empty() {
            bail!("No triggers in app");
        }
        Ok(self)
    }

    /// A selected component may chain only to selected ones. Entries that are templates are not
    /// resolved yet and are skipped, as Spin skips them.
    fn check_chaining_stays_inside(&self, selected: &[String]) -> Result<()> {
        for trigger in &self.http_triggers {
            let TriggerTarget::Component(id) = &trigger.target else {
                continue;
            };
            let Some(component) = self.components.get(id).filter(|_| selected.contains(id)) else {
                continue;
            };
            for entry in &component.allowed_outbound_hosts {
                let Some(target) = chaining_target(entry) else {
                    continue;
                };
                if selected.contains(&target) {
                    continue;
                }
                if target == "*" {
                    bail!(
                        "Selected component '{id}' cannot use wildcard service chaining: \
                         allowed_outbound_hosts = [\"http://*.spin.internal\"]"
                    );
                }
                bail!(
                    "Selected component '{id}' cannot use service chaining to unselected \
                     component: allowed_outbound_hosts = [\"http://{target}.spin.internal\"]"
                );
            }
        }
        Ok(())
    }
}

/// `X` of an allowed-hosts entry naming `X.spin.internal` (`*` for the wildcard).
fn chaining_target(entry: &str) -> Option<String> {
    let uri = entry.parse::<http::Uri>().ok()?;
    let host = uri.host()?;
    let (target, domain) = host.split_once('.')?;
    (domain == "spin.internal").then(|| target.to_owned())
}

#[cfg(test)]
mod tests {
    use super::chaining_target;

    #[test]
    fn chaining_targets_are_read_from_entries() {
        assert_eq!(
            chaining_target("http://events.spin.internal").as_deref(),
            Some("events")
        );
        assert_eq!(
            chaining_target("http://*.spin.internal").as_deref(),
            Some("*")
        );
        assert_eq!(
            chaining_target("https://events.spin.internal:443").as_deref(),
            Some("events")
        );
        assert_eq!(chaining_target("http://example.com"), None);
        assert_eq!(chaining_target("{{ subscriber_hosts }}"), None);
        assert_eq!(chaining_target("http://self"), None);
    }
}
