//! The document against the code: valid, complete (every route of the API is in it, every
//! operation in it is routed) and served.

use std::collections::BTreeSet;
use std::path::Path;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use serde_json::{Value, json};

use crate::testing::{TOKEN, TestApp};

/// This module quotes the patterns the source scans below look for.
fn is_this_module(path: &Path) -> bool {
    path.ends_with("openapi.rs") || path.parent().is_some_and(|p| p.ends_with("src/openapi"))
}

fn doc() -> Value {
    serde_json::from_str(super::json()).expect("the document is JSON")
}

/// `(method, path)` of every documented operation.
fn operations(doc: &Value) -> BTreeSet<(String, String)> {
    let mut out = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in item.as_object().expect("path item").keys() {
            out.insert((method.to_uppercase(), path.clone()));
        }
    }
    out
}

fn refs<'a>(v: &'a Value, out: &mut Vec<&'a str>) {
    match v {
        Value::Object(m) => {
            if let Some(Value::String(r)) = m.get("$ref") {
                out.push(r);
            }
            m.values().for_each(|v| refs(v, out));
        }
        Value::Array(a) => a.iter().for_each(|v| refs(v, out)),
        _ => {}
    }
}

#[test]
#[ignore = "prints the document: cargo test -p zizhi-server --lib print_the_document -- --ignored"]
fn print_the_document() {
    println!("{}", serde_json::to_string_pretty(&doc()).unwrap());
}

#[test]
fn the_document_is_openapi_3_1_and_every_reference_resolves() {
    let doc = doc();
    assert_eq!(doc["openapi"], "3.1.0");
    assert!(doc["info"]["title"].is_string() && doc["info"]["version"].is_string());
    let mut found = Vec::new();
    refs(&doc, &mut found);
    assert!(!found.is_empty());
    for r in found {
        let pointer = r
            .strip_prefix('#')
            .unwrap_or_else(|| panic!("external $ref {r}"));
        assert!(doc.pointer(pointer).is_some(), "{r} does not resolve");
    }
    for (method, path) in operations(&doc) {
        let op = &doc["paths"][&path][method.to_lowercase()];
        let responses = op["responses"].as_object().expect("responses");
        assert!(
            responses.keys().any(|s| s.starts_with('2')),
            "{method} {path} documents no success"
        );
        // Every error of the API has the one JSON shape.
        for (status, r) in responses.iter().filter(|(s, _)| !s.starts_with('2')) {
            let r = match r.get("$ref").and_then(Value::as_str) {
                Some(name) => &doc["components"]["responses"][name.rsplit('/').next().unwrap()],
                None => r,
            };
            assert_eq!(
                r["content"]["application/json"]["schema"]["$ref"],
                "#/components/schemas/ErrorBody",
                "{method} {path} {status}"
            );
        }
        for p in path.split('/').filter_map(|s| s.strip_prefix('{')) {
            let name = p.trim_end_matches('}');
            assert!(
                op["parameters"]
                    .as_array()
                    .is_some_and(|ps| ps.iter().any(|x| x["name"] == name && x["in"] == "path")),
                "{method} {path}: path parameter {name} not described"
            );
        }
    }
    for scheme in ["issuer", "enterprise"] {
        assert_eq!(
            doc["components"]["securitySchemes"][scheme]["scheme"],
            "bearer"
        );
    }
}

/// `(METHOD, path)` of each `.route("path", method(handler))` of the API, as the router is
/// given them (relative to their nest): every route in an `api.rs` file, and any other
/// under `/api/` or `/.well-known/`. The pages, the app, the chat endpoint and the probes
/// are not the API.
fn routes_in_source() -> Vec<(String, String, String)> {
    let mut files = Vec::new();
    let mut dirs = vec![Path::new(env!("CARGO_MANIFEST_DIR")).join("src")];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).expect("source dir") {
            let path = entry.expect("dir entry").path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") && !is_this_module(&path) {
                files.push(path);
            }
        }
    }
    let mut out = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).expect("source reads");
        let api_file = file.ends_with("api.rs");
        for call in text.split(".route(").skip(1) {
            let path = call.split('"').nth(1).expect("a route's path is a literal");
            if !(api_file || path.starts_with("/api/") || path.starts_with("/.well-known/")) {
                continue;
            }
            // The call's text, to its closing parenthesis.
            let mut depth = 1;
            let end = call
                .char_indices()
                .find(|&(_, c)| {
                    depth += i32::from(c == '(') - i32::from(c == ')');
                    depth == 0
                })
                .map_or(call.len(), |(i, _)| i);
            let call = &call[..end];
            for method in ["get", "post", "put", "delete", "patch"] {
                let used = call
                    .match_indices(&format!("{method}("))
                    .any(|(i, _)| !call[..i].ends_with(|c: char| c.is_alphanumeric() || c == '_'));
                if used {
                    out.push((
                        method.to_uppercase(),
                        path.to_owned(),
                        file.display().to_string(),
                    ));
                }
            }
        }
    }
    assert!(out.len() > 20, "routes found: {out:?}");
    out
}

