//! Copies (批准件 and 使用件): issuing and withdrawing them. The copy row, its signed payload,
//! its signed PDF (for an enterprise's usage copy), its idempotency key and the event-log
//! entry commit together.

use std::future::Future;
use std::pin::Pin;

use chrono::{DateTime, NaiveDate, Timelike, Utc};
use serde_json::json;
use sha2::{Digest, Sha256};
use zizhi_shared::trust::KeyRole;
use zizhi_shared::{
    Certificate, CertificateNumber, Claims, CopyKind, IssuerKey, QrText, UsageTerms,
};

use super::certificates::lock_certificate;
use super::documents::insert_document;
use super::events::{NewEvent, append_events, values_placeholders};
use super::status::load_status;
use super::{
    Store, StoreError, Touches, Tx, append_event, instant, parse_date, parse_field, parse_instant,
};
use crate::copies::model::CopyRecord;
use crate::key_ring::{KeyRing, LoadedKeys};
use crate::register::model::{CertificateStanding, CertificateStatus};

const COPY_COLUMNS: &str = "id, kind, certificate_number, certificate_version, purpose, usage_from, usage_to, issued_at, key_id, qr_text, withdrawn_at";

/// A copy's number and the signed QR text the register issued under it.
#[derive(sqlx::FromRow)]
pub struct IssuedCopyText {
    pub id: i64,
    pub qr_text: String,
}

#[derive(sqlx::FromRow)]
struct CopyRow {
    id: i64,
    kind: String,
    certificate_number: String,
    certificate_version: i64,
    purpose: Option<String>,
    usage_from: Option<String>,
    usage_to: Option<String>,
    issued_at: String,
    key_id: String,
    qr_text: String,
    withdrawn_at: Option<String>,
}

impl TryFrom<CopyRow> for CopyRecord {
    type Error = StoreError;
    fn try_from(r: CopyRow) -> Result<Self, StoreError> {
        let kind = match r.kind.as_str() {
            "approval" => CopyKind::Approval,
            "usage" => CopyKind::Usage,
            other => return Err(StoreError::Corrupt(format!("copy kind {other:?}"))),
        };
        let usage = match (r.purpose, r.usage_from, r.usage_to) {
            (Some(purpose), Some(from), Some(to)) => Some(UsageTerms {
                purpose,
                from: parse_date(&from)?,
                to: parse_date(&to)?,
            }),
            _ => None,
        };
        Ok(CopyRecord {
            id: r.id as u64,
            kind,
            certificate_number: parse_field("number", &r.certificate_number)?,
            certificate_version: r.certificate_version as u32,
            usage,
            issued_at: parse_instant(&r.issued_at)?,
            key_id: r.key_id,
            qr_text: r.qr_text,
            withdrawn_at: r.withdrawn_at.as_deref().map(parse_instant).transpose()?,
        })
    }
}

fn copy_not_found(id: u64) -> StoreError {
    StoreError::not_found("copy_not_found", format!("未找到编号为 {id} 的证书件"))
}

/// A copy to issue: by whom, of which certificate, approval (`usage: None`) or usage copy.
#[derive(Debug, Clone)]
pub struct CopyRequest<'a> {
    pub actor: &'a str,
    pub number: &'a CertificateNumber,
    pub usage: Option<UsageTerms>,
    /// The client's `Idempotency-Key`: a retry with the same key (by the same actor, for the
    /// same request) gets the copy the first request made instead of a second one.
    pub idempotency_key: Option<&'a str>,
    /// For a usage copy made in the portal: who approved it and how, kept with the copy.
    pub approval: Option<UsageApproval<'a>>,
}

/// 使用件审批记录: the account that approved a usage copy and the passkey assertion it made
/// over a challenge bound to exactly this copy's terms (`method` `passkey`), or `password`
/// for a demo account without a key.
#[derive(Debug, Clone, Copy)]
pub struct UsageApproval<'a> {
    pub account_id: i64,
    pub method: &'a str,
    pub credential_id: Option<&'a str>,
    pub assertion: Option<&'a str>,
}

