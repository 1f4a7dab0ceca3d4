//! End-to-end tests (placeholder until the service lands).