#[test]
fn every_route_of_the_api_is_documented() {
    let documented = operations(&doc());
    for (method, path, file) in routes_in_source() {
        assert!(
            documented
                .iter()
                .any(|(m, p)| *m == method && p.ends_with(&path)),
            "{method} {path} ({file}) has no #[utoipa::path] in the OpenAPI document \
             (add it to `openapi::ApiDoc`)"
        );
    }
}

/// utoipa names a schema after its type alone, and of two types with one name the
/// document keeps one silently: the enterprise's usage body once replaced the issuer's.
#[test]
fn no_two_schemas_share_a_name() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut dirs = vec![root.join("server/src"), root.join("shared/src")];
    let mut seen = std::collections::BTreeMap::new();
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).expect("source dir") {
            let path = entry.expect("dir entry").path();
            if path.is_dir() {
                dirs.push(path);
                continue;
            }
            if is_this_module(&path) {
                continue;
            }
            let text = std::fs::read_to_string(&path).expect("source reads");
            // From each derive of `ToSchema` to the item it derives for.
            for rest in text.split("utoipa::ToSchema").skip(1) {
                let Some(item) = rest.find("struct ").or_else(|| rest.find("enum ")) else {
                    continue;
                };
                let attrs = &rest[..item];
                let name = match attrs.split("schema(as = ").nth(1) {
                    Some(alias) => alias.split(')').next().unwrap_or_default(),
                    None => rest[item..]
                        .split_whitespace()
                        .nth(1)
                        .unwrap_or_default()
                        .split(['<', '(', '{'])
                        .next()
                        .unwrap_or_default(),
                };
                if let Some(other) = seen.insert(name.to_owned(), path.clone()) {
                    panic!(
                        "two schemas named {name}: {} and {} (rename one with \
                         #[schema(as = …)])",
                        other.display(),
                        path.display()
                    );
                }
            }
        }
    }
    assert!(seen.contains_key("Verdict") && seen.contains_key("EnterpriseUsageBody"));
}

/// A path with its parameters filled in; a number where the router wants one.
fn sample(path: &str) -> String {
    path.replace("{id}", "1")
        .replace("{action}", "revoke")
        .replace("{file}", "1.pdf")
        .replace("{number}", "D231000037")
        .replace("{credit_code}", "91310112632714976P")
}

#[tokio::test]
async fn every_documented_operation_is_routed() {
    let app = TestApp::new().await;
    let enterprise = enterprise_token(&app).await;
    for (method, path) in operations(&doc()) {
        let token = if path.starts_with("/api/v1/enterprise/") {
            &enterprise
        } else {
            TOKEN
        };
        let req = Request::builder()
            .method(Method::from_bytes(method.as_bytes()).unwrap())
            .uri(sample(&path))
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from("{}"))
            .unwrap();
        let reply = app.send(req).await;
        assert_ne!(
            reply.status,
            StatusCode::METHOD_NOT_ALLOWED,
            "{method} {path}"
        );
        assert_ne!(reply.status, StatusCode::UNAUTHORIZED, "{method} {path}");
        let unrouted = reply.status == StatusCode::NOT_FOUND
            && serde_json::from_slice::<Value>(&reply.body)
                .map_or(true, |b| b["error"] == "not_found");
        assert!(!unrouted, "{method} {path} is documented but not routed");
    }
}

/// An enterprise with a digital certificate, through the issuer API.
async fn enterprise_token(app: &TestApp) -> String {
    let code = "91310112632714976P";
    let reply = app
        .issuer(
            Method::POST,
            "/api/v1/issuer/enterprises",
            Some(json!({
                "name": "上海某建设有限公司",
                "credit_code": code,
                "address": "上海市闵行区某路 1 号",
                "legal_representative": "张三",
                "registered_capital_wan": "5000",
                "economic_nature": "有限责任公司",
            })),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{:?}", reply.body);
    let reply = app
        .issuer(
            Method::POST,
            &format!("/api/v1/issuer/enterprises/{code}/credential"),
            Some(json!({ "password": "zizhi-test-2026" })),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{:?}", reply.body);
    reply.json()["token"].as_str().expect("token").to_owned()
}

#[tokio::test]
async fn the_document_is_served_to_anyone() {
    let app = TestApp::new().await;
    let reply = app.get("/api/v1/openapi.json").await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.header("content-type"), Some("application/json"));
    assert_eq!(reply.json(), doc());
}