/// What an issuing request got: the copy, and whether an earlier request made it.
#[derive(Debug, Clone)]
pub struct IssueOutcome {
    pub copy: CopyRecord,
    /// An earlier request with the same idempotency key made it; nothing new was issued.
    pub replayed: bool,
}

/// Renders a copy's signed PDF (given the copy and the certificate version it prints) inside
/// the transaction that issues it, so the copy and its document commit together or not at
/// all.
pub type RenderDocument<'a, E> = Box<
    dyn FnOnce(
            CopyRecord,
            Certificate,
        ) -> Pin<Box<dyn Future<Output = Result<Vec<u8>, E>> + Send + 'a>>
        + Send
        + 'a,
>;

/// Idempotency keys: printable ASCII, as long as a UUID or a little more.
const MAX_IDEMPOTENCY_KEY: usize = 200;

fn idempotency_key_invalid() -> StoreError {
    StoreError::invalid(
        "idempotency_key_invalid",
        format!("Idempotency-Key 须为 1 至 {MAX_IDEMPOTENCY_KEY} 个可打印 ASCII 字符"),
    )
}

/// What a retry must repeat exactly to be answered with the first request's copy.
fn request_digest(r: &CopyRequest<'_>) -> String {
    let canonical = json!({ "number": r.number.as_str(), "usage": r.usage });
    hex::encode(Sha256::digest(canonical.to_string().as_bytes()))
}

/// Why one attempt at issuing did not finish.
enum Attempt<E> {
    Failed(E),
    /// A concurrent request with the same idempotency key committed first: read its copy.
    LostRace,
}

impl<E: From<StoreError>> From<StoreError> for Attempt<E> {
    fn from(e: StoreError) -> Self {
        Attempt::Failed(e.into())
    }
}

fn certificate_not_found(number: &CertificateNumber) -> StoreError {
    StoreError::not_found("certificate_not_found", format!("未找到证书 {number}"))
}

/// The register's rules for issuing a copy of a certificate's current version on `today`:
/// the certificate still holds a qualification and has not expired; a usage copy's terms are
/// well formed, not over, and inside the validity. Returns the terms in normal form. The
/// single and the batched issue both call this, so the rules have one home.
fn check_issue(
    status: &CertificateStatus,
    usage: Option<&UsageTerms>,
    today: NaiveDate,
) -> Result<Option<UsageTerms>, StoreError> {
    let number = &status.number;
    if status.standing != CertificateStanding::Active {
        return Err(StoreError::refused(
            "no_qualification_left",
            format!("证书 {number} 已无有效资质，不能生成批准件或使用件"),
        ));
    }
    let cert = &status.current().certificate;
    if cert.valid_until < today {
        return Err(StoreError::refused(
            "certificate_expired",
            format!("证书 {number} 已于 {} 过期", cert.valid_until),
        ));
    }
    let Some(t) = usage else {
        return Ok(None);
    };
    let t = UsageTerms::new(&t.purpose, t.from, t.to)?;
    if t.to < today {
        return Err(StoreError::invalid(
            "usage_period_in_past",
            "使用期限已经结束",
        ));
    }
    if t.from < cert.approved_on || t.to > cert.valid_until {
        return Err(StoreError::invalid(
            "usage_period_outside_validity",
            format!(
                "使用期限须在证书有效期内（{} 至 {}）",
                cert.approved_on, cert.valid_until
            ),
        ));
    }
    Ok(Some(t))
}

/// The copy-signing key in force on `now`'s date.
fn copy_signer(keys: &LoadedKeys, now: DateTime<Utc>) -> Result<&IssuerKey, StoreError> {
    keys.signer(KeyRole::CopySigning, now.date_naive())
        .map_err(|e| {
            tracing::error!(error = %e, "no copy-signing key in force");
            StoreError::Refused {
                code: "no_signing_key",
                message: "发证机关当前没有在用的证书件签发密钥，暂不能签发证书件，请联系发证机关"
                    .into(),
            }
        })
}

