//! What the label-based capabilities (key-value, SQLite) share: each label's
//! store, opened once at startup and shared by every component declaring it.
//! A reload keeps the open store of every label whose configuration is unchanged.

use anyhow::Result;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

/// Each declared label's configuration and shared store.
pub struct ByLabel<T: ?Sized, C> {
    stores: HashMap<String, (C, Arc<T>)>,
}

impl<T: ?Sized, C: Clone + PartialEq> ByLabel<T, C> {
    /// Resolves and opens, once each, the labels components declare, as
    /// `(component, label)`: a label's runtime config, else `default` for
    /// the label `default`. A use of an undefined label goes to `undefined`,
    /// which fails at once or notes it and lets the others open. A label
    /// `previous` holds with the same configuration keeps its open store.
    pub fn open(
        previous: Option<&ByLabel<T, C>>,
        declared: impl IntoIterator<Item = (String, String)>,
        configured: &BTreeMap<String, C>,
        default: C,
        mut undefined: impl FnMut(&str, &str) -> Result<()>,
        open: impl Fn(&str, &C) -> Result<Arc<T>>,
    ) -> Result<ByLabel<T, C>> {
        let mut stores = HashMap::new();
        for (component, label) in declared {
            if stores.contains_key(&label) {
                continue;
            }
            let config = match configured.get(&label) {
                Some(config) => config,
                None if label == "default" => &default,
                None => {
                    undefined(&component, &label)?;
                    continue;
                }
            };
            let kept = previous
                .and_then(|previous| previous.stores.get(&label))
                .filter(|(old, _)| old == config);
            let store = match kept {
                Some((_, store)) => store.clone(),
                None => open(&label, config)?,
            };
            stores.insert(label, (config.clone(), store));
        }
        Ok(ByLabel { stores })
    }

    /// One component's map of the labels it declares (all opened at
    /// startup), each made by `declare` from the label and its shared store.
    pub fn for_component<D>(
        &self,
        labels: &[String],
        declare: impl Fn(&str, Arc<T>) -> D,
    ) -> HashMap<String, D> {
        labels
            .iter()
            .map(|label| (label.clone(), declare(label, self.stores[label].1.clone())))
            .collect()
    }

    /// The configuration a declared label resolved to.
    pub fn config(&self, label: &str) -> Option<&C> {
        self.stores.get(label).map(|(config, _)| config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    fn open(
        previous: Option<&ByLabel<String, String>>,
        configured: &[(&str, &str)],
        opened: &Cell<usize>,
    ) -> ByLabel<String, String> {
        let configured: BTreeMap<String, String> = configured
            .iter()
            .map(|(label, config)| (label.to_string(), config.to_string()))
            .collect();
        let declared = configured.keys().map(|l| ("c".to_owned(), l.clone()));
        ByLabel::open(
            previous,
            declared.collect::<Vec<_>>(),
            &configured,
            "default".to_owned(),
            |_, _| Ok(()),
            |label, config| {
                opened.set(opened.get() + 1);
                Ok(Arc::new(format!("{label}:{config}")))
            },
        )
        .unwrap()
    }

    #[test]
    fn a_reopen_keeps_the_stores_whose_configuration_is_unchanged() {
        let opened = Cell::new(0);
        let first = open(None, &[("a", "file a"), ("b", "file b")], &opened);
        assert_eq!(opened.get(), 2);
        let second = open(Some(&first), &[("a", "file a"), ("b", "file b2")], &opened);
        assert_eq!(opened.get(), 3, "only b opened again");
        assert!(Arc::ptr_eq(&first.stores["a"].1, &second.stores["a"].1));
        assert_eq!(*second.stores["b"].1, "b:file b2");
        assert_eq!(second.config("b").map(String::as_str), Some("file b2"));
    }
}
