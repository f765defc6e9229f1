//! 变更申请: a clerk records a change with its legal basis (依据) and effective date (生效日期)
//! — any act the guide names ([`ChangeAct`]): one qualification's 升级、降级、暂扣、恢复、吊销、
//! 撤销、撤回、注销, an enterprise's 增项, or its 信息变更. An approver other than the clerk
//! approves it (the change is then made through the same store path the issuer API uses, in the
//! same transaction that marks the request approved) or rejects it. Both are in the event log
//! under each person's own account, with the legal term.
//!
//! The rule on the effective date is in [`crate::register::change_requests`].

use chrono::{DateTime, NaiveDate, Utc};
use serde_json::json;
use zizhi_shared::{Category, CertificateNumber, CreditCode, Enterprise, Qualification};

use super::enterprises::{enterprise_by_id, enterprise_id, update_enterprise_in};
use super::qualifications::{apply_change, check_action_allowed, grant_in};
use super::{Store, StoreError, Touches, Tx, append_event, instant, parse_date, parse_field};
use crate::accounts::{Account, Audience};
use crate::register::change_requests::{
    ChangeDetails, Recording, beijing_today, check_effective_on,
};
use crate::register::model::QualificationStatus;
use crate::register::ops::{ChangeAct, Grant, QualificationAction, check_grade_direction};

/// A recorded change request, with what it is about.
#[derive(Debug, Clone)]
pub struct ChangeRequest {
    pub id: i64,
    pub act: ChangeAct,
    pub enterprise_name: String,
    pub credit_code: String,
    pub qualification_id: Option<i64>,
    pub new_grade: Option<String>,
    pub details: ChangeDetails,
    pub basis: String,
    pub effective_on: NaiveDate,
    pub requested_by: String,
    pub requested_by_id: i64,
    requested_by_login: String,
    pub requested_at: String,
    pub decision: Option<String>,
    pub decided_by: Option<String>,
    pub decided_at: Option<String>,
}

impl ChangeRequest {
    /// The certificate the request is about; none for 信息变更 (it reissues all of them).
    pub fn certificate_number(&self) -> Option<&CertificateNumber> {
        match &self.details {
            ChangeDetails::Qualification {
                certificate_number, ..
            }
            | ChangeDetails::AddItem {
                certificate_number, ..
            } => Some(certificate_number),
            ChangeDetails::EnterpriseInfo { .. } => None,
        }
    }

    /// What the event log files the request under: its certificate, or the enterprise.
    fn subject(&self) -> String {
        self.certificate_number()
            .map_or_else(|| self.credit_code.clone(), |n| n.as_str().to_owned())
    }
}

#[derive(sqlx::FromRow)]
struct ChangeRequestRow {
    id: i64,
    action: String,
    enterprise_id: i64,
    enterprise_name: String,
    credit_code: String,
    qualification_id: Option<i64>,
    certificate_number: Option<String>,
    item: Option<String>,
    grade: Option<String>,
    new_grade: Option<String>,
    details: Option<String>,
    basis: String,
    effective_on: String,
    requested_by: String,
    requested_by_id: i64,
    requested_by_login: String,
    requested_at: String,
    decision: Option<String>,
    decided_by: Option<String>,
    decided_at: Option<String>,
}

const SELECT: &str = "SELECT r.id, r.action, r.enterprise_id, e.name AS enterprise_name,
        e.credit_code, r.qualification_id, q.certificate_number, q.item, q.grade, r.new_grade,
        r.details, r.basis, r.effective_on, a.display_name AS requested_by,
        r.requested_by AS requested_by_id, a.login_name AS requested_by_login, r.requested_at,
        r.decision, d.display_name AS decided_by, r.decided_at
    FROM change_requests r
    JOIN enterprises e ON e.id = r.enterprise_id
    LEFT JOIN qualifications q ON q.id = r.qualification_id
    JOIN accounts a ON a.id = r.requested_by
    LEFT JOIN accounts d ON d.id = r.decided_by";

fn corrupt(what: &str, id: i64) -> StoreError {
    StoreError::Corrupt(format!("change request {id}: {what}"))
}

