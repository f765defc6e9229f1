//! Register endpoints: public 资质详情 and lookup; the issuer's changes to enterprises and
//! qualifications.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post, put};
use axum::{Json, Router};
use chrono::{NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use zizhi_shared::{Certificate, CertificateNumber, CreditCode, Enterprise};

use super::lookup::{EnterpriseSummary, Page};
use super::model::{CertificateStanding, ChangeKind, QualificationRecord};
use super::ops::{ChangeOutcome, Grant, QualificationAction};
use crate::app::AppState;
use crate::auth::IssuerStaff;
use crate::error::{AppError, AppResult};
use crate::extract::{ApiBytes, ApiJson, ApiPath, ApiQuery};
use crate::store::EventRecord;

/// Public lookup, under `/api/v1`.
pub fn lookup_routes() -> Router<AppState> {
    Router::new()
        .route("/certificates/{number}", get(certificate_details))
        .route("/enterprises", get(search))
}

/// The issuer's changes, under the issuer nest (`/api/v1/issuer`).
pub fn issuer_routes() -> Router<AppState> {
    Router::new()
        .route("/enterprises", post(create_enterprise))
        .route("/enterprises/{credit_code}", put(update_enterprise))
        .route("/enterprises/{credit_code}/qualifications", post(grant))
        .route("/qualifications/{id}/{action}", post(change_qualification))
        .route("/certificates/{number}/renew", post(renew))
        .route("/events", get(events))
}

pub(crate) fn parse_number(s: &str) -> AppResult<CertificateNumber> {
    Ok(s.parse::<CertificateNumber>()?)
}

fn parse_credit_code(s: &str) -> AppResult<CreditCode> {
    Ok(s.parse::<CreditCode>()?)
}

/// 资质详情 of the version in force.
#[derive(Debug, Serialize)]
pub struct CertificateDetails {
    pub number: CertificateNumber,
    pub category_name: &'static str,
    pub standing: CertificateStanding,
    pub current_version: u32,
    /// Absent when no qualification is left (nothing can be downloaded then).
    pub certificate: Option<Certificate>,
    pub qualifications: Vec<QualificationRecord>,
    pub versions: Vec<VersionSummary>,
}

#[derive(Debug, Serialize)]
pub struct VersionSummary {
    pub version: u32,
    pub change_kind: ChangeKind,
    pub note: String,
    pub created_at: chrono::DateTime<Utc>,
    pub superseded_at: Option<chrono::DateTime<Utc>>,
}

async fn certificate_details(
    State(state): State<AppState>,
    ApiPath(number): ApiPath<String>,
) -> AppResult<Json<CertificateDetails>> {
    let number = parse_number(&number)?;
    let status = state.cache.current_status(&state.store, &number).await?;
    let status = status.as_ref().as_ref().ok_or_else(|| {
        AppError::not_found("certificate_not_found", format!("未找到证书 {number}"))
    })?;
    Ok(Json(CertificateDetails {
        number: status.number.clone(),
        category_name: status.category.name_zh(),
        standing: status.standing,
        current_version: status.current_version,
        certificate: (status.standing == CertificateStanding::Active)
            .then(|| status.current().certificate.clone()),
        qualifications: status.qualifications.clone(),
        versions: status
            .versions
            .iter()
            .map(|v| VersionSummary {
                version: v.version,
                change_kind: v.change_kind,
                note: v.change_note.clone(),
                created_at: v.created_at,
                superseded_at: v.superseded_at,
            })
            .collect(),
    }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SearchQuery {
    q: String,
    page: Option<u32>,
    per_page: Option<u32>,
}

async fn search(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<SearchQuery>,
) -> AppResult<Json<Page<EnterpriseSummary>>> {
    let text = q.q.trim();
    if text.is_empty() || text.chars().count() > super::lookup::MAX_QUERY_CHARS {
        return Err(AppError::invalid(
            "invalid_query",
            "请输入 1 至 60 个字符的企业名称、统一社会信用代码或证书编号",
        ));
    }
    Ok(Json(
        state
            .store
            .search_enterprises(text, q.page.unwrap_or(1), q.per_page.unwrap_or(20))
            .await?,
    ))
}

/// The enterprise block as the API accepts it; codes are checked here so each fault gets its
/// own error code rather than a generic deserialisation message.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnterpriseBody {
    pub name: String,
    pub credit_code: String,
    pub address: String,
    pub legal_representative: String,
    pub registered_capital_wan: String,
    pub economic_nature: String,
}

impl EnterpriseBody {
    fn into_enterprise(self) -> AppResult<Enterprise> {
        let e = Enterprise {
            credit_code: parse_credit_code(&self.credit_code)?,
            name: self.name.trim().into(),
            address: self.address.trim().into(),
            legal_representative: self.legal_representative.trim().into(),
            registered_capital_wan: self.registered_capital_wan.trim().into(),
            economic_nature: self.economic_nature.trim().into(),
        };
        e.validate()?;
        Ok(e)
    }
}

async fn create_enterprise(
    State(state): State<AppState>,
    issuer: IssuerStaff,
    ApiJson(body): ApiJson<EnterpriseBody>,
) -> AppResult<(StatusCode, Json<Enterprise>)> {
    let e = body.into_enterprise()?;
    state
        .store
        .create_enterprise(&issuer.actor, &e, Utc::now())
        .await?;
    Ok((StatusCode::CREATED, Json(e)))
}

async fn update_enterprise(
    State(state): State<AppState>,
    issuer: IssuerStaff,
    ApiPath(code): ApiPath<String>,
    ApiJson(body): ApiJson<EnterpriseBody>,
) -> AppResult<Json<serde_json::Value>> {
    let code = parse_credit_code(&code)?;
    let e = body.into_enterprise()?;
    let changed = state
        .store
        .update_enterprise(&issuer.actor, &code, &e, Utc::now())
        .await?;
    Ok(Json(
        serde_json::json!({ "enterprise": e, "new_versions": changed }),
    ))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct GrantBody {
    category: String,
    item: String,
    grade: String,
    approved_on: Option<NaiveDate>,
    valid_until: Option<NaiveDate>,
    certificate_number: Option<String>,
}

async fn grant(
    State(state): State<AppState>,
    issuer: IssuerStaff,
    ApiPath(code): ApiPath<String>,
    ApiJson(body): ApiJson<GrantBody>,
) -> AppResult<(StatusCode, Json<ChangeOutcome>)> {
    let code = parse_credit_code(&code)?;
    let g = Grant {
        category: body.category.parse()?,
        item: body.item,
        grade: body.grade,
        approved_on: body.approved_on,
        valid_until: body.valid_until,
        certificate_number: body
            .certificate_number
            .as_deref()
            .map(parse_number)
            .transpose()?,
    };
    let out = state
        .store
        .grant_qualification(
            &issuer.actor,
            &code,
            &g,
            &state.settings.issuer_name,
            Utc::now(),
        )
        .await?;
    Ok((StatusCode::CREATED, Json(out)))
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ChangeBody {
    grade: Option<String>,
    note: Option<String>,
}

async fn change_qualification(
    State(state): State<AppState>,
    issuer: IssuerStaff,
    ApiPath((id, action)): ApiPath<(i64, String)>,
    ApiBytes(body): ApiBytes,
) -> AppResult<Json<ChangeOutcome>> {
    let action: QualificationAction =
        serde_json::from_value(serde_json::Value::String(action.clone())).map_err(|_| {
            AppError::not_found("unknown_action", format!("未知的资质变更操作：{action}"))
        })?;
    // The body is optional (revoke needs none); when present it must be valid.
    let body: ChangeBody = if body.iter().all(u8::is_ascii_whitespace) {
        ChangeBody::default()
    } else {
        serde_json::from_slice(&body).map_err(|e| {
            if e.is_data() {
                AppError::invalid("invalid_body", format!("请求体字段不符合要求：{e}"))
            } else {
                AppError::invalid("malformed_json", format!("请求体不是有效的 JSON：{e}"))
            }
        })?
    };
    let out = state
        .store
        .change_qualification(
            &issuer.actor,
            id,
            action,
            body.grade.as_deref(),
            body.note.as_deref(),
            Utc::now(),
        )
        .await?;
    Ok(Json(out))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RenewBody {
    approved_on: NaiveDate,
    valid_until: NaiveDate,
}

async fn renew(
    State(state): State<AppState>,
    issuer: IssuerStaff,
    ApiPath(number): ApiPath<String>,
    ApiJson(body): ApiJson<RenewBody>,
) -> AppResult<Json<ChangeOutcome>> {
    let number = parse_number(&number)?;
    let out = state
        .store
        .renew_certificate(
            &issuer.actor,
            &number,
            body.approved_on,
            body.valid_until,
            Utc::now(),
        )
        .await?;
    Ok(Json(out))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EventsQuery {
    after: Option<i64>,
    limit: Option<i64>,
}

async fn events(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<EventsQuery>,
) -> AppResult<Json<Vec<EventRecord>>> {
    Ok(Json(
        state
            .store
            .events(q.after.unwrap_or(0), q.limit.unwrap_or(100).clamp(1, 1000))
            .await?,
    ))
}
