//! The service's contract and health: `GET /feed/openapi.json` serves an OpenAPI 3.1 document
//! generated (by `utoipa`) from the types the handlers really read and write and from the
//! operation descriptors below (one per endpoint of `handlers`); `GET /feed/health` checks the
//! service's own store.
//!
//! What the derive cannot see is held to the code by the unit tests below: every route of
//! `route::resource` is in the document with exactly the methods it answers, and every pattern
//! agrees with the validator it describes.

use service_kit::contract::{check_sqlite, ErrorBody, Health, ServiceEndpoints, StorageErrors};
use service_kit::outbox;
use spin_sdk::http::Response;
use utoipa::OpenApi;

use crate::handlers::SERVICE;
use crate::post::{NewPostBody, PostView};
use crate::store::DATABASE_LABEL;
use crate::user::{FollowView, UserView};
use crate::wire::PostPage;

/// `GET /feed/health`: 200 when the service's own store answers, else 503.
pub fn health() -> Response {
    Health::from_checks(SERVICE, vec![("sqlite", check_sqlite(DATABASE_LABEL))]).into_response()
}

/// `GET /feed/openapi.json`: this document.
pub fn openapi() -> Response {
    service_kit::embedded_document::response(DOCUMENT)
}

/// The document. `info` comes from Cargo.toml (name, version, description, license).
#[derive(OpenApi)]
#[openapi(
    info(title = "feed"),
    paths(
        get_user,
        follow,
        unfollow,
        create_post,
        list_posts,
        get_post,
        timeline,
        outbox_status,
        flush_outbox,
    ),
    components(schemas(ErrorBody, Health)),
    modifiers(&STORAGE_ERRORS, &SERVICE_ENDPOINTS),
    tags(
        (name = "users", description = "Users, their counts and whom they follow."),
        (name = "posts", description = "Posts of 1 to 2,000 characters and timelines."),
        (name = "outbox", description = "The transactional outbox of `feed.*` events."),
        (name = "service", description = "Health and contract."),
    )
)]
pub struct ApiDoc;

/// The document as the component serves it: [`ApiDoc`] serialised by the unit tests into
/// `openapi.json` (`UPDATE_OPENAPI=1 cargo test -p feed` rewrites it), so that the component
/// links none of utoipa's document building.
pub const DOCUMENT: &str = include_str!("../openapi.json");

/// `500 storage error` on every operation but these two, which never touch the store.
const STORAGE_ERRORS: StorageErrors = StorageErrors(&["health", "openapi"]);
/// `GET /feed/health` and `GET /feed/openapi.json`, as every service has them.
const SERVICE_ENDPOINTS: ServiceEndpoints = ServiceEndpoints {
    checks: "its SQLite database answers `SELECT 1`",
};

// ---------------------------------------------------------------------------------------------
// The operations: descriptors holding no code, only what each endpoint of `handlers` answers.

/// `GET /feed/users/{id}`: post, following and follower counts.
#[utoipa::path(
    get,
    path = "/feed/users/{id}",
    tag = "users",
    summary = "A user's counts",
    description = "Every well-formed user id names a user: one nobody has named yet has zeros.",
    params(("id" = String, Path, description = "The user id.",
        pattern = "^[a-z0-9_-]{1,32}$", min_length = 1, max_length = 32)),
    responses(
        (status = 200, description = "The user's counts.", body = UserView),
        (status = 404, description = "The id is not a user id.", body = ErrorBody),
    )
)]
pub fn get_user() {}

/// `PUT /feed/users/{id}/following/{other}`: 201 new, 200 already followed.
#[utoipa::path(
    put,
    path = "/feed/users/{id}/following/{other}",
    tag = "users",
    summary = "Follow a user",
    params(
        ("id" = String, Path, description = "Who follows.",
            pattern = "^[a-z0-9_-]{1,32}$", min_length = 1, max_length = 32),
        ("other" = String, Path, description = "Whom they follow (someone else).",
            pattern = "^[a-z0-9_-]{1,32}$", min_length = 1, max_length = 32),
    ),
    responses(
        (status = 201, description = "Now following.", body = FollowView),
        (status = 200, description = "Already following (nothing changed).", body = FollowView),
        (status = 404, description = "An id is not a user id.", body = ErrorBody),
        (status = 422, description = "A user cannot follow themselves.", body = ErrorBody),
    )
)]
pub fn follow() {}

/// `DELETE /feed/users/{id}/following/{other}`: 204, 404 if not followed.
#[utoipa::path(
    delete,
    path = "/feed/users/{id}/following/{other}",
    tag = "users",
    summary = "Stop following a user",
    params(
        ("id" = String, Path, description = "Who follows.",
            pattern = "^[a-z0-9_-]{1,32}$", min_length = 1, max_length = 32),
        ("other" = String, Path, description = "Whom they follow.",
            pattern = "^[a-z0-9_-]{1,32}$", min_length = 1, max_length = 32),
    ),
    responses(
        (status = 204, description = "No longer following."),
        (status = 404, description = "Not following, or an id is not a user id.", body = ErrorBody),
        (status = 422, description = "A user cannot follow (or unfollow) themselves.", body = ErrorBody),
    )
)]
pub fn unfollow() {}