impl ChangeRequestRow {
    /// The request and the id of its enterprise.
    fn parse(self) -> Result<(ChangeRequest, i64), StoreError> {
        let r = self;
        let act = ChangeAct::from_code(&r.action).ok_or_else(|| corrupt("action", r.id))?;
        let details = match &r.details {
            Some(d) => serde_json::from_str(d).map_err(|_| corrupt("details", r.id))?,
            // Recorded before migration 0010: the qualification as it is now.
            None => ChangeDetails::Qualification {
                certificate_number: parse_field(
                    "certificate number",
                    r.certificate_number.as_deref().unwrap_or_default(),
                )?,
                item: r.item.clone().unwrap_or_default(),
                grade: r.grade.clone().unwrap_or_default(),
            },
        };
        Ok((
            ChangeRequest {
                id: r.id,
                act,
                enterprise_name: r.enterprise_name,
                credit_code: r.credit_code,
                qualification_id: r.qualification_id,
                new_grade: r.new_grade,
                details,
                basis: r.basis,
                effective_on: parse_date(&r.effective_on)?,
                requested_by: r.requested_by,
                requested_by_id: r.requested_by_id,
                requested_by_login: r.requested_by_login,
                requested_at: r.requested_at,
                decision: r.decision,
                decided_by: r.decided_by,
                decided_at: r.decided_at,
            },
            r.enterprise_id,
        ))
    }
}

fn request_not_found(id: i64) -> StoreError {
    StoreError::not_found("change_request_not_found", format!("未找到变更申请 {id}"))
}

/// One request to insert.
struct NewRequest<'a> {
    act: ChangeAct,
    enterprise_id: i64,
    qualification_id: Option<i64>,
    new_grade: Option<&'a str>,
    details: ChangeDetails,
}

