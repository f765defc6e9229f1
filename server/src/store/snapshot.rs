//! The status snapshot's reads: the whole register's status rows and the events after a
//! `seq`, all in one read transaction so they describe one state of the register.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, NaiveDate, Utc};
use zizhi_shared::CertificateNumber;

use super::events::{EVENT_COLUMNS, EventRecord, EventRow, events_between};
use super::status::parse_ids;
use super::{Store, StoreError, Tx, parse_date, parse_field, parse_instant};
use crate::register::model::{CertificateStanding, QualificationStatus};

/// A certificate as the state computation needs it.
#[derive(Debug, Clone)]
pub struct CertificateRow {
    pub standing: CertificateStanding,
    pub current_version: u32,
    pub valid_until: NaiveDate,
}

#[derive(Debug, Clone)]
pub struct VersionRow {
    pub version: u32,
    pub qualification_ids: Vec<i64>,
    pub created_at: DateTime<Utc>,
    pub superseded_at: Option<DateTime<Utc>>,
}

/// A qualification that is no longer active.
#[derive(Debug, Clone, Copy)]
pub struct QualificationRow {
    pub status: QualificationStatus,
    pub changed_at: DateTime<Utc>,
}

/// Everything the snapshot is computed from.
#[derive(Debug, Default)]
pub struct RegisterRows {
    pub certificates: BTreeMap<CertificateNumber, CertificateRow>,
    /// Oldest first.
    pub versions: HashMap<CertificateNumber, Vec<VersionRow>>,
    /// Keyed by qualification id.
    pub inactive_qualifications: HashMap<i64, QualificationRow>,
    pub withdrawn_copies: BTreeSet<u64>,
}

#[derive(sqlx::FromRow)]
struct CertificateLine {
    number: String,
    state: String,
    current_version: i64,
    valid_until: String,
}

#[derive(sqlx::FromRow)]
struct VersionLine {
    certificate_number: String,
    version: i64,
    qualification_ids: String,
    created_at: String,
    superseded_at: Option<String>,
}

#[derive(sqlx::FromRow)]
struct QualificationLine {
    id: i64,
    status: String,
    changed_at: String,
}

/// A read transaction that sees one state of the register throughout.
pub struct RegisterReader {
    tx: Tx,
}

impl Store {
    pub async fn read_register(&self) -> Result<RegisterReader, StoreError> {
        Ok(RegisterReader {
            tx: self.begin_snapshot().await?,
        })
    }
}

impl RegisterReader {
    /// The highest event id: the register's `seq`.
    pub async fn seq(&mut self) -> Result<u64, StoreError> {
        let seq = sqlx::query_scalar::<_, i64>("SELECT COALESCE(MAX(id), 0) FROM events")
            .fetch_one(&mut *self.tx)
            .await?;
        Ok(seq.max(0) as u64)
    }

    pub async fn rows(&mut self) -> Result<RegisterRows, StoreError> {
        let mut rows = RegisterRows::default();
        for r in sqlx::query_as::<_, CertificateLine>(
            "SELECT number, state, current_version, valid_until FROM certificates",
        )
        .fetch_all(&mut *self.tx)
        .await?
        {
            rows.certificates.insert(
                parse_field("number", &r.number)?,
                CertificateRow {
                    standing: parse_field("state", &r.state)?,
                    current_version: r.current_version as u32,
                    valid_until: parse_date(&r.valid_until)?,
                },
            );
        }
        for r in sqlx::query_as::<_, VersionLine>(
            "SELECT certificate_number, version, qualification_ids, created_at, superseded_at
             FROM certificate_versions ORDER BY certificate_number, version",
        )
        .fetch_all(&mut *self.tx)
        .await?
        {
            let number: CertificateNumber = parse_field("number", &r.certificate_number)?;
            rows.versions.entry(number).or_default().push(VersionRow {
                version: r.version as u32,
                qualification_ids: parse_ids(&r.qualification_ids)?,
                created_at: parse_instant(&r.created_at)?,
                superseded_at: r.superseded_at.as_deref().map(parse_instant).transpose()?,
            });
        }
        for r in sqlx::query_as::<_, QualificationLine>(
            "SELECT id, status, changed_at FROM qualifications WHERE status <> 'active'",
        )
        .fetch_all(&mut *self.tx)
        .await?
        {
            rows.inactive_qualifications.insert(
                r.id,
                QualificationRow {
                    status: parse_field("status", &r.status)?,
                    changed_at: parse_instant(&r.changed_at)?,
                },
            );
        }
        rows.withdrawn_copies =
            sqlx::query_scalar::<_, i64>("SELECT id FROM copies WHERE withdrawn_at IS NOT NULL")
                .fetch_all(&mut *self.tx)
                .await?
                .into_iter()
                .map(|id| id as u64)
                .collect();
        Ok(rows)
    }

    /// The events `since < id <= seq`, oldest first.
    pub async fn events(&mut self, since: u64, seq: u64) -> Result<Vec<EventRecord>, StoreError> {
        events_between(&mut self.tx, since as i64, seq as i64, i64::MAX).await
    }

    /// The events `since < id <= seq` whose action is not one of `skip`, oldest first: on a
    /// register that issues many copies, most events change no status and need not be read.
    pub async fn events_except(
        &mut self,
        since: u64,
        seq: u64,
        skip: &[&str],
    ) -> Result<Vec<EventRecord>, StoreError> {
        let not_in = (0..skip.len())
            .map(|i| format!("${}", i + 3))
            .collect::<Vec<_>>()
            .join(", ");
        let filter = if skip.is_empty() {
            String::new()
        } else {
            format!(" AND action NOT IN ({not_in})")
        };
        let sql = format!(
            "SELECT {EVENT_COLUMNS} FROM events WHERE id > $1 AND id <= $2{filter} ORDER BY id"
        );
        let mut q = sqlx::query_as::<_, EventRow>(&sql)
            .bind(since as i64)
            .bind(seq as i64);
        for a in skip {
            q = q.bind(*a);
        }
        q.fetch_all(&mut *self.tx)
            .await?
            .into_iter()
            .map(EventRecord::try_from)
            .collect()
    }

    /// Ends the transaction; it wrote nothing.
    pub async fn finish(self) -> Result<(), StoreError> {
        self.tx.rollback().await?;
        Ok(())
    }
}
