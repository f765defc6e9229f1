//! Register endpoints: public 资质详情 and lookup; the issuer's changes to enterprises and
//! qualifications.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post, put};
use axum::{Json, Router};
use chrono::{NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use zizhi_shared::{Category, Certificate, CertificateNumber, CreditCode, Enterprise};

use super::lookup::{EnterpriseSummary, Page};
use super::model::{CertificateStanding, ChangeKind, QualificationRecord};
use super::ops::{ChangeOutcome, Grant, QualificationAction};
use crate::app::AppState;
use crate::auth::IssuerStaff;
use crate::error::{AppError, AppResult, ErrorBody};
use crate::extract::{ApiBytes, ApiJson, ApiPath, ApiQuery};
use crate::pdf::files::check_printable;
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
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CertificateDetails {
    pub number: CertificateNumber,
    #[schema(value_type = String)]
    pub category_name: &'static str,
    pub standing: CertificateStanding,
    pub current_version: u32,
    /// Absent when no qualification is left (nothing can be downloaded then).
    pub certificate: Option<Certificate>,
    pub qualifications: Vec<QualificationRecord>,
    pub versions: Vec<VersionSummary>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct VersionSummary {
    pub version: u32,
    pub change_kind: ChangeKind,
    pub note: String,
    pub created_at: chrono::DateTime<Utc>,
    pub superseded_at: Option<chrono::DateTime<Utc>>,
}

/// 资质详情 of a certificate.
#[utoipa::path(
    get,
    path = "/api/v1/certificates/{number}",
    tag = "public",
    params(("number" = String, Path, description = "证书编号", example = "D231098583")),
    responses(
        (status = 200, description = "现行版本的资质详情", body = CertificateDetails),
        (status = 400, description = "证书编号格式错误", body = ErrorBody),
        (status = 404, description = "未找到证书（certificate_not_found）", body = ErrorBody),
        (status = 429, description = "请求过于频繁（rate_limited）", body = ErrorBody),
    )
)]
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

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct SearchQuery {
    /// 企业名称片段、统一社会信用代码或证书编号（1 至 60 个字符）
    #[param(example = "建设")]
    q: String,
    /// 页码，从 1 起
    page: Option<u32>,
    /// 每页条数（1 至 50，默认 20）
    per_page: Option<u32>,
}

/// Lookup by name fragment, credit code or certificate number.
#[utoipa::path(
    get,
    path = "/api/v1/enterprises",
    tag = "public",
    params(SearchQuery),
    responses(
        (status = 200, description = "一页查询结果", body = Page<EnterpriseSummary>),
        (status = 400, description = "查询参数不符合要求（invalid_query）", body = ErrorBody),
        (status = 429, description = "请求过于频繁（rate_limited）", body = ErrorBody),
    )
)]
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
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EnterpriseBody {
    /// 企业名称
    #[schema(max_length = 60, example = "上海申衡建设工程有限公司")]
    pub name: String,
    /// 统一社会信用代码（18 位，末位为校验码）
    #[schema(
        pattern = "^[0-9A-HJ-NPQRTUWXYa-hj-npqrtuwxy]{18}$",
        example = "91310112632714976P"
    )]
    pub credit_code: String,
    /// 注册地址
    #[schema(max_length = 120)]
    pub address: String,
    /// 法定代表人
    #[schema(max_length = 30)]
    pub legal_representative: String,
    /// 注册资本（万元），十进制数字
    #[schema(max_length = 20, pattern = "^[0-9]+(\\.[0-9]+)?$", example = "5000")]
    pub registered_capital_wan: String,
    /// 经济性质
    #[schema(max_length = 60)]
    pub economic_nature: String,
}

impl EnterpriseBody {
    /// The enterprise as the register keeps it (`zizhi_shared::legal_text`), once every
    /// printed field passed the printer's fonts: the register never accepts what the
    /// certificate cannot print.
    fn into_enterprise(self, state: &AppState) -> AppResult<Enterprise> {
        checked_enterprise(
            state,
            Enterprise {
                credit_code: parse_credit_code(&self.credit_code)?,
                name: self.name,
                address: self.address,
                legal_representative: self.legal_representative,
                registered_capital_wan: self.registered_capital_wan,
                economic_nature: self.economic_nature,
            },
        )
    }
}

