//! Qualifications (资质): 核准 and 增项, and the changes to one qualification (升级、降级、
//! 暂扣、恢复、撤销、注销). Each change reissues its certificate.

use chrono::{DateTime, Utc};
use serde_json::json;
use zizhi_shared::{CertificateNumber, CreditCode, Qualification};

use super::certificates::{
    insert_certificate, issue_version, lock_certificate, next_certificate_number,
    number_of_other_category, validity_ends_before_approval,
};
use super::enterprises::enterprise_id;
use super::{Store, StoreError, Touches, append_event, instant, parse_field};
use crate::register::model::{CertificateStanding, ChangeKind, QualificationStatus};
use crate::register::ops::{ChangeOutcome, Grant, QualificationAction, check_grade_direction};

#[derive(sqlx::FromRow)]
struct ExistingCertificate {
    number: String,
}

#[derive(sqlx::FromRow)]
struct PriorQualification {
    id: i64,
    status: String,
}

#[derive(sqlx::FromRow)]
struct QualificationRow {
    certificate_number: String,
    item: String,
    grade: String,
    status: String,
}

impl Store {
    /// 资质核准 / 增项: creates the certificate of that category when the enterprise has none.
    pub async fn grant_qualification(
        &self,
        actor: &str,
        code: &CreditCode,
        g: &Grant,
        issuer: &str,
        now: DateTime<Utc>,
    ) -> Result<ChangeOutcome, StoreError> {
        let mut tx = self.begin().await?;
        let out = grant_in(&mut tx, actor, code, g, issuer, None, now).await?;
        tx.commit().await?;
        Ok(out)
    }

    /// Ids of the qualifications of a certificate, by item name.
    pub async fn qualification_id(
        &self,
        number: &CertificateNumber,
        item: &str,
    ) -> Result<Option<i64>, StoreError> {
        Ok(sqlx::query_scalar::<_, i64>(
            "SELECT id FROM qualifications WHERE certificate_number = $1 AND item = $2",
        )
        .bind(number.as_str())
        .bind(item)
        .fetch_optional(self.pool())
        .await?)
    }