/// `POST /feed/users/{id}/posts`: publishes a post (201 + Location).
#[utoipa::path(
    post,
    path = "/feed/users/{id}/posts",
    tag = "posts",
    summary = "Publish a post",
    description = "Stores the post and publishes `feed.post.created` on topic `feed.posts`. With \
        an `Idempotency-Key`, a retry of the same request returns the first post \
        (`Idempotent-Replayed: true`) and publishes nothing; the same key with a different \
        request is 422.",
    params(
        ("id" = String, Path, description = "The author.",
            pattern = "^[a-z0-9_-]{1,32}$", min_length = 1, max_length = 32),
        ("Idempotency-Key" = Option<String>, Header, nullable = false,
            description = "1 to 255 printable ASCII characters, scoped to the author.",
            pattern = "^[!-~](?:[ -~]{0,253}[!-~])?$", min_length = 1, max_length = 255),
    ),
    request_body(content = NewPostBody, content_type = "application/json"),
    responses(
        (status = 201, description = "Published (or, for a repeated Idempotency-Key, the first result).",
            body = PostView,
            headers(
                ("Location" = String, description = "`/feed/users/{id}/posts/{post}`."),
                ("Idempotent-Replayed" = String, description = "`true` when this replays a first result."),
            )),
        (status = 400, description = "The JSON, a field or the Idempotency-Key is invalid.", body = ErrorBody),
        (status = 404, description = "The id is not a user id.", body = ErrorBody),
        (status = 413, description = "The body is over 64 KiB.", body = ErrorBody),
        (status = 415, description = "The content type is not JSON.", body = ErrorBody),
        (status = 422, description = "The Idempotency-Key was used for a different request.", body = ErrorBody),
    )
)]
pub fn create_post() {}

/// `GET /feed/users/{id}/posts?limit=&cursor=`: newest first, one page.
#[utoipa::path(
    get,
    path = "/feed/users/{id}/posts",
    tag = "posts",
    summary = "A user's posts, newest first",
    params(
        ("id" = String, Path, description = "The author.",
            pattern = "^[a-z0-9_-]{1,32}$", min_length = 1, max_length = 32),
        ("limit" = Option<i64>, Query, description = "Page size (default 20).", minimum = 1, maximum = 100),
        ("cursor" = Option<String>, Query,
            description = "Opaque: the `next_cursor` of the previous page.",
            pattern = "^c[0-7][0-9a-f]{15}$"),
    ),
    responses(
        (status = 200, description = "One page of posts.", body = PostPage),
        (status = 400, description = "A parameter is invalid or unknown; the message names it.", body = ErrorBody),
        (status = 404, description = "The id is not a user id.", body = ErrorBody),
    )
)]
pub fn list_posts() {}

/// `GET /feed/users/{id}/posts/{post}`.
#[utoipa::path(
    get,
    path = "/feed/users/{id}/posts/{post}",
    tag = "posts",
    summary = "A post",
    params(
        ("id" = String, Path, description = "The author.",
            pattern = "^[a-z0-9_-]{1,32}$", min_length = 1, max_length = 32),
        ("post" = i64, Path, description = "The post id.", minimum = 1),
    ),
    responses(
        (status = 200, description = "The post.", body = PostView),
        (status = 404, description = "No such post by this user.", body = ErrorBody),
    )
)]
pub fn get_post() {}

/// `GET /feed/users/{id}/timeline?limit=&cursor=`: own and followed posts, newest first.
#[utoipa::path(
    get,
    path = "/feed/users/{id}/timeline",
    tag = "posts",
    summary = "A user's timeline, newest first",
    description = "The user's own posts and those of the users they follow now. Cursor pages are \
        stable: following `next_cursor` never repeats or skips a post, also while posts arrive \
        (a new post is newer than the cursor and shows at the start of the next listing).",
    params(
        ("id" = String, Path, description = "Whose timeline.",
            pattern = "^[a-z0-9_-]{1,32}$", min_length = 1, max_length = 32),
        ("limit" = Option<i64>, Query, description = "Page size (default 20).", minimum = 1, maximum = 100),
        ("cursor" = Option<String>, Query,
            description = "Opaque: the `next_cursor` of the previous page.",
            pattern = "^c[0-7][0-9a-f]{15}$"),
    ),
    responses(
        (status = 200, description = "One page of posts.", body = PostPage),
        (status = 400, description = "A parameter is invalid or unknown; the message names it.", body = ErrorBody),
        (status = 404, description = "The id is not a user id.", body = ErrorBody),
    )
)]
pub fn timeline() {}

service_kit::outbox_operations!("/feed/outbox", "/feed/outbox/flush");

#[cfg(test)]
mod tests;
