//! Router tests through `oneshot`: audiences, auth and CORS layers, limits, request ids, and
//! one issuer-to-verifier round trip.

use std::net::SocketAddr;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Method, Request, StatusCode, header};
use axum::routing::get;
use chrono::{Duration, Utc};
use serde_json::{Value, json};
use tower::ServiceExt;

use crate::key_ring::PublishedTrustList;
use crate::testing::{Reply, TOKEN, TestApp};

const CREDIT_CODE: &str = "91310115MA1H7Q2B3H";
const PURPOSE: &str = "张江科学城道路改建工程投标";

fn enterprise(name: &str) -> Value {
    json!({
        "name": name,
        "credit_code": CREDIT_CODE,
        "address": "上海市黄浦区中山南路100号",
        "legal_representative": "王建国",
        "registered_capital_wan": "5000",
        "economic_nature": "有限责任公司（自然人投资或控股）"
    })
}

fn is_json(r: &Reply) -> bool {
    r.header("content-type")
        .is_some_and(|t| t.starts_with("application/json"))
}

#[tokio::test]
async fn healthz_answers_ok() {
    let app = TestApp::new().await;
    let r = app.get("/healthz").await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(&r.body[..], b"ok");
}

#[tokio::test]
async fn unknown_route_is_not_found() {
    let app = TestApp::new().await;
    assert_eq!(
        app.get("/api/v1/nothing-here").await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn verifying_garbage_is_a_bad_request_in_the_api_error_format() {
    let app = TestApp::new().await;
    let r = app.get("/api/v1/verify/not-a-code!").await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(is_json(&r), "{:?}", r.headers);
    let v = r.json();
    let obj = v.as_object().expect("an object");
    assert_eq!(obj.len(), 2, "{v}");
    assert!(v["error"].as_str().is_some_and(|e| !e.is_empty()), "{v}");
    assert!(v["message"].as_str().is_some_and(|m| !m.is_empty()), "{v}");
}

#[tokio::test]
async fn trust_list_is_published_and_opens_with_the_root_key() {
    let app = TestApp::new().await;
    let r = app.get("/.well-known/zizhi/trust-list").await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(is_json(&r));
    let v = r.json();
    assert_eq!(v["root_kid"], "RT01");
    assert!(v["signed"].as_str().is_some_and(|s| !s.is_empty()), "{v}");
    assert_eq!(v["keys"][0]["kid"], "SH01");
    let published: PublishedTrustList = serde_json::from_value(v).unwrap();
    let opened = published
        .open(&app.state.keys.current().root().bytes().unwrap())
        .expect("signed by the root key");
    assert_eq!(&opened, app.state.keys.current().trust_list());
}

#[tokio::test]
async fn issuer_routes_refuse_requests_without_the_bearer_token() {
    let app = TestApp::new().await;
    for auth in [None, Some("Bearer wrong"), Some("Basic dDp0")] {
        for (method, path) in [
            (Method::POST, "/api/v1/issuer/enterprises"),
            (Method::GET, "/api/v1/issuer/events"),
            (Method::GET, "/api/v1/issuer/copies/1"),
        ] {
            let mut req = Request::builder()
                .method(method.clone())
                .uri(path)
                .header(header::CONTENT_TYPE, "application/json");
            if let Some(a) = auth {
                req = req.header(header::AUTHORIZATION, a);
            }
            let body = Body::from(enterprise("上海浦江建设工程有限公司").to_string());
            let r = app.send(req.body(body).unwrap()).await;
            assert_eq!(
                r.status,
                StatusCode::UNAUTHORIZED,
                "{method} {path} {auth:?}"
            );
            assert_eq!(r.header("www-authenticate"), Some("Bearer"));
            assert_eq!(r.json()["error"], "unauthorized");
        }
    }
    // Nothing was written.
    let r = app.issuer(Method::GET, "/api/v1/issuer/events", None).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.json(), json!([]));
}

/// A path of `segments` random segments under `prefix`, in characters a URL may carry.
fn random_path(prefix: &str, segments: usize) -> String {
    const CHARS: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789-_.~%20";
    let mut path = prefix.to_owned();
    for _ in 0..segments {
        let mut raw = [0u8; 12];
        getrandom::fill(&mut raw).unwrap();
        path.push('/');
        path.extend(raw.iter().map(|b| CHARS[*b as usize % CHARS.len()] as char));
    }
    path
}

#[tokio::test]
async fn every_path_in_the_issuer_nest_is_refused_without_the_token() {
    // Not a list of routes: whatever route the nest holds or will hold, its layer decides.
    let app = TestApp::new().await;
    let methods = [Method::GET, Method::POST, Method::PUT, Method::DELETE];
    for i in 0..64 {
        let path = random_path("/api/v1/issuer", 1 + i % 4);
        let method = methods[i % methods.len()].clone();
        let mut req = Request::builder()
            .method(method.clone())
            .uri(&path)
            .body(Body::empty())
            .unwrap();
        // Each from an address of its own: the limit on guessing (`ratelimit::AuthFailures`,
        // tested end to end) would otherwise answer 429 after the twentieth.
        req.extensions_mut()
            .insert(axum::extract::ConnectInfo(std::net::SocketAddr::from((
                [192, 0, 2, i as u8],
                40000,
            ))));
        let r = app.send(req).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{method} {path}");
        assert_eq!(r.json()["error"], "unauthorized", "{method} {path}");
        // With the token the same path is simply absent (or a real route's answer).
        let r = app.issuer(method.clone(), &path, None).await;
        assert_ne!(r.status, StatusCode::UNAUTHORIZED, "{method} {path}");
    }
    // The enterprise nest likewise, with the issuer's token too: it is not an enterprise's.
    for i in 0..16 {
        let path = random_path("/api/v1/enterprise", 1 + i % 3);
        let r = app.issuer(Method::GET, &path, None).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{path}");
    }
}

#[tokio::test]
async fn a_route_in_the_app_reads_group_carries_cors_and_one_elsewhere_does_not() {
    // A route of any name put into the group the scanner app calls is shared across
    // origins; the same route in the lookup group is not.
    let app = TestApp::new().await;
    let path = random_path("/api/v1", 2);
    let routes = || Router::new().route(&path, get(|| async { "ok" }));
    let shared = super::router::app_reads(&app.state, routes()).with_state(app.state.clone());
    let same_origin =
        super::router::rate_limited(&app.state, routes()).with_state(app.state.clone());
    let with_origin = |method: Method| {
        let mut req = Request::builder()
            .method(method.clone())
            .uri(&path)
            .header(header::ORIGIN, "https://other.example.cn");
        if method == Method::OPTIONS {
            req = req.header(header::ACCESS_CONTROL_REQUEST_METHOD, "GET");
        }
        req.body(Body::empty()).unwrap()
    };
    for method in [Method::GET, Method::OPTIONS] {
        let r = shared
            .clone()
            .oneshot(with_origin(method.clone()))
            .await
            .unwrap();
        assert!(r.status().is_success(), "{method} {path}: {}", r.status());
        assert_eq!(
            r.headers().get("access-control-allow-origin").unwrap(),
            "*",
            "{method} {path}"
        );
        let r = same_origin
            .clone()
            .oneshot(with_origin(method.clone()))
            .await
            .unwrap();
        assert!(
            r.headers().get("access-control-allow-origin").is_none(),
            "{method} {path}"
        );
    }
}

#[tokio::test]
async fn responses_carry_a_request_id() {
    let app = TestApp::new().await;
    let r = app.get("/healthz").await;
    let id = r.header("x-request-id").expect("x-request-id is set");
    assert!(!id.is_empty());
    let other = app.get("/api/v1/nothing-here").await;
    assert_ne!(
        other.header("x-request-id"),
        Some(id),
        "ids are per request"
    );

    // An id the client (or a proxy) sent is kept.
    let req = Request::get("/healthz")
        .header("x-request-id", "scan-42")
        .body(Body::empty())
        .unwrap();
    assert_eq!(app.send(req).await.header("x-request-id"), Some("scan-42"));
}

#[tokio::test]
async fn issuer_body_over_the_limit_is_refused_as_body_too_large() {
    let app = TestApp::with(|s| s.body_limit_bytes = 1024).await;
    let name = "浦".repeat(1000);
    let r = app
        .issuer(
            Method::POST,
            "/api/v1/issuer/enterprises",
            Some(enterprise(&name)),
        )
        .await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(is_json(&r));
    let v = r.json();
    assert_eq!(v["error"], "body_too_large");
    assert!(v["message"].as_str().unwrap().contains("1024"), "{v}");
}

#[tokio::test]
async fn raw_bodies_over_the_limit_are_refused_in_the_api_error_format() {
    let app = TestApp::with(|s| s.body_limit_bytes = 1024).await;
    let verify = Request::post("/api/v1/verify")
        .header(header::CONTENT_TYPE, "text/plain")
        .body(Body::from("A".repeat(2000)))
        .unwrap();
    let change = Request::post("/api/v1/issuer/qualifications/1/revoke")
        .header(header::AUTHORIZATION, format!("Bearer {TOKEN}"))
        .body(Body::from(format!(
            "{{\"note\": \"{}\"}}",
            "x".repeat(2000)
        )))
        .unwrap();
    for req in [verify, change] {
        let path = req.uri().path().to_owned();
        let r = app.send(req).await;
        assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE, "{path}");
        assert!(is_json(&r), "{path}: {:?}", r.headers);
        assert_eq!(r.json()["error"], "body_too_large", "{path}");
    }
}

