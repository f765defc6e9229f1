//! The verify service: what the API, the H5 pages and the official account all call to turn a
//! scanned text into a verdict, so the three can never answer differently.

use chrono::Utc;
use zizhi_shared::QrText;
use zizhi_shared::verdict::{StatusFacts, Verdict};

use super::verdict;
use crate::app::AppState;
use crate::cache::{CopyRead, StatusRead};
use crate::error::{AppError, AppResult};
use crate::metrics::VerdictLabels;

/// Verifies any scanned text (URL or bare base32, any case).
pub async fn verify(state: &AppState, text: &str) -> AppResult<Verdict> {
    let now = Utc::now();
    let checked = QrText::extract(text).and_then(|payload| {
        zizhi_shared::verify_bytes(&payload, state.keys.current().trust_list(), now)
            .map(|v| (v, payload))
    });
    let (verified, payload) = match checked {
        Ok(v) => v,
        Err(e) => {
            let rejected = Verdict::rejected(&e, now).ok_or(AppError::Payload(e))?;
            count(state, &rejected);
            return Ok(rejected);
        }
    };
    // The signature was checked first: only a genuine signature costs register reads. Then
    // the register must have issued exactly this copy: a signing key is not the register,
    // and whoever holds a copy of it must not be able to mint copies that verify.
    let read = state
        .cache
        .status(&state.store, &verified.claims.certificate_number)
        .await?;
    let facts = if matches!(read, StatusRead::Unavailable) {
        StatusFacts::RegisterUnavailable
    } else {
        match state
            .cache
            .issued_copy(&state.store, verified.claims.copy_id)
            .await?
        {
            CopyRead::Issued(issued) if *issued == payload[..] => {
                state.verify_tally.record(verified.claims.copy_id, now);
                verdict::facts(&read, &verified.claims)
            }
            CopyRead::Issued(_) | CopyRead::NotIssued => {
                tracing::warn!(
                    copy = verified.claims.copy_id,
                    key = %verified.kid,
                    "a genuinely signed copy the register never issued"
                );
                StatusFacts::CopyNotIssued
            }
            CopyRead::Unavailable => StatusFacts::RegisterUnavailable,
        }
    };
    let verdict = zizhi_shared::verdict::judge(&verified, facts, now);
    count(state, &verdict);
    Ok(verdict)
}

fn count(state: &AppState, v: &Verdict) {
    state
        .metrics
        .verdicts
        .get_or_create(&VerdictLabels {
            level: v.summary.level.code().to_owned(),
            state: v.certificate_state.map_or("none", |s| s.code()).to_owned(),
        })
        .inc();
}
