//! Bodies on the wire that belong to no one view (the views show themselves: `CustomerView`,
//! `Summary`, `AlertView` in `projection`, `EventReceipt` in `event`).

use crate::projection::AlertView;

/// `GET /insights/telemetry/alerts`.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct ActiveAlerts {
    /// Newest first.
    #[schema(max_items = 1000)]
    pub alerts: Vec<AlertView>,
}