/// The signed QR text of copy `id` of the certificate's current version.
fn sign_copy(
    id: u64,
    status: &CertificateStatus,
    usage: Option<UsageTerms>,
    now: DateTime<Utc>,
    key: &IssuerKey,
    host: &str,
) -> Result<String, StoreError> {
    let current = status.current();
    let cert = &current.certificate;
    let claims = Claims {
        copy_id: id,
        certificate_number: status.number.clone(),
        certificate_version: current.version,
        kind: if usage.is_some() {
            CopyKind::Usage
        } else {
            CopyKind::Approval
        },
        enterprise_name: cert.enterprise.name.clone(),
        credit_code: cert.enterprise.credit_code.clone(),
        usage,
        issued_at: now,
        record_digest: cert.record_digest(),
    };
    claims.validate()?;
    Ok(QrText::encode(host, &claims.sign(key)))
}

/// The payload carries minutes; the register keeps exactly what was signed.
fn to_minute(now: DateTime<Utc>) -> DateTime<Utc> {
    now.with_second(0)
        .and_then(|t| t.with_nanosecond(0))
        .unwrap_or(now)
}

/// The approval copy of this version still in force, if one was issued.
async fn live_approval_copy(
    tx: &mut Tx,
    number: &CertificateNumber,
    version: u32,
) -> Result<Option<CopyRecord>, StoreError> {
    sqlx::query_as::<_, CopyRow>(&format!(
        "SELECT {COPY_COLUMNS} FROM copies
         WHERE certificate_number = $1 AND certificate_version = $2 AND kind = 'approval' AND withdrawn_at IS NULL
         ORDER BY id LIMIT 1"
    ))
    .bind(number.as_str())
    .bind(i64::from(version))
    .fetch_optional(&mut **tx)
    .await?
    .map(CopyRecord::try_from)
    .transpose()
}

impl Store {
    /// Issues a copy of the certificate's current version: an approval copy when `usage` is
    /// `None` (the existing one for this version is returned again), a usage copy otherwise.
    pub async fn issue_copy(
        &self,
        actor: &str,
        number: &CertificateNumber,
        usage: Option<UsageTerms>,
        keys: &KeyRing,
        host: &str,
        now: DateTime<Utc>,
    ) -> Result<CopyRecord, StoreError> {
        let request = CopyRequest {
            actor,
            number,
            usage,
            idempotency_key: None,
            approval: None,
        };
        Ok(self
            .issue_copy_with::<StoreError>(request, keys, host, now, None)
            .await?
            .copy)
    }

    /// [`Store::issue_copy`], honouring an idempotency key and, with `render`, storing the
    /// copy's signed PDF in the same transaction: an acknowledged copy always has its
    /// document, and a failure anywhere leaves no copy behind.
    pub async fn issue_copy_with<E: From<StoreError>>(
        &self,
        request: CopyRequest<'_>,
        keys: &KeyRing,
        host: &str,
        now: DateTime<Utc>,
        render: Option<RenderDocument<'_, E>>,
    ) -> Result<IssueOutcome, E> {
        if let Some(k) = request.idempotency_key
            && (k.is_empty()
                || k.len() > MAX_IDEMPOTENCY_KEY
                || !k.bytes().all(|b| b.is_ascii_graphic()))
        {
            return Err(idempotency_key_invalid().into());
        }
        match self.try_issue(&request, keys, host, now, render).await {
            Ok(issued) => Ok(issued),
            Err(Attempt::Failed(e)) => Err(e),
            // The other request has committed: this one is its retry.
            Err(Attempt::LostRace) => {
                let mut tx = self.begin().await?;
                match replay(&mut tx, &request).await? {
                    Some(issued) => Ok(issued),
                    None => Err(StoreError::conflict(
                        "concurrent_change",
                        "同一请求正在处理，请稍后重试",
                    )
                    .into()),
                }
            }
        }
    }

