//! One function per endpoint: validate with the domain modules, read or write through the store
//! (every post and its event in one transaction), then forward the outbox (see service-kit's
//! `outbox::forwarder`) and answer.

use serde_json::Value;
use service_kit::api::json_response;
use service_kit::outbox::forwarder::{self, Lease};
use service_kit::request::{header, parse_json, read_body};
use service_kit::{clock, db, ids, outbox, paging, ApiError, ApiResult};
use spin_sdk::http::{IncomingRequest, Method, Response};

use crate::contract;
use crate::error::FeedError;
use crate::events::{self, POSTS_TOPIC};
use crate::listing::parse_page_query;
use crate::post::{self, Post};
use crate::route::{self, Resource};
use crate::store;
use crate::user::{parse_follow, parse_user_segment};
use crate::wire::PostPage;
use service_kit::idempotency::SavedResult;
use service_kit::idempotency::{self, REPLAYED_HEADER};

pub const SERVICE: &str = "feed";
/// Largest request body accepted: a post is at most 2,000 characters (8 KB of UTF-8).
pub const MAX_BODY_BYTES: usize = 64 * 1024;

pub async fn serve(path: &str, query: &str, request: IncomingRequest) -> ApiResult<Response> {
    let resource = route::resource(path)?;
    match (resource, request.method()) {
        (Resource::User(id), Method::Get) => get_user(id),
        (Resource::Following(id, other), Method::Put) => follow(id, other),
        (Resource::Following(id, other), Method::Delete) => unfollow(id, other),
        (Resource::Posts(id), Method::Post) => {
            let key = header(&request, idempotency::HEADER);
            let body = json_body(request).await?;
            create_post(id, key.as_deref(), body).await
        }
        (Resource::Posts(id), Method::Get) => list_posts(id, query),
        (Resource::Post(id, post), Method::Get) => get_post(id, post),
        (Resource::Timeline(id), Method::Get) => timeline(id, query),
        (Resource::Outbox, Method::Get) => {
            outbox::status_endpoint(&store::open()?, store::SCHEMA_PARTS)
        }
        (Resource::OutboxFlush, Method::Post) => {
            outbox::flush_endpoint(&store::open()?, store::SCHEMA_PARTS).await
        }
        (Resource::Health, Method::Get) => Ok(contract::health()),
        (Resource::OpenApi, Method::Get) => Ok(contract::openapi()),
        (resource, method) => Err(ApiError::method_not_allowed(
            &method.to_string(),
            resource.allowed_methods(),
        )),
    }
}

/// Reads a JSON body (at most 64 KiB).
async fn json_body(request: IncomingRequest) -> ApiResult<Value> {
    let content_type = header(&request, "content-type");
    let body = read_body(request, MAX_BODY_BYTES).await?;
    parse_json(content_type.as_deref(), &body)
}

/// `GET /feed/users/{id}`: post, following and follower counts.
pub fn get_user(segment: &str) -> ApiResult<Response> {
    let id = parse_user_segment(segment)?;
    let conn = store::open()?;
    let user = store::with_schema(&conn, |conn| store::user(conn, &id))?;
    Ok(json_response(200, &user))
}

/// `PUT /feed/users/{id}/following/{other}`: 201 for a new follow, 200 if it already was one.
pub fn follow(segment: &str, other: &str) -> ApiResult<Response> {
    let (user, other) = parse_follow(segment, other)?;
    let conn = store::open()?;
    let (follow, created) = store::with_schema(&conn, |conn| {
        db::transaction(conn, |conn| {
            store::follow(conn, &user, &other, clock::now_millis())
        })
    })?;
    Ok(json_response(
        if created { 201 } else { 200 },
        &follow.view(),
    ))
}

/// `DELETE /feed/users/{id}/following/{other}`: 204, or 404 if there was no such follow.
pub fn unfollow(segment: &str, other: &str) -> ApiResult<Response> {
    let (user, other) = parse_follow(segment, other)?;
    let conn = store::open()?;
    let existed = store::with_schema(&conn, |conn| {
        db::transaction(conn, |conn| store::unfollow(conn, &user, &other))
    })?;
    if !existed {
        return Err(FeedError::NotFollowing { user, other }.into());
    }
    Ok(Response::builder().status(204).body(Vec::new()).build())
}

