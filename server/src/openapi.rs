//! The OpenAPI 3.1 document of the public, issuer and enterprise APIs, served at
//! `GET /api/v1/openapi.json`. Operations come from the handlers' `#[utoipa::path]`; what the
//! router's layers add to every route of a nest (authentication, rate limits, load shedding,
//! the body limit) is added here once, by the operation's audience tag, as the router adds it.
//!
//! ```
//! let doc: serde_json::Value = serde_json::from_str(zizhi_server::openapi::json()).unwrap();
//! assert_eq!(doc["openapi"], "3.1.0");
//! assert!(doc["paths"]["/api/v1/verify"]["post"].is_object());
//! ```

use std::sync::LazyLock;

use axum::http::header;
use axum::response::IntoResponse;
use utoipa::OpenApi;
use utoipa::openapi::path::Operation;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{
    ContentBuilder, HeaderBuilder, Ref, RefOr, Response, ResponseBuilder, Type,
    schema::ObjectBuilder,
};

/// Audience tags; each names one nest of the router (see `app::router`).
const ISSUER: &str = "issuer";
const ENTERPRISE: &str = "enterprise";
const COPY_FILES: &str = "copy-files";

#[derive(OpenApi)]
#[openapi(
    info(
        title = "zizhi 电子资质证书核验 API",
        description = "电子资质证书的公开核验、查询与同步接口，发证机关接口（Bearer 发证机关令牌）\
                       和企业接口（Bearer 企业令牌）。错误一律为 JSON：`{\"error\": 代码, \"message\": 中文说明}`。",
    ),
    paths(
        serve,
        crate::verify::api::verify_body,
        crate::verify::api::verify_path,
        crate::verify::api::trust_list,
        crate::snapshot::api::snapshot,
        crate::register::api::certificate_details,
        crate::register::api::search,
        crate::pdf::api::trust_root,
        crate::register::api::create_enterprise,
        crate::register::api::update_enterprise,
        crate::register::api::grant,
        crate::register::api::change_qualification,
        crate::register::api::renew,
        crate::register::api::events,
        crate::copies::api::issue_approval,
        crate::copies::api::issue_usage,
        crate::copies::api::list,
        crate::copies::api::show,
        crate::copies::api::withdraw,
        crate::copies::api::qr_svg,
        crate::copies::api::qr_png,
        crate::pdf::api::enrol,
        crate::pdf::api::my_certificates,
        crate::pdf::api::my_copies,
        crate::pdf::api::claim_approval,
        crate::pdf::api::make_usage_copy,
        crate::pdf::api::change_password,
        crate::pdf::api::download,
    ),
    // Path parameters named by type are not collected from the paths.
    components(schemas(crate::register::ops::QualificationAction)),
    modifiers(&NestLayers),
    tags(
        (name = "public", description = "公开接口：核验、查询、信任列表与状态快照，无需令牌"),
        (name = "issuer", description = "发证机关接口（/api/v1/issuer），Bearer 发证机关令牌"),
        (name = "enterprise", description = "企业接口（/api/v1/enterprise），Bearer 企业令牌"),
        (name = "copy-files", description = "证书件文件，发证机关或持有该证书件的企业"),
    )
)]
struct ApiDoc;

/// This document.
#[utoipa::path(
    get,
    path = "/api/v1/openapi.json",
    tag = "public",
    responses((status = 200, description = "本文档（OpenAPI 3.1）", content_type = "application/json", body = Object))
)]
pub async fn serve() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], json())
}

/// The document as JSON, built once.
pub fn json() -> &'static str {
    static JSON: LazyLock<String> = LazyLock::new(|| {
        ApiDoc::openapi()
            .to_json()
            .expect("the OpenAPI document serialises")
    });
    &JSON
}

/// What the router's layers answer on every route of a nest, whatever the handler does.
struct NestLayers;

