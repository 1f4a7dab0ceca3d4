//! A store as one component sees it, and the guest's handle to an opened one.

use super::backend::KeyValueBackend;
use super::metrics::KeyValueOps;
use std::collections::HashMap;
use std::sync::Arc;

/// The capability's per-component state. Only the labels the component
/// declares are here: others are `access-denied`.
pub struct KeyValueComponent {
    pub(super) stores: HashMap<String, DeclaredStore>,
}

/// A store as one component sees it: the backend (shared by every component
/// declaring the label) and this component's operation counters.
#[derive(Clone)]
pub(super) struct DeclaredStore {
    pub(super) backend: Arc<dyn KeyValueBackend>,
    pub(super) ops: Arc<KeyValueOps>,
}

/// The guest's handle to an opened store.
pub struct KeyValueHandle {
    pub(super) store: DeclaredStore,
}
