//! Bodies on the wire that belong to no one domain type (the domain modules show their own
//! entities: `PostView`, `FollowView`, `UserView`).

use serde::Serialize;
use utoipa::ToSchema;

use crate::post::PostView;

/// One page of `GET /feed/users/{id}/timeline` or `GET /feed/users/{id}/posts`.
#[derive(Debug, Serialize, ToSchema)]
pub struct PostPage {
    /// Newest first.
    #[schema(max_items = 100)]
    pub posts: Vec<PostView>,
    /// Pass as `cursor` for the next page; null on the last page.
    #[schema(required = true, pattern = "^c[0-7][0-9a-f]{15}$")]
    pub next_cursor: Option<String>,
}