    /// 升级、降级、暂扣、恢复、撤销、注销 of one qualification.
    pub async fn change_qualification(
        &self,
        actor: &str,
        qualification_id: i64,
        action: QualificationAction,
        new_grade: Option<&str>,
        note: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<ChangeOutcome, StoreError> {
        let mut tx = self.begin().await?;
        let out = apply_change(
            &mut tx,
            actor,
            qualification_id,
            action,
            None,
            new_grade,
            note,
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(out)
    }
}

/// [`Store::grant_qualification`] inside `tx` (also used when an approver approves a clerk's
/// 增项, in the same transaction that marks the request approved). `extra_note` (the legal
/// basis and effective date) is added to the version's note.
pub(super) async fn grant_in(
    tx: &mut super::Tx,
    actor: &str,
    code: &CreditCode,
    g: &Grant,
    issuer: &str,
    extra_note: Option<&str>,
    now: DateTime<Utc>,
) -> Result<ChangeOutcome, StoreError> {
    let q = Qualification {
        category: g.category,
        item: g.item.trim().to_owned(),
        grade: g.grade.trim().to_owned(),
    };
    q.validate()?;
    let today = zizhi_shared::time::beijing_date(now);
    let approved_on = g.approved_on.unwrap_or(today);
    if let Some(until) = g.valid_until
        && until < approved_on
    {
        return Err(validity_ends_before_approval());
    }
    let eid = enterprise_id(tx, code).await?;
    let existing = sqlx::query_as::<_, ExistingCertificate>(
        "SELECT number FROM certificates WHERE enterprise_id = $1 AND category = $2",
    )
    .bind(eid)
    .bind(g.category.code())
    .fetch_optional(&mut **tx)
    .await?;

    let (number, kind, issuer_for_version) = match existing {
        Some(row) => {
            let number: CertificateNumber = parse_field("number", &row.number)?;
            if let Some(requested) = &g.certificate_number
                && *requested != number
            {
                return Err(StoreError::conflict(
                    "certificate_exists",
                    format!("该企业已有{}证书 {number}", g.category.name_zh()),
                ));
            }
            if let Some(until) = g.valid_until {
                sqlx::query("UPDATE certificates SET valid_until = $1 WHERE number = $2")
                    .bind(until.to_string())
                    .bind(number.as_str())
                    .execute(&mut **tx)
                    .await?;
            }
            sqlx::query("UPDATE certificates SET approved_on = $1 WHERE number = $2")
                .bind(approved_on.to_string())
                .bind(number.as_str())
                .execute(&mut **tx)
                .await?;
            (number, ChangeKind::Add, None)
        }
        None => {
            let Some(until) = g.valid_until else {
                return Err(StoreError::invalid(
                    "valid_until_required",
                    "首次核准须填写有效期至",
                ));
            };
            let number = match &g.certificate_number {
                Some(n) if n.as_str().starts_with(g.category.number_prefix()) => n.clone(),
                Some(n) => return Err(number_of_other_category(g.category, n)),
                None => next_certificate_number(tx, g.category).await?,
            };
            insert_certificate(tx, &number, eid, g.category, approved_on, until, || {
                StoreError::conflict("certificate_exists", format!("证书编号 {number} 已被使用"))
            })
            .await?;
            (number, ChangeKind::Grant, Some(issuer))
        }
    };

    let prior = sqlx::query_as::<_, PriorQualification>(
        "SELECT id, status FROM qualifications WHERE certificate_number = $1 AND item = $2",
    )
    .bind(number.as_str())
    .bind(&q.item)
    .fetch_optional(&mut **tx)
    .await?;
    let qid = match prior {
        Some(row) => {
            let status: QualificationStatus = parse_field("status", &row.status)?;
            if matches!(
                status,
                QualificationStatus::Active | QualificationStatus::Suspended
            ) {
                return Err(StoreError::conflict(
                    "qualification_exists",
                    format!("该企业已具有{}资质，请使用升级或降级", q.item),
                ));
            }
            sqlx::query(
                "UPDATE qualifications SET grade = $1, status = 'active', granted_on = $2, changed_at = $3 WHERE id = $4",
            )
            .bind(&q.grade)
            .bind(approved_on.to_string())
            .bind(instant(now))
            .bind(row.id)
            .execute(&mut **tx)
            .await?;
            row.id
        }
        None => {
            sqlx::query_scalar::<_, i64>(
                "INSERT INTO qualifications (certificate_number, item, grade, status, granted_on, changed_at)
                 VALUES ($1, $2, $3, 'active', $4, $5) RETURNING id",
            )
            .bind(number.as_str())
            .bind(&q.item)
            .bind(&q.grade)
            .bind(approved_on.to_string())
            .bind(instant(now))
            .fetch_one(&mut **tx)
            .await?
        }
    };
    let mut note = format!("{}：{}", kind.name_zh(), q.display_zh());
    if let Some(n) = extra_note {
        note.push_str(&format!("（{n}）"));
    }
    let version = issue_version(tx, &number, kind, &note, issuer_for_version, now).await?;
    append_event(
        tx,
        now,
        actor,
        &format!("qualification.{}", kind.code()),
        number.as_str(),
        Touches::Certificate(&number),
        &json!({ "qualification_id": qid, "qualification": q, "approved_on": approved_on, "version": version }),
    )
    .await?;
    Ok(ChangeOutcome {
        certificate_number: number,
        standing: CertificateStanding::Active,
        current_version: version,
        qualification_id: Some(qid),
    })
}

/// [`Store::change_qualification`] inside `tx` (also used when an approver approves a clerk's
/// change request, in the same transaction that marks the request approved). `term` is the
/// legal act when it says more than the action (吊销, 撤销 or 撤回 for a revocation): the
/// version's note and the event name it.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn apply_change(
    tx: &mut super::Tx,
    actor: &str,
    qualification_id: i64,
    action: QualificationAction,
    term: Option<&str>,
    new_grade: Option<&str>,
    note: Option<&str>,
    now: DateTime<Utc>,
) -> Result<ChangeOutcome, StoreError> {
    let not_found = || {
        StoreError::not_found(
            "qualification_not_found",
            format!("未找到资质 {qualification_id}"),
        )
    };
    let number: String =
        sqlx::query_scalar("SELECT certificate_number FROM qualifications WHERE id = $1")
            .bind(qualification_id)
            .fetch_optional(&mut **tx)
            .await?
            .ok_or_else(not_found)?;
    // Read the qualification only once the certificate is ours: a change that committed
    // meanwhile is then seen (and may make this one not allowed).
    lock_certificate(tx, &parse_field("number", &number)?).await?;
    let row = sqlx::query_as::<_, QualificationRow>(
        "SELECT certificate_number, item, grade, status FROM qualifications WHERE id = $1",
    )
    .bind(qualification_id)
    .fetch_optional(&mut **tx)
    .await?
    .ok_or_else(not_found)?;
    let number: CertificateNumber = parse_field("number", &row.certificate_number)?;
    let status: QualificationStatus = parse_field("status", &row.status)?;
    let QualificationRow { item, grade, .. } = row;

    use QualificationAction as A;
    use QualificationStatus as S;
    check_action_allowed(action, term, status, &item)?;
    let (new_status, grade_after) = match action {
        A::Upgrade | A::Downgrade => {
            let g = new_grade
                .map(str::trim)
                .filter(|g| !g.is_empty())
                .ok_or_else(|| StoreError::invalid("grade_required", "升级或降级须填写新等级"))?;
            zizhi_shared::bounded_text("grade", g, 10)?;
            check_grade_direction(action, &grade, g)?;
            (S::Active, g.to_owned())
        }
        A::Suspend => (S::Suspended, grade.clone()),
        A::Reinstate => (S::Active, grade.clone()),
        A::Revoke => (S::Revoked, grade.clone()),
        A::Cancel => (S::Cancelled, grade.clone()),
    };
    sqlx::query("UPDATE qualifications SET grade = $1, status = $2, changed_at = $3 WHERE id = $4")
        .bind(&grade_after)
        .bind(new_status.code())
        .bind(instant(now))
        .bind(qualification_id)
        .execute(&mut **tx)
        .await?;
    let kind = action.change_kind();
    let term = term.unwrap_or(kind.name_zh());
    let mut text = match action {
        A::Upgrade | A::Downgrade => format!("{term}：{item}{grade} → {grade_after}"),
        _ => format!("{term}：{item}{grade}"),
    };
    if let Some(n) = note.map(str::trim).filter(|n| !n.is_empty()) {
        // Printed in the version history like the fields `bounded_text` checks.
        if n.chars().any(char::is_control) {
            return Err(zizhi_shared::DomainError::ControlCharacter { field: "note" }.into());
        }
        text.push_str(&format!("（{}）", n.chars().take(100).collect::<String>()));
    }
    let version = issue_version(tx, &number, kind, &text, None, now).await?;
    let standing: CertificateStanding = parse_field(
        "state",
        &sqlx::query_scalar::<_, String>("SELECT state FROM certificates WHERE number = $1")
            .bind(number.as_str())
            .fetch_one(&mut **tx)
            .await?,
    )?;
    append_event(
        tx,
        now,
        actor,
        &format!("qualification.{}", kind.code()),
        number.as_str(),
        Touches::Certificate(&number),
        &json!({ "qualification_id": qualification_id, "item": item, "grade_before": grade,
                     "grade_after": grade_after, "legal_term": term, "note": text,
                     "version": version }),
    )
    .await?;
    Ok(ChangeOutcome {
        certificate_number: number,
        standing,
        current_version: version,
        qualification_id: Some(qualification_id),
    })
}

/// Whether the register's rules allow `action` on a qualification in `status` (checked when a
/// change is recorded and again when it is made). `term` names the act in the refusal.
pub(super) fn check_action_allowed(
    action: QualificationAction,
    term: Option<&str>,
    status: QualificationStatus,
    item: &str,
) -> Result<(), StoreError> {
    use QualificationAction as A;
    use QualificationStatus as S;
    let allowed = match action {
        A::Upgrade | A::Downgrade | A::Suspend => status == S::Active,
        A::Reinstate => status == S::Suspended,
        A::Revoke | A::Cancel => matches!(status, S::Active | S::Suspended),
    };
    if allowed {
        return Ok(());
    }
    Err(StoreError::conflict(
        "qualification_state",
        format!(
            "资质{item}当前状态为{}，不能{}",
            status.name_zh(),
            term.unwrap_or(action.change_kind().name_zh())
        ),
    ))
}
