//! 生成使用件: the guide's "insert the certificate and enter the password again", as a fresh
//! passkey assertion plus the password of the enterprise's signing key.
//!
//! The assertion is bound to exactly this copy: `begin` checks the terms and starts a
//! ceremony whose server-side binding is (certificate, purpose, period); `finish` issues the
//! copy only when the ceremony it completes was begun for the same terms by the same
//! account. A purpose changed after the key signed, a replayed assertion, or one made for
//! another ceremony is refused, and the refusal is counted like a failed sign-in. The
//! assertion is stored with the copy (`usage_approvals`) as the record of who approved it.

use axum::Json;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{NaiveDate, Utc};
use maud::html;
use serde::Deserialize;
use serde_json::json;
use webauthn_rs::prelude::PublicKeyCredential;
use zizhi_shared::{CertificateNumber, MAX_PURPOSE_CHARS, UsageTerms};

use super::certificates::printed_regions;
use super::{PortalUser, number, today};
use crate::accounts::Audience;
use crate::accounts::frame::{PageError, csrf, notice, page, respond, see_other};
use crate::accounts::passkeys::Binding;
use crate::app::AppState;
use crate::error::{AppError, AppResult};
use crate::extract::{ApiPath, FormBody};
use crate::pdf::credentials::MIN_PASSWORD_CHARS;
use crate::pdf::enterprise_copies;
use crate::register::model::{CertificateStanding, CertificateStatus};
use crate::store::UsageApproval;

/// The page's form: the terms, and (at `finish`) the ceremony and the password.
#[derive(Deserialize)]
pub struct UsageForm {
    purpose: String,
    from: NaiveDate,
    to: NaiveDate,
    password: Option<String>,
    ceremony: Option<String>,
    credential: Option<String>,
}

/// The terms, checked as issuing will check them, before the enterprise is asked for its key.
fn terms(status: &CertificateStatus, form: &UsageForm, state: &AppState) -> AppResult<UsageTerms> {
    if status.standing != CertificateStanding::Active {
        return Err(AppError::refused(
            "no_qualification_left",
            format!("证书 {} 已无有效资质，不能生成使用件", status.number),
        ));
    }
    let t = UsageTerms::new(&form.purpose, form.from, form.to)?;
    let cert = &status.current().certificate;
    if t.from < cert.approved_on || t.to > cert.valid_until {
        return Err(AppError::invalid(
            "usage_period_outside_validity",
            format!(
                "使用期限须在证书有效期内（{} 至 {}）",
                cert.approved_on, cert.valid_until
            ),
        ));
    }
    if t.to < today() {
        return Err(AppError::invalid(
            "usage_period_in_past",
            "使用期限已经结束",
        ));
    }
    crate::pdf::files::check_printable(&state.pdf, &[("用途", t.purpose.as_str())])?;
    Ok(t)
}

fn binding(number: &CertificateNumber, t: &UsageTerms) -> Binding {
    Binding::UsageCopy {
        certificate: number.to_string(),
        purpose: t.purpose.clone(),
        from: t.from,
        to: t.to,
    }
}

pub async fn form(
    State(state): State<AppState>,
    user: PortalUser,
    ApiPath(n): ApiPath<String>,
) -> Result<Response, PageError> {
    let n = number(&n)?;
    let status = enterprise_copies::own_certificate(&state, &user.enterprise, &n).await?;
    let has_key = !state
        .store
        .passkeys_of(user.who.account.id)
        .await?
        .is_empty();
    let password_only = !has_key && state.settings.portal.demo;
    let c = &status.current().certificate;
    let from = today().max(c.approved_on);
    let action = format!("/portal/certificates/{}/usage", status.number);
    let active = status.standing == CertificateStanding::Active && c.valid_until >= today();
    let body = html! {
        h1 { "生成使用件" }
        p.crumb { a href="/portal/" { "证书列表" } " › " (status.number) " › 生成使用件" }
        div.panel {
            h2 { "使用件内容" }
            (printed_regions(c))
        }
        div.panel {
            h2 { "用途与使用期限" }
            @if !active {
                (notice("bad", "该证书已无有效资质或已过期，不能生成使用件。"))
            } @else if !has_key && !password_only {
                (notice("warn", "本账户尚未登记通行密钥，不能生成使用件：请先在“账户与安全”中登记。"))
            } @else {
                @if password_only {
                    (notice("warn", "演示模式：本账户未登记通行密钥，仅凭数字证书密码生成使用件。正式系统中须使用通行密钥确认。"))
                }
                form.stack method="post" action=(action)
                    data-passkey=[(!password_only).then_some("get")]
                    data-begin=(format!("{action}/begin")) data-finish=(format!("{action}/finish")) {
                    (csrf(&user.who))
                    div.field {
                        label for="purpose" { "用途" }
                        input #purpose type="text" name="purpose" required maxlength=(MAX_PURPOSE_CHARS) placeholder="例如：某某项目投标";
                        p.hint { "必填，至多 " (MAX_PURPOSE_CHARS) " 个字，将打印在使用件上。" }
                    }
                    div.row {
                        div.field {
                            label for="from" { "使用期限 自" }
                            input #from type="date" name="from" required value=(from) min=(c.approved_on) max=(c.valid_until);
                        }
                        div.field {
                            label for="to" { "至" }
                            input #to type="date" name="to" required value=(c.valid_until.min(from + chrono::Days::new(90))) min=(c.approved_on) max=(c.valid_until);
                        }
                    }
                    p.hint { "使用期限须在证书有效期（" (c.approved_on) " 至 " (c.valid_until) "）内。" }
                    div.field {
                        label for="password" { "数字证书密码" }
                        input #password type="password" name="password" required minlength=(MIN_PASSWORD_CHARS) maxlength="128" autocomplete="current-password";
                        p.hint { "每生成一件使用件都须输入，用于以本企业的电子签名签署使用件；连续输错将被暂时锁定。" }
                    }
                    div.error-box data-passkey-error {}
                    button.btn type="submit" {
                        @if password_only { "生成使用件" } @else { "使用通行密钥确认并生成" }
                    }
                }
            }
        }
    };
    Ok(respond(
        StatusCode::OK,
        page(
            "生成使用件",
            Some(&user.who),
            Audience::Enterprise,
            "/portal/",
            true,
            body,
        ),
    ))
}