impl utoipa::Modify for NestLayers {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let components = doc.components.get_or_insert_with(Default::default);
        for (name, scheme) in [
            (ISSUER, "发证机关令牌"),
            (ENTERPRISE, "企业令牌（zzent_…）"),
        ] {
            components.add_security_scheme(
                name,
                SecurityScheme::Http(
                    HttpBuilder::new()
                        .scheme(HttpAuthScheme::Bearer)
                        .description(Some(scheme))
                        .build(),
                ),
            );
        }
        for (name, response) in shared_responses() {
            components
                .responses
                .insert(name.to_owned(), response.into());
        }
        for item in doc.paths.paths.values_mut() {
            for op in [&mut item.get, &mut item.post, &mut item.put]
                .into_iter()
                .flatten()
            {
                add_layer_responses(op);
            }
        }
    }
}

fn add_layer_responses(op: &mut Operation) {
    let tag = op
        .tags
        .as_ref()
        .and_then(|t| t.first())
        .map(String::as_str)
        .unwrap_or_default();
    let mut add = |status: &str, name: &str| {
        op.responses
            .responses
            .entry(status.to_owned())
            .or_insert_with(|| RefOr::Ref(Ref::from_response_name(name)));
    };
    // Load shedding and the time bound sit on the whole router; a handler that reads the
    // register answers 503 too while the database is down.
    add("503", "Unavailable");
    match tag {
        ISSUER | ENTERPRISE | COPY_FILES => {
            add("401", "Unauthorized");
            // Guessing tokens: `ratelimit::limit_failed_authentication` on these nests.
            add("429", "RateLimited");
        }
        _ => {}
    }
    if op.request_body.is_some() {
        // `DefaultBodyLimit` on the whole router, answered by `ApiJson`/`ApiBytes`.
        add("413", "TooLarge");
    }
    let security = match tag {
        ISSUER => vec![SecurityRequirement::new(ISSUER, Vec::<String>::new())],
        ENTERPRISE => vec![SecurityRequirement::new(ENTERPRISE, Vec::<String>::new())],
        _ => return,
    };
    op.security.get_or_insert(security);
}

fn error_response(description: &str, retry_after: bool) -> ResponseBuilder {
    let content = ContentBuilder::new()
        .schema(Some(Ref::from_schema_name("ErrorBody")))
        .build();
    let builder = ResponseBuilder::new()
        .description(description)
        .content("application/json", content);
    if retry_after {
        builder.header(
            "Retry-After",
            HeaderBuilder::new()
                .schema(Some(
                    ObjectBuilder::new()
                        .schema_type(Type::Integer)
                        .minimum(Some(1)),
                ))
                .description(Some("几秒后再试"))
                .build(),
        )
    } else {
        builder
    }
}

fn shared_responses() -> [(&'static str, Response); 4] {
    [
        (
            "Unauthorized",
            error_response("缺少或错误的访问令牌（unauthorized）", false)
                .header(
                    "WWW-Authenticate",
                    HeaderBuilder::new()
                        .schema(Some(ObjectBuilder::new().schema_type(Type::String)))
                        .build(),
                )
                .build(),
        ),
        (
            "RateLimited",
            error_response("请求过于频繁（rate_limited）", true).build(),
        ),
        (
            "TooLarge",
            error_response("请求体过大（body_too_large）", false).build(),
        ),
        (
            "Unavailable",
            error_response(
                "服务繁忙、处理超时或登记簿暂时无法访问（overloaded、request_timeout、store_unavailable）",
                true,
            )
            .build(),
        ),
    ]
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
    use std::path::Path;

    use axum::body::Body;
    use axum::http::{Method, Request, StatusCode, header};
    use serde_json::{Value, json};

    use crate::testing::{TOKEN, TestApp};

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
                    op["parameters"].as_array().is_some_and(|ps| ps
                        .iter()
                        .any(|x| x["name"] == name && x["in"] == "path")),
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
                } else if path.extension().is_some_and(|e| e == "rs")
                    && !path.ends_with("openapi.rs")
                {
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
                    let used = call.match_indices(&format!("{method}(")).any(|(i, _)| {
                        !call[..i].ends_with(|c: char| c.is_alphanumeric() || c == '_')
                    });
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
}
