//! `GET /api/v1/status/snapshot`: the signed status snapshot for the scanner app.

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Extension, Json, Router};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use zizhi_shared::{SignedStatusSnapshot, StatusSnapshot, TrustList};

use super::{Request, Snapshots};
use crate::app::AppState;
use crate::error::{AppError, AppResult, ErrorBody};
use crate::extract::ApiQuery;

/// How far `since_time` may lie ahead of this server's clock: the previous snapshot may come
/// from another instance whose clock runs a little ahead.
const MAX_SINCE_TIME_SKEW: Duration = Duration::minutes(5);

/// What the scanner app syncs, from any origin (under `/api/v1`).
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/status/snapshot", get(snapshot))
        .layer(Extension(Snapshots::default()))
}

/// The response: `signed` is authoritative (base64 of the COSE_Sign1, open it with the
/// snapshot-signing key of the trust list); the other fields repeat what it says, for people
/// and for logs.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PublishedSnapshot {
    /// The snapshot-signing key's id.
    pub kid: String,
    pub signed: String,
    pub issued_at: DateTime<Utc>,
    /// 0 for a full snapshot.
    pub since: u64,
    pub seq: u64,
    /// True when this replaces what the device holds (also when a delta was asked for a
    /// `since` beyond the register's current `seq`).
    pub full: bool,
}

impl PublishedSnapshot {
    /// Opens the signed snapshot with the trust list's snapshot-signing key; the plain fields
    /// are ignored.
    pub fn open(&self, trust: &TrustList) -> anyhow::Result<StatusSnapshot> {
        let bytes = BASE64
            .decode(&self.signed)
            .map_err(|e| anyhow::anyhow!("status snapshot: bad base64: {e}"))?;
        SignedStatusSnapshot::from_bytes(bytes)
            .open(trust)
            .map_err(|e| anyhow::anyhow!("{e}"))
    }
}

/// Query parameters, kept as text so each bad value gets its own code.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct SnapshotQuery {
    /// 上次状态快照的 seq（非负整数）
    since: Option<String>,
    /// 上次状态快照的签发时间（Unix 秒数）
    since_time: Option<String>,
}

fn parse_request(q: &SnapshotQuery, now: DateTime<Utc>) -> AppResult<Request> {
    let since = q
        .since
        .as_deref()
        .map(|s| {
            s.trim().parse::<u64>().map_err(|_| {
                AppError::invalid("invalid_since", "since 应为非负整数：上次状态快照的 seq")
            })
        })
        .transpose()?;
    let since_time = q
        .since_time
        .as_deref()
        .map(|s| {
            s.trim()
                .parse::<i64>()
                .ok()
                .filter(|t| *t >= 0)
                .and_then(|t| DateTime::from_timestamp(t, 0))
                .ok_or_else(|| {
                    AppError::invalid(
                        "invalid_since_time",
                        "since_time 应为上次状态快照的签发时间（Unix 秒数，非负整数）",
                    )
                })
        })
        .transpose()?;
    match (since, since_time) {
        (None, None) | (Some(0), None) => Ok(Request::Full),
        (Some(_), None) => Err(AppError::invalid(
            "since_time_required",
            "请求增量状态快照须同时给出 since_time（上次快照的签发时间，Unix 秒数）",
        )),
        (None, Some(_)) => Err(AppError::invalid(
            "since_required",
            "给出 since_time 时须同时给出 since（上次快照的 seq）",
        )),
        (Some(_), Some(t)) if t > now + MAX_SINCE_TIME_SKEW => Err(AppError::invalid(
            "since_time_in_future",
            "since_time 晚于服务器当前时间：请检查本机时钟，或重新同步全量快照",
        )),
        (Some(0), Some(_)) => Ok(Request::Full),
        (Some(since), Some(since_time)) => Ok(Request::Delta { since, since_time }),
    }
}