    async fn try_issue<E: From<StoreError>>(
        &self,
        request: &CopyRequest<'_>,
        keys: &KeyRing,
        host: &str,
        now: DateTime<Utc>,
        render: Option<RenderDocument<'_, E>>,
    ) -> Result<IssueOutcome, Attempt<E>> {
        let CopyRequest {
            actor,
            number,
            ref usage,
            idempotency_key,
            approval,
        } = *request;
        let now = to_minute(now);
        let today = zizhi_shared::time::beijing_date(now);
        let mut tx = self.begin().await?;
        if let Some(key) = idempotency_key {
            if let Some(issued) = replay(&mut tx, request).await? {
                return Ok(issued);
            }
            // Claimed now; on PostgreSQL a concurrent request with the same key waits here
            // until this transaction ends, then finds the key taken (and this copy made).
            let claimed = sqlx::query(
                "INSERT INTO idempotency_keys (scope, key, request_digest, created_at)
                 VALUES ($1, $2, $3, $4)",
            )
            .bind(actor)
            .bind(key)
            .bind(request_digest(request))
            .bind(instant(now))
            .execute(&mut *tx)
            .await;
            if let Err(e) = claimed {
                return Err(
                    if e.as_database_error()
                        .is_some_and(|d| d.kind() == sqlx::error::ErrorKind::UniqueViolation)
                    {
                        Attempt::LostRace
                    } else {
                        StoreError::from(e).into()
                    },
                );
            }
        }
        lock_certificate(&mut tx, number).await?;
        let status = load_status(&mut tx, number)
            .await?
            .ok_or_else(|| certificate_not_found(number))?;
        let usage = check_issue(&status, usage.as_ref(), today)?;
        let current = status.current();
        let cert = &current.certificate;
        if usage.is_none()
            && let Some(copy) = live_approval_copy(&mut tx, number, current.version).await?
        {
            record_key(&mut tx, request, copy.id).await?;
            tx.commit().await.map_err(StoreError::from)?;
            return Ok(IssueOutcome {
                copy,
                replayed: false,
            });
        }
        let kind = if usage.is_some() {
            CopyKind::Usage
        } else {
            CopyKind::Approval
        };
        let keys = keys.current();
        let key = copy_signer(&keys, now)?;
        let id = sqlx::query_scalar::<_, i64>(
            "INSERT INTO copies (kind, certificate_number, certificate_version, purpose, usage_from, usage_to, issued_at, key_id, qr_text)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, '') RETURNING id",
        )
        .bind(kind.code())
        .bind(number.as_str())
        .bind(i64::from(current.version))
        .bind(usage.as_ref().map(|u| u.purpose.clone()))
        .bind(usage.as_ref().map(|u| u.from.to_string()))
        .bind(usage.as_ref().map(|u| u.to.to_string()))
        .bind(instant(now))
        .bind(key.kid().to_string())
        .fetch_one(&mut *tx)
        .await
        .map_err(StoreError::from)?;
        let qr_text = sign_copy(id as u64, &status, usage.clone(), now, key, host)?;
        sqlx::query("UPDATE copies SET qr_text = $1 WHERE id = $2")
            .bind(&qr_text)
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(StoreError::from)?;
        let copy = CopyRecord {
            id: id as u64,
            kind,
            certificate_number: number.clone(),
            certificate_version: current.version,
            usage: usage.clone(),
            issued_at: now,
            key_id: key.kid().to_string(),
            qr_text,
            withdrawn_at: None,
        };
        if let Some(render) = render {
            // Dropping `tx` on failure rolls the copy back with it.
            let pdf = render(copy.clone(), cert.clone())
                .await
                .map_err(Attempt::Failed)?;
            insert_document(&mut tx, copy.id, &pdf, now).await?;
        }
        if let Some(a) = approval {
            sqlx::query(
                "INSERT INTO usage_approvals (copy_id, account_id, method, credential_id, assertion, approved_at)
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(id)
            .bind(a.account_id)
            .bind(a.method)
            .bind(a.credential_id)
            .bind(a.assertion)
            .bind(instant(now))
            .execute(&mut *tx)
            .await
            .map_err(StoreError::from)?;
        }
        record_key(&mut tx, request, copy.id).await?;
        append_event(
            &mut tx,
            now,
            actor,
            &format!("copy.issue_{}", kind.code()),
            number.as_str(),
            Touches::Certificate(number),
            &json!({ "copy_id": id, "version": current.version, "usage": usage, "key_id": key.kid().to_string() }),
        )
        .await?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(IssueOutcome {
            copy,
            replayed: false,
        })
    }

    /// Issues many copies of one certificate's current version in one transaction, for bulk
    /// work (the load benchmark's register): `None` asks for the approval copy, as in
    /// [`Store::issue_copy`] (the one in force is returned again, also for a second `None`),
    /// `Some` for a usage copy. The certificate is locked and its status read once; every
    /// item must pass the same rules as a single issue ([`check_issue`]) before anything is
    /// written, so one refused item refuses the whole batch and leaves nothing behind. Copies
    /// and their event-log entries are written with multi-row inserts. Returns the copies in
    /// the order asked.
    pub async fn issue_copies(
        &self,
        actor: &str,
        number: &CertificateNumber,
        items: Vec<Option<UsageTerms>>,
        keys: &KeyRing,
        host: &str,
        now: DateTime<Utc>,
    ) -> Result<Vec<CopyRecord>, StoreError> {
        let now = to_minute(now);
        let today = zizhi_shared::time::beijing_date(now);
        let mut tx = self.begin().await?;
        lock_certificate(&mut tx, number).await?;
        let status = load_status(&mut tx, number)
            .await?
            .ok_or_else(|| certificate_not_found(number))?;
        let items = items
            .iter()
            .map(|u| check_issue(&status, u.as_ref(), today))
            .collect::<Result<Vec<_>, _>>()?;
        if items.is_empty() {
            return Ok(Vec::new());
        }
        let version = status.current().version;
        let mut approval = if items.iter().any(Option::is_none) {
            live_approval_copy(&mut tx, number, version).await?
        } else {
            None
        };
        // Usage copies, and the approval copy unless one is in force, need a new row each.
        let fresh = items.iter().filter(|u| u.is_some()).count()
            + usize::from(approval.is_none() && items.iter().any(Option::is_none));
        let keys = keys.current();
        let key = copy_signer(&keys, now)?;
        let mut ids = reserve_copy_ids(&mut tx, fresh).await?.into_iter();
        let mut issued = Vec::with_capacity(items.len());
        let mut new = Vec::with_capacity(fresh);
        for usage in items {
            if usage.is_none()
                && let Some(a) = &approval
            {
                issued.push(a.clone());
                continue;
            }
            let id = ids
                .next()
                .ok_or_else(|| StoreError::Corrupt("fewer copy ids than copies".into()))?;
            let copy = CopyRecord {
                id,
                kind: if usage.is_some() {
                    CopyKind::Usage
                } else {
                    CopyKind::Approval
                },
                certificate_number: number.clone(),
                certificate_version: version,
                qr_text: sign_copy(id, &status, usage.clone(), now, key, host)?,
                usage,
                issued_at: now,
                key_id: key.kid().to_string(),
                withdrawn_at: None,
            };
            if copy.kind == CopyKind::Approval {
                approval = Some(copy.clone());
            }
            new.push(copy.clone());
            issued.push(copy);
        }
        insert_copies(&mut tx, &new).await?;
        let events: Vec<NewEvent<'_>> = new
            .iter()
            .map(|c| NewEvent {
                action: format!("copy.issue_{}", c.kind.code()),
                subject: number.as_str(),
                touches: Touches::Certificate(number),
                detail: json!({ "copy_id": c.id, "version": version, "usage": c.usage, "key_id": c.key_id }),
            })
            .collect();
        append_events(&mut tx, now, actor, &events).await?;
        tx.commit().await?;
        Ok(issued)
    }

    /// The signed QR text the register issued as copy `id`, if it issued one.
    pub async fn issued_copy_text(&self, id: u64) -> Result<Option<String>, StoreError> {
        let Ok(id) = i64::try_from(id) else {
            return Ok(None);
        };
        Ok(
            sqlx::query_scalar::<_, String>("SELECT qr_text FROM copies WHERE id = $1")
                .bind(id)
                .fetch_optional(self.pool())
                .await?,
        )
    }

    /// The newest `limit` copies the register issued under a certificate, as (copy id, signed
    /// QR text): what a scan of one of them is likely to be followed by.
    pub async fn newest_copies_of(
        &self,
        number: &CertificateNumber,
        limit: i64,
    ) -> Result<Vec<IssuedCopyText>, StoreError> {
        Ok(sqlx::query_as::<_, IssuedCopyText>(
            "SELECT id, qr_text FROM copies WHERE certificate_number = $1 ORDER BY id DESC LIMIT $2",
        )
        .bind(number.as_str())
        .bind(limit)
        .fetch_all(self.pool())
        .await?)
    }

    /// 撤回使用件: the copy stays verifiable but is reported as withdrawn.
    pub async fn withdraw_copy(
        &self,
        actor: &str,
        id: u64,
        reason: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<CopyRecord, StoreError> {
        let mut tx = self.begin().await?;
        let mut copy: CopyRecord = sqlx::query_as::<_, CopyRow>(&format!(
            "SELECT {COPY_COLUMNS} FROM copies WHERE id = $1"
        ))
        .bind(id as i64)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(|| copy_not_found(id))?
        .try_into()?;
        if copy.withdrawn_at.is_some() {
            return Err(StoreError::conflict(
                "copy_already_withdrawn",
                "该证书件已撤回",
            ));
        }
        sqlx::query("UPDATE copies SET withdrawn_at = $1, withdraw_reason = $2 WHERE id = $3")
            .bind(instant(now))
            .bind(reason)
            .bind(id as i64)
            .execute(&mut *tx)
            .await?;
        append_event(
            &mut tx,
            now,
            actor,
            "copy.withdraw",
            copy.certificate_number.as_str(),
            Touches::Certificate(&copy.certificate_number),
            &json!({ "copy_id": id, "reason": reason }),
        )
        .await?;
        tx.commit().await?;
        copy.withdrawn_at = Some(now);
        Ok(copy)
    }

    pub async fn copy(&self, id: u64) -> Result<Option<CopyRecord>, StoreError> {
        sqlx::query_as::<_, CopyRow>(&format!("SELECT {COPY_COLUMNS} FROM copies WHERE id = $1"))
            .bind(id as i64)
            .fetch_optional(self.pool())
            .await?
            .map(CopyRecord::try_from)
            .transpose()
    }

    /// Every copy of a certificate, newest first.
    pub async fn copies_of(
        &self,
        number: &CertificateNumber,
    ) -> Result<Vec<CopyRecord>, StoreError> {
        sqlx::query_as::<_, CopyRow>(&format!(
            "SELECT {COPY_COLUMNS} FROM copies WHERE certificate_number = $1 ORDER BY id DESC"
        ))
        .bind(number.as_str())
        .fetch_all(self.pool())
        .await?
        .into_iter()
        .map(CopyRecord::try_from)
        .collect()
    }
}

/// The copy an earlier request with this idempotency key made, if any; a different request
/// under the same key is refused.
async fn replay(
    tx: &mut Tx,
    request: &CopyRequest<'_>,
) -> Result<Option<IssueOutcome>, StoreError> {
    let Some(key) = request.idempotency_key else {
        return Ok(None);
    };
    let Some((digest, copy_id)) = sqlx::query_as::<_, (String, Option<i64>)>(
        "SELECT request_digest, copy_id FROM idempotency_keys WHERE scope = $1 AND key = $2",
    )
    .bind(request.actor)
    .bind(key)
    .fetch_optional(&mut **tx)
    .await?
    else {
        return Ok(None);
    };
    if digest != request_digest(request) {
        return Err(StoreError::invalid(
            "idempotency_key_reused",
            "该 Idempotency-Key 已用于另一请求，请换用新的键",
        ));
    }
    let copy_id = copy_id.ok_or_else(|| {
        StoreError::Corrupt(format!(
            "idempotency key {key:?} committed without its copy"
        ))
    })?;
    let copy: CopyRecord =
        sqlx::query_as::<_, CopyRow>(&format!("SELECT {COPY_COLUMNS} FROM copies WHERE id = $1"))
            .bind(copy_id)
            .fetch_one(&mut **tx)
            .await?
            .try_into()?;
    Ok(Some(IssueOutcome {
        copy,
        replayed: true,
    }))
}

/// Ids for `n` new copies, taken the way the table hands them out (they are never reused,
/// so a batch can sign each copy, whose payload names its id, before inserting it).
async fn reserve_copy_ids(tx: &mut Tx, n: usize) -> Result<Vec<u64>, StoreError> {
    if n == 0 {
        return Ok(Vec::new());
    }
    if tx.backend_name() == "PostgreSQL" {
        let mut ids = sqlx::query_scalar::<_, i64>(
            "SELECT nextval(pg_get_serial_sequence('copies', 'id')) FROM generate_series(1, $1)",
        )
        .bind(n as i64)
        .fetch_all(&mut **tx)
        .await?;
        ids.sort_unstable();
        Ok(ids.into_iter().map(|id| id as u64).collect())
    } else {
        // AUTOINCREMENT: `sqlite_sequence` holds the largest id ever used, and this write
        // transaction (`BEGIN IMMEDIATE`) is the only writer; inserting larger ids moves it on.
        let last = sqlx::query_scalar::<_, i64>(
            "SELECT COALESCE(MAX(seq), 0) FROM sqlite_sequence WHERE name = 'copies'",
        )
        .fetch_one(&mut **tx)
        .await?;
        Ok((1..=n as u64).map(|i| last as u64 + i).collect())
    }
}

/// Rows per multi-row `INSERT` of copies: 10 parameters each.
const COPIES_PER_INSERT: usize = 500;

/// Writes signed copies whose ids [`reserve_copy_ids`] handed out.
async fn insert_copies(tx: &mut Tx, copies: &[CopyRecord]) -> Result<(), StoreError> {
    // PostgreSQL's identity column takes given ids only when told to.
    let overriding = if tx.backend_name() == "PostgreSQL" {
        "OVERRIDING SYSTEM VALUE"
    } else {
        ""
    };
    for chunk in copies.chunks(COPIES_PER_INSERT) {
        let sql = format!(
            "INSERT INTO copies (id, kind, certificate_number, certificate_version, purpose, usage_from, usage_to, issued_at, key_id, qr_text)
             {overriding} VALUES {}",
            values_placeholders(chunk.len(), 10)
        );
        let mut q = sqlx::query(&sql);
        for c in chunk {
            let u = c.usage.as_ref();
            q = q
                .bind(c.id as i64)
                .bind(c.kind.code())
                .bind(c.certificate_number.as_str())
                .bind(i64::from(c.certificate_version))
                .bind(u.map(|u| u.purpose.clone()))
                .bind(u.map(|u| u.from.to_string()))
                .bind(u.map(|u| u.to.to_string()))
                .bind(instant(c.issued_at))
                .bind(c.key_id.as_str())
                .bind(c.qr_text.as_str());
        }
        q.execute(&mut **tx).await?;
    }
    Ok(())
}

/// Notes which copy the request's idempotency key stands for.
async fn record_key(
    tx: &mut Tx,
    request: &CopyRequest<'_>,
    copy_id: u64,
) -> Result<(), StoreError> {
    if let Some(key) = request.idempotency_key {
        sqlx::query("UPDATE idempotency_keys SET copy_id = $1 WHERE scope = $2 AND key = $3")
            .bind(copy_id as i64)
            .bind(request.actor)
            .bind(key)
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}