/// What `POST .../posts` did: published a post, or found the first result of its Idempotency-Key.
enum Published {
    /// `forwarder`: the lease, if this request forwards the outbox.
    New {
        post: Post,
        body: String,
        forwarder: Option<Lease>,
    },
    Replayed(SavedResult),
}

/// `POST /feed/users/{id}/posts`: publishes a post (201 + Location). With an `Idempotency-Key`, a
/// retry returns the first post and publishes nothing.
pub async fn create_post(segment: &str, key: Option<&str>, body: Value) -> ApiResult<Response> {
    let author = parse_user_segment(segment)?;
    let new = post::parse_new_post(body)?;
    let key = key.map(idempotency::parse_key).transpose()?;
    let fingerprint = key.as_ref().map(|_| idempotency::fingerprint(&new));
    let conn = store::open()?;
    let published = store::with_schema(&conn, |conn| {
        db::transaction(conn, |conn| {
            if let (Some(key), Some(fingerprint)) = (&key, &fingerprint) {
                if let Some(saved) = store::KEYS.find(conn, db::text(&author), key)? {
                    if &saved.fingerprint != fingerprint {
                        return Err(FeedError::KeyReused(key.clone()).into());
                    }
                    return Ok(Published::Replayed(saved));
                }
            }
            let now = clock::now_millis();
            let post = store::insert_post(conn, &author, &new, now)?;
            let body = serde_json::to_string(&post.view()).map_err(ApiError::storage)?;
            if let (Some(key), Some(fingerprint)) = (&key, &fingerprint) {
                let saved = SavedResult {
                    fingerprint: fingerprint.clone(),
                    resource_id: post.id,
                    response: body.clone(),
                };
                store::KEYS.save(conn, db::text(&author), key, &saved, now)?;
            }
            outbox::enqueue(conn, POSTS_TOPIC, &events::post_created(&post))?;
            let forwarder = forwarder::claim(conn, now)?;
            Ok(Published::New {
                post,
                body,
                forwarder,
            })
        })
    })?;
    let (location, body, replayed) = match published {
        Published::New {
            post,
            body,
            forwarder,
        } => {
            forwarder::forward_after_response(forwarder, store::DATABASE_LABEL);
            (post.location(), body, false)
        }
        Published::Replayed(saved) => {
            let location = format!("/feed/users/{author}/posts/{}", saved.resource_id);
            (location, saved.response, true)
        }
    };
    let mut response = Response::builder()
        .status(201)
        .header("content-type", "application/json")
        .header("location", location)
        .body(body)
        .build();
    if replayed {
        response.set_header(REPLAYED_HEADER, "true");
    }
    Ok(response)
}

/// `GET /feed/users/{id}/posts/{post}`.
pub fn get_post(segment: &str, post_segment: &str) -> ApiResult<Response> {
    let no_post = || FeedError::NotFound(format!("no post {post_segment:?} by {segment:?}"));
    let author = parse_user_segment(segment)?;
    let id = ids::positive_id(post_segment).ok_or_else(no_post)?;
    let conn = store::open()?;
    let found =
        store::with_schema(&conn, |conn| store::post(conn, &author, id))?.ok_or_else(no_post)?;
    Ok(json_response(200, &found.view()))
}

/// `GET /feed/users/{id}/posts?limit=&cursor=`: the user's posts, newest first, one page.
pub fn list_posts(segment: &str, query: &str) -> ApiResult<Response> {
    let author = parse_user_segment(segment)?;
    let mut query = parse_page_query(query)?;
    let limit = query.limit;
    // One more than asked tells whether there is a next page.
    query.limit += 1;
    let conn = store::open()?;
    let found = store::with_schema(&conn, |conn| store::posts_of(conn, &author, &query))?;
    Ok(page_response(found, limit))
}

/// `GET /feed/users/{id}/timeline?limit=&cursor=`: own and followed posts, newest first.
pub fn timeline(segment: &str, query: &str) -> ApiResult<Response> {
    let user = parse_user_segment(segment)?;
    let mut query = parse_page_query(query)?;
    let limit = query.limit;
    query.limit += 1;
    let conn = store::open()?;
    let found = store::with_schema(&conn, |conn| store::timeline(conn, &user, &query))?;
    Ok(page_response(found, limit))
}

fn page_response(found: Vec<Post>, limit: i64) -> Response {
    let (posts, next_cursor) = paging::paginate(found, limit, |post| post.id);
    let page = PostPage {
        posts: posts.iter().map(Post::view).collect(),
        next_cursor,
    };
    json_response(200, &page)
}
