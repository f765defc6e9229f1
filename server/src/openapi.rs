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
        crate::pages::webfont::rare_fonts,
        crate::pages::webfont::register_chars,
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
        crate::accounts::invitations::invite_api,
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
mod tests;