#[tokio::test]
async fn public_routes_are_rate_limited_per_client_address() {
    let app = TestApp::with(|s| {
        s.rate_limit.enabled = true;
        s.rate_limit.per_minute = 1;
        s.rate_limit.burst = 2;
    })
    .await;
    let from = |ip: [u8; 4]| {
        let mut req = Request::get("/api/v1/certificates/D231000001")
            .body(Body::empty())
            .unwrap();
        req.extensions_mut()
            .insert(ConnectInfo(SocketAddr::from((ip, 40000))));
        req
    };
    for _ in 0..2 {
        assert_eq!(
            app.send(from([10, 0, 0, 1])).await.status,
            StatusCode::NOT_FOUND
        );
    }
    let limited = app.send(from([10, 0, 0, 1])).await;
    assert_eq!(limited.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(limited.header("retry-after").is_some());
    assert_eq!(limited.json()["error"], "rate_limited");
    // Another client has its own budget; the issuer API and health check have none.
    assert_eq!(
        app.send(from([10, 0, 0, 2])).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(app.get("/healthz").await.status, StatusCode::OK);
}

/// POSTs scanned text to the verifier; returns the verdict.
async fn verify(app: &TestApp, text: &str) -> Value {
    let req = Request::post("/api/v1/verify")
        .header(header::CONTENT_TYPE, "text/plain")
        .body(Body::from(text.to_owned()))
        .unwrap();
    let r = app.send(req).await;
    assert_eq!(
        r.status,
        StatusCode::OK,
        "{}",
        String::from_utf8_lossy(&r.body)
    );
    r.json()
}

#[tokio::test]
async fn issued_usage_copy_verifies_as_valid_until_its_qualification_is_revoked() {
    let app = TestApp::new().await;
    let today = zizhi_shared::time::beijing_date(Utc::now());

    let r = app
        .issuer(
            Method::POST,
            "/api/v1/issuer/enterprises",
            Some(enterprise("上海浦江建设工程有限公司")),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.json());

    let r = app
        .issuer(
            Method::POST,
            &format!("/api/v1/issuer/enterprises/{CREDIT_CODE}/qualifications"),
            Some(json!({
                "category": "construction",
                "item": "建筑工程施工总承包",
                "grade": "二级",
                "approved_on": (today - Duration::days(30)).to_string(),
                "valid_until": (today + Duration::days(4 * 365)).to_string(),
            })),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.json());
    let granted = r.json();
    assert_eq!(granted["current_version"], 1);
    let number = granted["certificate_number"].as_str().unwrap().to_owned();
    let qualification = granted["qualification_id"].as_i64().unwrap();

    let r = app
        .issuer(
            Method::POST,
            &format!("/api/v1/issuer/certificates/{number}/usage-copies"),
            Some(json!({
                "purpose": PURPOSE,
                "from": today.to_string(),
                "to": (today + Duration::days(60)).to_string(),
            })),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.json());
    let copy = r.json();
    assert_eq!(copy["kind"], "usage");
    let qr = copy["qr_text"].as_str().unwrap().to_owned();
    assert!(qr.starts_with("HTTPS://"), "{qr}");

    let v = verify(&app, &qr).await;
    assert_eq!(v["signature"], "valid");
    assert_eq!(v["certificate_state"], "current");
    assert_eq!(v["summary"]["level"], "valid", "{v}");
    assert_eq!(v["claims"]["certificate_number"], number.as_str());
    assert_eq!(v["claims"]["usage"]["purpose"], PURPOSE);

    // The bare base32 in the path says the same.
    let code = qr.rsplit('/').next().unwrap();
    let r = app.get(&format!("/api/v1/verify/{code}")).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.json()["summary"]["level"], "valid");

    // A change reaches the verifier at once, cached status or not.
    let r = app
        .issuer(
            Method::POST,
            &format!("/api/v1/issuer/qualifications/{qualification}/revoke"),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.json());
    assert_eq!(r.json()["standing"], "revoked");
    let v = verify(&app, &qr).await;
    assert_eq!(v["certificate_state"], "revoked");
    assert_eq!(v["summary"]["level"], "invalid");
}