/// The enterprise as the register keeps it (`zizhi_shared::legal_text`), once every printed
/// field passed the printer's fonts: the register never accepts what the certificate cannot
/// print. The API and the console both enter enterprises through this.
pub(crate) fn checked_enterprise(state: &AppState, e: Enterprise) -> AppResult<Enterprise> {
    let e = e.normalized()?;
    check_printable(
        &state.pdf,
        &[
            ("企业名称", e.name.as_str()),
            ("注册地址", e.address.as_str()),
            ("法定代表人", e.legal_representative.as_str()),
            ("注册资本", e.registered_capital_wan.as_str()),
            ("经济性质", e.economic_nature.as_str()),
        ],
    )?;
    Ok(e)
}

/// A qualification's item and grade, as the register keeps them and the printer prints them.
pub(crate) fn checked_item_grade(
    state: &AppState,
    item: &str,
    grade: &str,
) -> AppResult<(String, String)> {
    let item = zizhi_shared::bounded_text("item", item, 40)?;
    let grade = zizhi_shared::bounded_text("grade", grade, 10)?;
    check_printable(
        &state.pdf,
        &[("资质项目", item.as_str()), ("资质等级", grade.as_str())],
    )?;
    Ok((item, grade))
}

/// A new grade (升级, 降级), as the register keeps it and the printer prints it. The API and
/// the console both check a grade change through this.
pub(crate) fn checked_grade(state: &AppState, grade: &str) -> AppResult<String> {
    let grade = zizhi_shared::bounded_text("grade", grade, 10)?;
    check_printable(&state.pdf, &[("资质等级", grade.as_str())])?;
    Ok(grade)
}

/// 企业登记.
#[utoipa::path(
    post,
    path = "/api/v1/issuer/enterprises",
    tag = "issuer",
    request_body = EnterpriseBody,
    responses(
        (status = 201, description = "已登记", body = Enterprise),
        (status = 400, description = "字段不符合要求（信用代码校验位、长度等）", body = ErrorBody),
        (status = 409, description = "该信用代码已登记（enterprise_exists）", body = ErrorBody),
    )
)]
async fn create_enterprise(
    State(state): State<AppState>,
    issuer: IssuerStaff,
    ApiJson(body): ApiJson<EnterpriseBody>,
) -> AppResult<(StatusCode, Json<Enterprise>)> {
    let e = body.into_enterprise(&state)?;
    state
        .store
        .create_enterprise(&issuer.actor, &e, Utc::now())
        .await?;
    Ok((StatusCode::CREATED, Json(e)))
}

/// What an update changed: the enterprise as stored and the certificates that got a new
/// version because their printed enterprise block changed.
#[derive(Serialize, utoipa::ToSchema)]
struct EnterpriseUpdated {
    enterprise: Enterprise,
    new_versions: Vec<CertificateNumber>,
}