/// Step one: the terms are checked and a ceremony bound to them begins.
pub async fn begin(
    State(state): State<AppState>,
    user: PortalUser,
    ApiPath(n): ApiPath<String>,
    FormBody(form): FormBody<UsageForm>,
) -> AppResult<Response> {
    let n = crate::register::api::parse_number(&n)?;
    let status = enterprise_copies::own_certificate(&state, &user.enterprise, &n).await?;
    let t = terms(&status, &form, &state)?;
    let start = state
        .passkeys
        .begin_authentication(
            &state.store,
            &user.who.account,
            binding(&status.number, &t),
            Utc::now(),
        )
        .await?;
    Ok(Json(start).into_response())
}

/// Step two: the assertion must complete a ceremony begun by this account for exactly these
/// terms; then the password unlocks the signing key and the copy is issued with its record.
pub async fn finish(
    State(state): State<AppState>,
    user: PortalUser,
    ApiPath(n): ApiPath<String>,
    req: Request,
) -> AppResult<Response> {
    let client = req
        .extensions()
        .get::<crate::client_address::ClientAddr>()
        .map_or_else(|| "-".into(), |c| c.0.to_string());
    let FormBody(form) = FormBody::<UsageForm>::from_request_ext(req, &state).await?;
    let n = crate::register::api::parse_number(&n)?;
    let status = enterprise_copies::own_certificate(&state, &user.enterprise, &n).await?;
    let t = terms(&status, &form, &state)?;
    let (Some(ceremony), Some(credential)) = (&form.ceremony, &form.credential) else {
        return Err(AppError::invalid(
            "assertion_required",
            "生成使用件须使用通行密钥确认",
        ));
    };
    let credential: PublicKeyCredential = serde_json::from_str(credential)
        .map_err(|_| AppError::invalid("credential_invalid", "通行密钥应答格式错误"))?;
    let subject = format!("account:{}", user.who.account.id);
    let asserted = match state
        .passkeys
        .finish_authentication(&state.store, ceremony, &credential, Utc::now())
        .await
    {
        Ok(a) => a,
        Err(AppError::Invalid {
            code: "passkey_failed",
            ..
        }) => {
            return Err(
                step_up_failed(&state, &user, &subject, "assertion_refused", &client).await,
            );
        }
        Err(e) => return Err(e),
    };
    if asserted.account.id != user.who.account.id || asserted.binding != binding(&status.number, &t)
    {
        return Err(step_up_failed(
            &state,
            &user,
            &subject,
            "assertion_for_other_terms",
            &client,
        )
        .await);
    }
    let Some(password) = &form.password else {
        return Err(AppError::invalid("wrong_password", "请输入数字证书密码"));
    };
    let approval = UsageApproval {
        account_id: user.who.account.id,
        method: "passkey",
        credential_id: Some(&asserted.credential_id),
        assertion: Some(&asserted.assertion_json),
    };
    let outcome = enterprise_copies::make_usage_copy(
        &state,
        &user.enterprise,
        &user.actor(),
        &status.number,
        t,
        password,
        None,
        Some(approval),
    )
    .await?;
    Ok(Json(json!({
        "redirect": format!(
            "/portal/certificates/{}/copies?done=usage&copy={}",
            status.number, outcome.copy.id
        )
    }))
    .into_response())
}

/// A refused step-up counts as a failed sign-in of this account (the same lock, the same
/// log entry), so guessing through 生成使用件 is no cheaper than through the login page.
async fn step_up_failed(
    state: &AppState,
    user: &PortalUser,
    subject: &str,
    reason: &str,
    client: &str,
) -> AppError {
    tracing::warn!(
        account = user.who.account.id,
        reason,
        "usage-copy step-up refused"
    );
    crate::accounts::sign_in::failed(state, Some(&user.who.account), subject, reason, client).await
}

/// Demo mode only: an account without a key approves with its password alone (the page says
/// so). Everywhere else a usage copy needs the passkey step-up.
pub async fn with_password_only(
    State(state): State<AppState>,
    user: PortalUser,
    ApiPath(n): ApiPath<String>,
    FormBody(form): FormBody<UsageForm>,
) -> Result<Response, PageError> {
    let n = number(&n)?;
    let has_key = !state
        .store
        .passkeys_of(user.who.account.id)
        .await?
        .is_empty();
    if has_key || !state.settings.portal.demo {
        return Err(AppError::invalid("assertion_required", "生成使用件须使用通行密钥确认").into());
    }
    let status = enterprise_copies::own_certificate(&state, &user.enterprise, &n).await?;
    let t = terms(&status, &form, &state)?;
    let password = form.password.as_deref().unwrap_or_default();
    let approval = UsageApproval {
        account_id: user.who.account.id,
        method: "password",
        credential_id: None,
        assertion: None,
    };
    let outcome = enterprise_copies::make_usage_copy(
        &state,
        &user.enterprise,
        &user.actor(),
        &status.number,
        t,
        password,
        None,
        Some(approval),
    )
    .await?;
    Ok(see_other(&format!(
        "/portal/certificates/{}/copies?done=usage&copy={}",
        status.number, outcome.copy.id
    )))
}