/// Full snapshot without parameters (or `since=0`); with `since=<seq>&since_time=<unix
/// seconds>` (both from the device's last snapshot) the changes since then. A `since` beyond
/// the register's current `seq` is answered with a full snapshot (`"full": true`), since the
/// device's state cannot be a prefix of this register's history. Bad parameters: 400 with
/// `invalid_since`, `invalid_since_time`, `since_time_required`, `since_required`,
/// `since_time_in_future` or `invalid_query` (unknown parameter).
#[utoipa::path(
    get,
    path = "/api/v1/status/snapshot",
    tag = "public",
    params(SnapshotQuery),
    responses(
        (status = 200, description = "签名的状态快照（全量或增量）", body = PublishedSnapshot),
        (status = 400, description = "查询参数不符合要求", body = ErrorBody),
        (status = 429, description = "请求过于频繁（rate_limited）", body = ErrorBody),
    )
)]
async fn snapshot(
    State(state): State<AppState>,
    Extension(snapshots): Extension<Snapshots>,
    ApiQuery(q): ApiQuery<SnapshotQuery>,
) -> AppResult<impl IntoResponse> {
    let now = Utc::now();
    let request = parse_request(&q, now)?;
    let snapshot = snapshots.build(&state.store, request, now).await?;
    tracing::info!(
        since = snapshot.since,
        seq = snapshot.seq,
        copies = snapshot.withdrawn_copies.len(),
        versions = snapshot.versions.len(),
        "status snapshot"
    );
    let keys = state.keys.current();
    let signed = keys.sign_status_snapshot(&snapshot)?;
    Ok((
        // The app decides when to sync; an HTTP cache in between must not answer for it.
        [(header::CACHE_CONTROL, "no-store")],
        Json(PublishedSnapshot {
            kid: signed.kid().map(|k| k.to_string()).unwrap_or_default(),
            signed: BASE64.encode(signed.as_bytes()),
            issued_at: snapshot.issued_at,
            since: snapshot.since,
            seq: snapshot.seq,
            full: snapshot.is_full(),
        }),
    ))
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;

    use axum::body::Body;
    use axum::extract::ConnectInfo;
    use axum::http::{Request as HttpRequest, StatusCode};
    use chrono::TimeZone;

    use super::*;
    use crate::testing::TestApp;

    #[tokio::test]
    async fn snapshot_is_signed_by_the_snapshot_key_and_rate_limited_like_other_public_reads() {
        let app = TestApp::with(|s| {
            s.rate_limit.enabled = true;
            s.rate_limit.per_minute = 1;
            s.rate_limit.burst = 2;
        })
        .await;
        let get = || {
            let mut req = HttpRequest::get("/api/v1/status/snapshot")
                .body(Body::empty())
                .unwrap();
            req.extensions_mut()
                .insert(ConnectInfo(SocketAddr::from(([10, 0, 0, 9], 40000))));
            req
        };
        for _ in 0..2 {
            let reply = app.send(get()).await;
            assert_eq!(reply.status, StatusCode::OK);
            assert_eq!(reply.header("cache-control"), Some("no-store"));
            let published: PublishedSnapshot = serde_json::from_value(reply.json()).unwrap();
            assert!(published.full);
            let keys = app.state.keys.current();
            let opened = published
                .open(keys.trust_list())
                .expect("opens with the listed snapshot key");
            // An empty register: nothing has happened yet.
            assert_eq!((opened.seq, opened.versions.len()), (0, 0));
            assert_eq!(published.kid, "SN01");
        }
        let limited = app.send(get()).await;
        assert_eq!(limited.status, StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(limited.json()["error"], "rate_limited");
    }

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 25, 6, 0, 0).unwrap()
    }

    fn parse(since: Option<&str>, since_time: Option<&str>) -> Result<Request, &'static str> {
        parse_request(
            &SnapshotQuery {
                since: since.map(str::to_owned),
                since_time: since_time.map(str::to_owned),
            },
            now(),
        )
        .map_err(|e| e.code())
    }

    #[test]
    fn query_parameters_select_full_or_delta_and_bad_ones_get_precise_codes() {
        let t = now().timestamp().to_string();
        assert_eq!(parse(None, None), Ok(Request::Full));
        assert_eq!(parse(Some("0"), None), Ok(Request::Full));
        assert_eq!(parse(Some("0"), Some(&t)), Ok(Request::Full));
        assert_eq!(
            parse(Some("17"), Some(&t)),
            Ok(Request::Delta {
                since: 17,
                since_time: now()
            })
        );
        assert_eq!(parse(Some("abc"), Some(&t)), Err("invalid_since"));
        assert_eq!(parse(Some("-1"), Some(&t)), Err("invalid_since"));
        assert_eq!(parse(Some(""), Some(&t)), Err("invalid_since"));
        assert_eq!(
            parse(Some("17"), Some("yesterday")),
            Err("invalid_since_time")
        );
        assert_eq!(parse(Some("17"), Some("-5")), Err("invalid_since_time"));
        assert_eq!(parse(Some("17"), None), Err("since_time_required"));
        assert_eq!(parse(None, Some(&t)), Err("since_required"));
        let soon = (now() + Duration::minutes(4)).timestamp().to_string();
        assert!(
            parse(Some("17"), Some(&soon)).is_ok(),
            "small skew is tolerated"
        );
        let later = (now() + Duration::hours(1)).timestamp().to_string();
        assert_eq!(parse(Some("17"), Some(&later)), Err("since_time_in_future"));
    }
}