/// 企业信息变更: every certificate that prints the changed block gets a new version.
#[utoipa::path(
    put,
    path = "/api/v1/issuer/enterprises/{credit_code}",
    tag = "issuer",
    params(("credit_code" = String, Path, description = "统一社会信用代码", example = "91310112632714976P")),
    request_body = EnterpriseBody,
    responses(
        (status = 200, description = "已更新", body = EnterpriseUpdated),
        (status = 400, description = "字段不符合要求", body = ErrorBody),
        (status = 404, description = "未登记该企业（enterprise_not_found）", body = ErrorBody),
        (status = 409, description = "新的信用代码已被另一企业使用，或并发修改（concurrent_change）", body = ErrorBody),
    )
)]
async fn update_enterprise(
    State(state): State<AppState>,
    issuer: IssuerStaff,
    ApiPath(code): ApiPath<String>,
    ApiJson(body): ApiJson<EnterpriseBody>,
) -> AppResult<Json<EnterpriseUpdated>> {
    let code = parse_credit_code(&code)?;
    let e = body.into_enterprise(&state)?;
    let changed = state
        .store
        .update_enterprise(&issuer.actor, &code, &e, Utc::now())
        .await?;
    Ok(Json(EnterpriseUpdated {
        enterprise: e,
        new_versions: changed,
    }))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct GrantBody {
    /// 资质类别
    #[schema(value_type = Category)]
    category: String,
    /// 资质项目，如 建筑工程施工总承包
    #[schema(max_length = 40)]
    item: String,
    /// 等级，如 二级
    #[schema(max_length = 10)]
    grade: String,
    approved_on: Option<NaiveDate>,
    valid_until: Option<NaiveDate>,
    /// 新证书的编号（省略时自动编号）
    #[schema(pattern = "^[A-Za-z][0-9]{9}$", example = "D231098583")]
    certificate_number: Option<String>,
}

/// 资质核准: a qualification for an enterprise, on its certificate of the category.
#[utoipa::path(
    post,
    path = "/api/v1/issuer/enterprises/{credit_code}/qualifications",
    tag = "issuer",
    params(("credit_code" = String, Path, description = "统一社会信用代码", example = "91310112632714976P")),
    request_body = GrantBody,
    responses(
        (status = 201, description = "已核准，证书的现行版本", body = ChangeOutcome),
        (status = 400, description = "字段不符合要求（类别、日期、证书编号等）", body = ErrorBody),
        (status = 404, description = "未登记该企业", body = ErrorBody),
        (status = 409, description = "资质或证书编号已存在，或并发修改", body = ErrorBody),
        (status = 422, description = "登记规则不允许（如证书已撤销）", body = ErrorBody),
    )
)]
async fn grant(
    State(state): State<AppState>,
    issuer: IssuerStaff,
    ApiPath(code): ApiPath<String>,
    ApiJson(body): ApiJson<GrantBody>,
) -> AppResult<(StatusCode, Json<ChangeOutcome>)> {
    let code = parse_credit_code(&code)?;
    let (item, grade) = checked_item_grade(&state, &body.item, &body.grade)?;
    let g = Grant {
        category: body.category.parse()?,
        item,
        grade,
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

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct ChangeBody {
    /// 新等级（upgrade / downgrade 时必填）
    grade: Option<String>,
    note: Option<String>,
}

/// 资质变更: upgrade, downgrade, suspend, reinstate, revoke or cancel one qualification.
#[utoipa::path(
    post,
    path = "/api/v1/issuer/qualifications/{id}/{action}",
    tag = "issuer",
    params(
        ("id" = i64, Path, description = "资质编号"),
        ("action" = QualificationAction, Path, description = "变更操作"),
    ),
    request_body(content = Option<ChangeBody>, description = "可省略（撤销等无需参数）"),
    responses(
        (status = 200, description = "已变更，证书的现行版本", body = ChangeOutcome),
        (status = 400, description = "请求体或等级不符合要求", body = ErrorBody),
        (status = 404, description = "未找到资质，或未知的变更操作", body = ErrorBody),
        (status = 409, description = "并发修改", body = ErrorBody),
        (status = 422, description = "资质当前状态不允许该操作", body = ErrorBody),
    )
)]
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
    let grade = body
        .grade
        .as_deref()
        .map(str::trim)
        .filter(|g| !g.is_empty())
        .map(|g| checked_grade(&state, g))
        .transpose()?;
    let out = state
        .store
        .change_qualification(
            &issuer.actor,
            id,
            action,
            grade.as_deref(),
            body.note.as_deref(),
            Utc::now(),
        )
        .await?;
    Ok(Json(out))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct RenewBody {
    approved_on: NaiveDate,
    valid_until: NaiveDate,
}

/// 延续: a new validity period for the certificate.
#[utoipa::path(
    post,
    path = "/api/v1/issuer/certificates/{number}/renew",
    tag = "issuer",
    params(("number" = String, Path, description = "证书编号", example = "D231098583")),
    request_body = RenewBody,
    responses(
        (status = 200, description = "已延续，证书的现行版本", body = ChangeOutcome),
        (status = 400, description = "字段或日期不符合要求", body = ErrorBody),
        (status = 404, description = "未找到证书", body = ErrorBody),
        (status = 409, description = "并发修改", body = ErrorBody),
        (status = 422, description = "证书当前状态不允许延续", body = ErrorBody),
    )
)]
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

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct EventsQuery {
    /// 只列出编号大于此值的事件
    after: Option<i64>,
    /// 最多条数（1 至 1000，默认 100）
    limit: Option<i64>,
}

/// 事件日志: the append-only log of the register's changes, oldest first.
#[utoipa::path(
    get,
    path = "/api/v1/issuer/events",
    tag = "issuer",
    params(EventsQuery),
    responses(
        (status = 200, description = "事件，按编号升序", body = Vec<EventRecord>),
        (status = 400, description = "查询参数不符合要求（invalid_query）", body = ErrorBody),
    )
)]
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
