//! 变更申请: a clerk records a change to a qualification with its legal basis (依据); an
//! approver other than the clerk approves it (the change is then made, in the same
//! transaction that marks the request approved) or rejects it. Both are in the event log
//! under each person's own account.

use chrono::{DateTime, Utc};
use serde_json::json;

use super::qualifications::apply_change;
use super::{Store, StoreError, Touches, append_event, instant};
use crate::accounts::Account;
use crate::register::ops::{ChangeOutcome, QualificationAction};

/// A recorded change request, with what it is about.
#[derive(Debug, Clone)]
pub struct ChangeRequest {
    pub id: i64,
    pub qualification_id: i64,
    pub certificate_number: String,
    pub enterprise_name: String,
    pub item: String,
    pub grade: String,
    pub action: QualificationAction,
    pub new_grade: Option<String>,
    pub basis: String,
    pub requested_by: String,
    pub requested_by_id: i64,
    pub requested_at: String,
    pub decision: Option<String>,
    pub decided_by: Option<String>,
    pub decided_at: Option<String>,
}

#[derive(sqlx::FromRow)]
struct ChangeRequestRow {
    id: i64,
    qualification_id: i64,
    certificate_number: String,
    enterprise_name: String,
    item: String,
    grade: String,
    action: String,
    new_grade: Option<String>,
    basis: String,
    requested_by: String,
    requested_by_id: i64,
    requested_at: String,
    decision: Option<String>,
    decided_by: Option<String>,
    decided_at: Option<String>,
}

const SELECT: &str =
    "SELECT r.id, r.qualification_id, q.certificate_number, e.name AS enterprise_name,
        q.item, q.grade, r.action, r.new_grade, r.basis, a.display_name AS requested_by,
        r.requested_by AS requested_by_id, r.requested_at, r.decision,
        d.display_name AS decided_by, r.decided_at
    FROM change_requests r
    JOIN qualifications q ON q.id = r.qualification_id
    JOIN certificates c ON c.number = q.certificate_number
    JOIN enterprises e ON e.id = c.enterprise_id
    JOIN accounts a ON a.id = r.requested_by
    LEFT JOIN accounts d ON d.id = r.decided_by";

impl TryFrom<ChangeRequestRow> for ChangeRequest {
    type Error = StoreError;
    fn try_from(r: ChangeRequestRow) -> Result<Self, StoreError> {
        Ok(ChangeRequest {
            id: r.id,
            qualification_id: r.qualification_id,
            certificate_number: r.certificate_number,
            enterprise_name: r.enterprise_name,
            item: r.item,
            grade: r.grade,
            action: serde_json::from_value(serde_json::Value::String(r.action.clone()))
                .map_err(|_| StoreError::Corrupt(format!("bad action {:?}", r.action)))?,
            new_grade: r.new_grade,
            basis: r.basis,
            requested_by: r.requested_by,
            requested_by_id: r.requested_by_id,
            requested_at: r.requested_at,
            decision: r.decision,
            decided_by: r.decided_by,
            decided_at: r.decided_at,
        })
    }
}

fn request_not_found(id: i64) -> StoreError {
    StoreError::not_found("change_request_not_found", format!("未找到变更申请 {id}"))
}

/// `upgrade` and the like, as stored.
fn action_code(action: QualificationAction) -> String {
    serde_json::to_value(action)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

impl Store {
    /// The certificate a qualification belongs to.
    pub async fn qualification_certificate(
        &self,
        id: i64,
    ) -> Result<Option<zizhi_shared::CertificateNumber>, StoreError> {
        sqlx::query_scalar::<_, String>(
            "SELECT certificate_number FROM qualifications WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(self.pool())
        .await?
        .map(|n| super::parse_field("certificate number", &n))
        .transpose()
    }

    /// Records a clerk's change request (nothing changes until an approver approves it).
    pub async fn request_change(
        &self,
        clerk: &Account,
        qualification_id: i64,
        action: QualificationAction,
        new_grade: Option<&str>,
        basis: &str,
        now: DateTime<Utc>,
    ) -> Result<i64, StoreError> {
        let mut tx = self.begin().await?;
        let number: String =
            sqlx::query_scalar("SELECT certificate_number FROM qualifications WHERE id = $1")
                .bind(qualification_id)
                .fetch_optional(&mut *tx)
                .await?
                .ok_or_else(|| {
                    StoreError::not_found(
                        "qualification_not_found",
                        format!("未找到资质 {qualification_id}"),
                    )
                })?;
        let id = sqlx::query_scalar::<_, i64>(
            "INSERT INTO change_requests (qualification_id, action, new_grade, basis, requested_by, requested_at)
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        )
        .bind(qualification_id)
        .bind(action_code(action))
        .bind(new_grade)
        .bind(basis)
        .bind(clerk.id)
        .bind(instant(now))
        .fetch_one(&mut *tx)
        .await?;
        append_event(
            &mut tx,
            now,
            &clerk.actor(),
            "change_request.record",
            &number,
            Touches::Nothing,
            &json!({ "request_id": id, "qualification_id": qualification_id,
                     "action": action_code(action), "new_grade": new_grade, "basis": basis }),
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
        .map(ChangeRequest::try_from)
        .collect()
    }

    pub async fn change_request(&self, id: i64) -> Result<ChangeRequest, StoreError> {
        sqlx::query_as::<_, ChangeRequestRow>(&format!("{SELECT} WHERE r.id = $1"))
            .bind(id)
            .fetch_optional(self.pool())
            .await?
            .ok_or_else(|| request_not_found(id))?
            .try_into()
    }

    /// Approves (the change is made now, as this approver, in this transaction) or rejects a
    /// pending request. The clerk who recorded it cannot decide it.
    pub async fn decide_change(
        &self,
        approver: &Account,
        id: i64,
        approve: bool,
        now: DateTime<Utc>,
    ) -> Result<Option<ChangeOutcome>, StoreError> {
        let mut tx = self.begin().await?;
        let row = sqlx::query_as::<_, ChangeRequestRow>(&format!("{SELECT} WHERE r.id = $1"))
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or_else(|| request_not_found(id))?;
        let request = ChangeRequest::try_from(row)?;
        if request.requested_by_id == approver.id {
            return Err(StoreError::refused(
                "own_request",
                "不能审批自己登记的变更申请：须由另一名审批人审批",
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
        let outcome = if approve {
            let note = format!("依据：{}", request.basis);
            Some(
                apply_change(
                    &mut tx,
                    &approver.actor(),
                    request.qualification_id,
                    request.action,
                    request.new_grade.as_deref(),
                    Some(&note),
                    now,
                )
                .await?,
            )
        } else {
            append_event(
                &mut tx,
                now,
                &approver.actor(),
                "change_request.reject",
                &request.certificate_number,
                Touches::Nothing,
                &json!({ "request_id": id }),
            )
            .await?;
            None
        };
        tx.commit().await?;
        Ok(outcome)
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
