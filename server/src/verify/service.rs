//! The verify service: what the API, the H5 pages and the official account all call to turn a
//! scanned text into a verdict, so the three can never answer differently.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use prometheus_client::metrics::counter::Counter;
use zizhi_shared::verdict::{StatusFacts, Verdict};
use zizhi_shared::{Claims, QrText};

use super::repeat::{RenderedVerdict, Scanned};
use super::verdict;
use crate::app::AppState;
use crate::cache::{CopyRead, StatusRead};
use crate::error::{AppError, AppResult};
use crate::metrics::VerdictLabels;
use crate::register::model::CertificateStatus;

/// Verifies any scanned text (URL or bare base32, any case).
pub async fn verify(state: &AppState, text: &str) -> AppResult<Verdict> {
    let now = Utc::now();
    let verdict = match examine(state, text, now).await? {
        Examined::Rejected(v) => *v,
        Examined::Genuine { scanned, register } => {
            let facts = register.facts(&scanned.verified.claims);
            zizhi_shared::verdict::judge(&scanned.verified, facts, now)
        }
    };
    counter(state, &verdict).inc();
    Ok(verdict)
}

/// [`verify`], as the JSON the API answers with. A repeat scan of a copy whose certificate's
/// status has not changed since, on the same day, reuses the JSON rendered then with the new
/// `checked_at` (see `repeat.rs`): the same bytes a fresh judgement would serialise to.
pub async fn verify_json(state: &AppState, text: &str) -> AppResult<Vec<u8>> {
    let now = Utc::now();
    let (verdict, live) = match examine(state, text, now).await? {
        Examined::Rejected(v) => (*v, None),
        Examined::Genuine { scanned, register } => {
            let live = register.live().cloned();
            if let Some(status) = &live
                && let Some(r) = scanned.rendered(status, zizhi_shared::time::beijing_date(now))
            {
                r.counter.inc();
                return Ok(r.at(now));
            }
            let facts = register.facts(&scanned.verified.claims);
            let v = zizhi_shared::verdict::judge(&scanned.verified, facts, now);
            (v, live.map(|status| (scanned, status)))
        }
    };
    let counter = counter(state, &verdict);
    counter.inc();
    // Sized for a typical verdict (1.5–3 KB): growing from nothing copies it five times over.
    let mut json = Vec::with_capacity(4096);
    serde_json::to_writer(&mut json, &verdict).map_err(|e| AppError::Internal(e.into()))?;
    if let Some((scanned, status)) = live
        && state.repeat_scans.remembers()
        && let Some(r) = RenderedVerdict::cut(&verdict, &json, status, counter)
    {
        scanned.remember(r);
    }
    Ok(json)
}

/// What is known about a scanned text before the judge: a refusal, or a genuine signature and
/// what the register said about the copy.
enum Examined {
    Rejected(Box<Verdict>),
    Genuine {
        scanned: Arc<Scanned>,
        register: RegisterAnswer,
    },
}

/// What the register said about a genuinely signed copy.
enum RegisterAnswer {
    /// It issued exactly this copy; its certificate's status as read.
    Issued(StatusRead),
    /// It issued no such copy, or another payload under its number.
    NotIssued,
    /// It cannot be read now.
    Unavailable,
}

impl RegisterAnswer {
    /// The register's live status of the copy's certificate, when that is what was read.
    fn live(&self) -> Option<&Arc<Option<CertificateStatus>>> {
        match self {
            RegisterAnswer::Issued(StatusRead::Current(status)) => Some(status),
            _ => None,
        }
    }

    /// The facts the judge weighs. Built only when a verdict is judged: a repeat scan reuses
    /// the verdict rendered from the same status.
    fn facts(&self, claims: &Claims) -> StatusFacts {
        match self {
            RegisterAnswer::Issued(read) => verdict::facts(read, claims),
            RegisterAnswer::NotIssued => StatusFacts::CopyNotIssued,
            RegisterAnswer::Unavailable => StatusFacts::RegisterUnavailable,
        }
    }
}

async fn examine(state: &AppState, text: &str, now: DateTime<Utc>) -> AppResult<Examined> {
    let _in_flight = state.repeat_scans.scan_in_flight();
    let keys = state.keys.current();
    let payload = match QrText::extract(text) {
        Ok(payload) => payload,
        Err(e) => return rejected(e, now),
    };
    let scanned = match state.repeat_scans.verified(&payload, &keys, now).await {
        Ok(v) => v,
        Err(e) => return rejected(e, now),
    };
    let claims = &scanned.verified.claims;
    // The signature was checked first: only a genuine signature costs register reads. Then
    // the register must have issued exactly this copy: a signing key is not the register,
    // and whoever holds a copy of it must not be able to mint copies that verify.
    let read = state
        .cache
        .status(&state.store, &claims.certificate_number)
        .await?;
    let register = if matches!(read, StatusRead::Unavailable) {
        RegisterAnswer::Unavailable
    } else {
        match state
            .cache
            .issued_copy(&state.store, claims.copy_id, &claims.certificate_number)
            .await?
        {
            CopyRead::Issued(issued) if issued == scanned.digest => {
                state.verify_tally.record(claims.copy_id, now);
                RegisterAnswer::Issued(read)
            }
            CopyRead::Issued(_) | CopyRead::NotIssued => {
                tracing::warn!(
                    copy = claims.copy_id,
                    key = %scanned.verified.kid,
                    "a genuinely signed copy the register never issued"
                );
                RegisterAnswer::NotIssued
            }
            CopyRead::Unavailable => RegisterAnswer::Unavailable,
        }
    };
    // A batch proves who signed, not that these are the exact bytes the single check accepts
    // (see `batch`). The register's issued copy proves that; without it, the single check.
    if scanned.in_batch
        && !matches!(register, RegisterAnswer::Issued(_))
        && let Err(e) =
            zizhi_shared::verify_bytes_decompressed(&payload, keys.decompressed_trust_list(), now)
    {
        return rejected(e, now);
    }
    Ok(Examined::Genuine { scanned, register })
}

fn rejected(e: zizhi_shared::PayloadError, now: DateTime<Utc>) -> AppResult<Examined> {
    let verdict = Verdict::rejected(&e, now).ok_or(AppError::Payload(e))?;
    Ok(Examined::Rejected(Box::new(verdict)))
}

/// The metrics counter of a verdict's kind.
fn counter(state: &AppState, v: &Verdict) -> Counter {
    state
        .metrics
        .verdicts
        .get_or_create(&VerdictLabels {
            level: v.summary.level.code(),
            state: v.certificate_state.map_or("none", |s| s.code()),
        })
        .clone()
}
