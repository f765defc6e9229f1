//! What an enterprise asks for, by API token or in the portal: 领证 (its approval copy) and
//! 生成使用件 (a usage copy signed with its own key, unlocked by its password). One home for
//! both surfaces, so the rules cannot drift apart.

use zizhi_shared::{CertificateNumber, UsageTerms};

use super::credentials::{self, EnterpriseAccount};
use super::files::{self, check_printable};
use crate::app::AppState;
use crate::copies;
use crate::error::{AppError, AppResult};
use crate::register::model::CertificateStatus;
use crate::store::{CopyRequest, IssueOutcome, RenderDocument, UsageApproval};

/// The enterprise's own certificate, or "not found" (another enterprise's is answered the
/// same, so numbers cannot be probed).
pub async fn own_certificate(
    state: &AppState,
    account: &EnterpriseAccount,
    number: &CertificateNumber,
) -> AppResult<CertificateStatus> {
    let not_found = || AppError::not_found("certificate_not_found", format!("未找到证书 {number}"));
    let status = state
        .store
        .certificate_status(number)
        .await?
        .ok_or_else(not_found)?;
    if status.credit_code != account.credit_code {
        return Err(not_found());
    }
    Ok(status)
}

/// How the event log names an enterprise acting for itself.
pub fn actor(account: &EnterpriseAccount, person: Option<&str>) -> String {
    match person {
        Some(p) => format!("enterprise:{}:{p}", account.credit_code),
        None => format!("enterprise:{}", account.credit_code),
    }
}

/// 领证: the approval copy of the version in force (the existing one when already claimed).
pub async fn claim_approval(
    state: &AppState,
    account: &EnterpriseAccount,
    actor: &str,
    number: &CertificateNumber,
    idempotency_key: Option<&str>,
) -> AppResult<IssueOutcome> {
    let status = own_certificate(state, account, number).await?;
    let request = CopyRequest {
        actor,
        number: &status.number,
        usage: None,
        idempotency_key,
        approval: None,
    };
    copies::issue(state, request, None).await
}

/// 生成使用件: checked, the password tried (counted and locked after repeated failures),
/// then issued, rendered, signed by the issuer and the enterprise and stored in one
/// transaction with its approval record: a failure anywhere leaves no copy.
#[allow(clippy::too_many_arguments)]
pub async fn make_usage_copy(
    state: &AppState,
    account: &EnterpriseAccount,
    actor: &str,
    number: &CertificateNumber,
    terms: UsageTerms,
    password: &str,
    idempotency_key: Option<&str>,
    approval: Option<UsageApproval<'_>>,
) -> AppResult<IssueOutcome> {
    let status = own_certificate(state, account, number).await?;
    check_printable(&state.pdf, &[("用途", terms.purpose.as_str())])?;
    // The password is checked before anything is issued.
    let signer = credentials::enterprise_signer(&state.store, account, password).await?;
    let request = CopyRequest {
        actor,
        number: &status.number,
        usage: Some(terms),
        idempotency_key,
        approval,
    };
    let pdf = state.pdf.clone();
    let render: RenderDocument<'_, AppError> = Box::new(move |copy, certificate| {
        Box::pin(async move {
            files::render(&pdf, certificate, &copy, copy.issued_at, Some(signer)).await
        })
    });
    copies::issue(state, request, Some(render)).await
}