/// Inserts the request and its `change_request.record` event (under the clerk's account).
async fn insert_request(
    tx: &mut Tx,
    r: &Recording<'_>,
    new: NewRequest<'_>,
    subject: &str,
) -> Result<i64, StoreError> {
    let details = serde_json::to_string(&new.details).map_err(super::encode_error)?;
    let id = sqlx::query_scalar::<_, i64>(
        "INSERT INTO change_requests
           (action, enterprise_id, qualification_id, new_grade, details, basis, effective_on,
            requested_by, requested_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
    )
    .bind(new.act.code())
    .bind(new.enterprise_id)
    .bind(new.qualification_id)
    .bind(new.new_grade)
    .bind(&details)
    .bind(r.basis)
    .bind(r.effective_on.to_string())
    .bind(r.clerk.id)
    .bind(instant(r.now))
    .fetch_one(&mut **tx)
    .await?;
    append_event(
        tx,
        r.now,
        &r.clerk.actor(),
        "change_request.record",
        subject,
        Touches::Nothing,
        &json!({ "request_id": id, "action": new.act.code(), "legal_term": new.act.name_zh(),
                 "basis": r.basis, "effective_on": r.effective_on,
                 "qualification_id": new.qualification_id, "new_grade": new.new_grade,
                 "details": new.details }),
    )
    .await?;
    Ok(id)
}

#[derive(sqlx::FromRow)]
struct QualificationNow {
    certificate_number: String,
    enterprise_id: i64,
    item: String,
    grade: String,
    status: String,
}

#[derive(sqlx::FromRow)]
struct CertificateOfCategory {
    number: String,
    approved_on: String,
    valid_until: String,
}

impl Store {
    /// The certificate a qualification belongs to.
    pub async fn qualification_certificate(
        &self,
        id: i64,
    ) -> Result<Option<CertificateNumber>, StoreError> {
        sqlx::query_scalar::<_, String>(
            "SELECT certificate_number FROM qualifications WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(self.pool())
        .await?
        .map(|n| parse_field("certificate number", &n))
        .transpose()
    }

    /// Records a clerk's change of one qualification (nothing changes until an approver
    /// approves it). The register's rules that the change must meet are checked now, and again
    /// when it is made.
    pub async fn request_qualification_change(
        &self,
        r: &Recording<'_>,
        qualification_id: i64,
        act: ChangeAct,
        new_grade: Option<&str>,
    ) -> Result<i64, StoreError> {
        check_effective_on(r.effective_on, r.now)?;
        let action = act.qualification_action().ok_or_else(|| {
            StoreError::invalid(
                "not_a_qualification_change",
                format!("{}不是对某一项资质的变更", act.name_zh()),
            )
        })?;
        let mut tx = self.begin().await?;
        let q = sqlx::query_as::<_, QualificationNow>(
            "SELECT q.certificate_number, c.enterprise_id, q.item, q.grade, q.status
             FROM qualifications q JOIN certificates c ON c.number = q.certificate_number
             WHERE q.id = $1",
        )
        .bind(qualification_id)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(|| {
            StoreError::not_found(
                "qualification_not_found",
                format!("未找到资质 {qualification_id}"),
            )
        })?;
        let status: QualificationStatus = parse_field("status", &q.status)?;
        check_action_allowed(action, Some(act.name_zh()), status, &q.item)?;
        let new_grade = match action {
            QualificationAction::Upgrade | QualificationAction::Downgrade => {
                let g = new_grade.ok_or_else(|| {
                    StoreError::invalid("grade_required", "升级或降级须填写新等级")
                })?;
                check_grade_direction(action, &q.grade, g)?;
                Some(g)
            }
            _ => None,
        };
        let number: CertificateNumber = parse_field("number", &q.certificate_number)?;
        let id = insert_request(
            &mut tx,
            r,
            NewRequest {
                act,
                enterprise_id: q.enterprise_id,
                qualification_id: Some(qualification_id),
                new_grade,
                details: ChangeDetails::Qualification {
                    certificate_number: number.clone(),
                    item: q.item,
                    grade: q.grade,
                },
            },
            number.as_str(),
        )
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Records a clerk's 增项: a qualification to add to the enterprise's certificate of its
    /// category. `item` and `grade` come checked by the caller (the printer's fonts).
    pub async fn request_add_item(
        &self,
        r: &Recording<'_>,
        code: &CreditCode,
        category: Category,
        item: &str,
        grade: &str,
    ) -> Result<i64, StoreError> {
        check_effective_on(r.effective_on, r.now)?;
        let q = Qualification {
            category,
            item: item.trim().to_owned(),
            grade: grade.trim().to_owned(),
        };
        q.validate()?;
        let mut tx = self.begin().await?;
        let eid = enterprise_id(&mut tx, code).await?;
        let cert = sqlx::query_as::<_, CertificateOfCategory>(
            "SELECT number, approved_on, valid_until FROM certificates
             WHERE enterprise_id = $1 AND category = $2",
        )
        .bind(eid)
        .bind(category.code())
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(|| {
            StoreError::refused(
                "no_certificate_of_category",
                format!(
                    "该企业尚无{}证书：增项须加在已有证书上，首次核准请经登记企业或接口办理",
                    category.name_zh()
                ),
            )
        })?;
        let number: CertificateNumber = parse_field("number", &cert.number)?;
        let held = sqlx::query_scalar::<_, String>(
            "SELECT status FROM qualifications WHERE certificate_number = $1 AND item = $2",
        )
        .bind(number.as_str())
        .bind(&q.item)
        .fetch_optional(&mut *tx)
        .await?;
        if let Some(status) = held {
            let status: QualificationStatus = parse_field("status", &status)?;
            if matches!(
                status,
                QualificationStatus::Active | QualificationStatus::Suspended
            ) {
                return Err(StoreError::conflict(
                    "qualification_exists",
                    format!("该企业已具有{}资质，请使用升级或降级", q.item),
                ));
            }
        }
        // The new qualification's approval date is the effective date; it becomes the
        // certificate's 批准日期, which must stay within its validity and not move back.
        let approved_on = parse_date(&cert.approved_on)?;
        let valid_until = parse_date(&cert.valid_until)?;
        if r.effective_on > valid_until {
            return Err(StoreError::invalid(
                "effective_after_validity",
                format!("生效日期 {} 晚于证书有效期至 {valid_until}", r.effective_on),
            ));
        }
        if r.effective_on < approved_on {
            return Err(StoreError::invalid(
                "effective_before_approval",
                format!(
                    "生效日期 {} 早于证书现行批准日期 {approved_on}",
                    r.effective_on
                ),
            ));
        }
        let id = insert_request(
            &mut tx,
            r,
            NewRequest {
                act: ChangeAct::AddItem,
                enterprise_id: eid,
                qualification_id: None,
                new_grade: None,
                details: ChangeDetails::AddItem {
                    certificate_number: number.clone(),
                    category,
                    item: q.item,
                    grade: q.grade,
                },
            },
            number.as_str(),
        )
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Records a clerk's 信息变更 of the enterprise `after.credit_code` (the credit code itself
    /// is not changed here). `after` comes checked by the caller (the printer's fonts).
    pub async fn request_enterprise_info(
        &self,
        r: &Recording<'_>,
        after: &Enterprise,
    ) -> Result<i64, StoreError> {
        check_effective_on(r.effective_on, r.now)?;
        after.validate()?;
        let mut tx = self.begin().await?;
        let eid = enterprise_id(&mut tx, &after.credit_code).await?;
        let before = enterprise_by_id(&mut tx, eid).await?;
        if before == *after {
            return Err(StoreError::invalid(
                "enterprise_unchanged",
                "所填企业信息与登记簿相同，无需变更",
            ));
        }
        let id = insert_request(
            &mut tx,
            r,
            NewRequest {
                act: ChangeAct::EnterpriseInfo,
                enterprise_id: eid,
                qualification_id: None,
                new_grade: None,
                details: ChangeDetails::EnterpriseInfo {
                    before: Box::new(before),
                    after: Box::new(after.clone()),
                },
            },
            after.credit_code.as_str(),
        )
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Requests awaiting a decision, oldest first, then the latest decided ones.
    pub async fn change_requests(&self, limit: i64) -> Result<Vec<ChangeRequest>, StoreError> {
        sqlx::query_as::<_, ChangeRequestRow>(&format!(
            "{SELECT} ORDER BY CASE WHEN r.decided_at IS NULL THEN 0 ELSE 1 END,
                 CASE WHEN r.decided_at IS NULL THEN r.id ELSE -r.id END LIMIT $1"
        ))
        .bind(limit)
        .fetch_all(self.pool())
        .await?
        .into_iter()
        .map(|row| row.parse().map(|(r, _)| r))
        .collect()
    }

    pub async fn change_request(&self, id: i64) -> Result<ChangeRequest, StoreError> {
        let row = sqlx::query_as::<_, ChangeRequestRow>(&format!("{SELECT} WHERE r.id = $1"))
            .bind(id)
            .fetch_optional(self.pool())
            .await?
            .ok_or_else(|| request_not_found(id))?;
        Ok(row.parse()?.0)
    }

    /// Approves (the change is made now, as this approver, in this transaction) or rejects a
    /// pending request. The clerk who recorded it cannot decide it; it cannot be approved
    /// before its effective date. `issuer` names the issuer on a certificate a 增项 would
    /// create. Returns the certificates that got a new version (or lost their last
    /// qualification).
    pub async fn decide_change(
        &self,
        approver: &Account,
        id: i64,
        approve: bool,
        issuer: &str,
        now: DateTime<Utc>,
    ) -> Result<Vec<CertificateNumber>, StoreError> {
        let mut tx = self.begin().await?;
        let row = sqlx::query_as::<_, ChangeRequestRow>(&format!("{SELECT} WHERE r.id = $1"))
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or_else(|| request_not_found(id))?;
        let (request, eid) = row.parse()?;
        if request.requested_by_id == approver.id {
            return Err(StoreError::refused(
                "own_request",
                "不能审批自己登记的变更申请：须由另一名审批人审批",
            ));
        }
        if request.decision.is_some() {
            return Err(StoreError::conflict(
                "change_request_decided",
                "该变更申请已审批",
            ));
        }
        if approve && beijing_today(now) < request.effective_on {
            return Err(StoreError::refused(
                "not_yet_effective",
                format!(
                    "生效日期未到：该变更自 {} 起生效，须于当日或其后审批",
                    request.effective_on
                ),
            ));
        }
        let decided = sqlx::query(
            "UPDATE change_requests SET decision = $1, decided_by = $2, decided_at = $3
             WHERE id = $4 AND decided_at IS NULL",
        )
        .bind(if approve { "approved" } else { "rejected" })
        .bind(approver.id)
        .bind(instant(now))
        .bind(id)
        .execute(&mut *tx)
        .await?;
        if decided.rows_affected() == 0 {
            return Err(StoreError::conflict(
                "change_request_decided",
                "该变更申请已审批",
            ));
        }
        let changed = if approve {
            apply_request(&mut tx, approver, &request, eid, issuer, now).await?
        } else {
            Vec::new()
        };
        append_event(
            &mut tx,
            now,
            &approver.actor(),
            if approve {
                "change_request.approve"
            } else {
                "change_request.reject"
            },
            &request.subject(),
            Touches::Nothing,
            &json!({ "request_id": id, "action": request.act.code(),
                     "legal_term": request.act.name_zh(), "basis": request.basis,
                     "effective_on": request.effective_on,
                     "recorded_by": format!("{}:{}", Audience::Issuer.as_ref(), request.requested_by_login),
                     "new_versions": changed }),
        )
        .await?;
        tx.commit().await?;
        Ok(changed)
    }
}

/// Makes an approved request's change, through the store path the issuer API uses for it.
async fn apply_request(
    tx: &mut Tx,
    approver: &Account,
    request: &ChangeRequest,
    enterprise: i64,
    issuer: &str,
    now: DateTime<Utc>,
) -> Result<Vec<CertificateNumber>, StoreError> {
    let note = format!(
        "依据：{}；生效日期：{}",
        request.basis, request.effective_on
    );
    let actor = approver.actor();
    match &request.details {
        ChangeDetails::Qualification { .. } => {
            let (Some(action), Some(qid)) =
                (request.act.qualification_action(), request.qualification_id)
            else {
                return Err(corrupt(
                    "qualification change without qualification",
                    request.id,
                ));
            };
            let out = apply_change(
                tx,
                &actor,
                qid,
                action,
                Some(request.act.name_zh()),
                request.new_grade.as_deref(),
                Some(&note),
                now,
            )
            .await?;
            Ok(vec![out.certificate_number])
        }
        ChangeDetails::AddItem {
            category,
            item,
            grade,
            ..
        } => {
            let code: CreditCode = parse_field("credit code", &request.credit_code)?;
            let grant = Grant {
                category: *category,
                item: item.clone(),
                grade: grade.clone(),
                approved_on: Some(request.effective_on),
                valid_until: None,
                certificate_number: None,
            };
            let out = grant_in(tx, &actor, &code, &grant, issuer, Some(&note), now).await?;
            Ok(vec![out.certificate_number])
        }
        ChangeDetails::EnterpriseInfo { before, after } => {
            // Applied only over the block the clerk saw: a change made meanwhile (through the
            // API or another request) is not silently overwritten.
            if enterprise_by_id(tx, enterprise).await? != **before {
                return Err(StoreError::conflict(
                    "enterprise_changed_since_request",
                    "登记该申请后企业信息已被修改：请退回本申请并重新登记",
                ));
            }
            update_enterprise_in(tx, &actor, &before.credit_code, after, Some(&note), now).await
        }
    }
}

/// What the console's event log is filtered by; every part optional.
#[derive(Debug, Clone, Default)]
pub struct EventFilter {
    /// Who acted (a fragment of the actor, e.g. `issuer:li.ming`).
    pub actor: Option<String>,
    /// The action, from its start (e.g. `qualification.` or `copy.withdraw`).
    pub action: Option<String>,
    /// The subject exactly (a certificate number, a credit code, `account:7`).
    pub subject: Option<String>,
    /// From this instant (inclusive), stored form.
    pub from: Option<String>,
    /// Before this instant, stored form.
    pub until: Option<String>,
}

impl Store {
    /// One page of the event log, newest first, and how many events match in all. The
    /// filter's values are bound parameters; only which conditions apply changes the text.
    pub async fn events_page(
        &self,
        f: &EventFilter,
        page: u32,
        per_page: u32,
    ) -> Result<(Vec<super::EventRecord>, u64), StoreError> {
        let mut conditions = Vec::new();
        let mut args: Vec<String> = Vec::new();
        let mut add = |sql: &str, value: String| {
            args.push(value);
            conditions.push(sql.replace('?', &format!("${}", args.len())));
        };
        if let Some(a) = &f.actor {
            add("actor LIKE ? ESCAPE '\\'", super::like_fragment(a));
        }
        if let Some(a) = &f.action {
            let mut prefix = super::like_fragment(a);
            prefix.remove(0);
            add("action LIKE ? ESCAPE '\\'", prefix);
        }
        if let Some(s) = &f.subject {
            add("subject = ?", s.clone());
        }
        if let Some(t) = &f.from {
            add("at >= ?", t.clone());
        }
        if let Some(t) = &f.until {
            add("at < ?", t.clone());
        }
        let filter = if conditions.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", conditions.join(" AND "))
        };
        // Bound values only; `filter` is built from fixed fragments.
        let count_sql = format!("SELECT COUNT(*) FROM events {filter}");
        let mut count = sqlx::query_scalar::<_, i64>(&count_sql);
        for a in &args {
            count = count.bind(a.clone());
        }
        let total = count.fetch_one(self.pool()).await?;
        let per_page = per_page.clamp(1, 100);
        let offset = i64::from(page.max(1) - 1) * i64::from(per_page);
        let sql = format!(
            "SELECT {} FROM events {filter} ORDER BY id DESC LIMIT ${} OFFSET ${}",
            super::events::EVENT_COLUMNS,
            args.len() + 1,
            args.len() + 2
        );
        let mut q = sqlx::query_as::<_, super::events::EventRow>(&sql);
        for a in &args {
            q = q.bind(a.clone());
        }
        let rows = q
            .bind(i64::from(per_page))
            .bind(offset)
            .fetch_all(self.pool())
            .await?;
        let events = rows
            .into_iter()
            .map(super::EventRecord::try_from)
            .collect::<Result<Vec<_>, _>>()?;
        Ok((events, total.max(0) as u64))
    }
}
