//! The verify service: what the API, the H5 pages and the official account all call to turn a
//! scanned text into a verdict, so the three can never answer differently.

use chrono::Utc;
use zizhi_shared::verdict::Verdict;

use super::verdict;
use crate::app::AppState;
use crate::error::{AppError, AppResult};
use crate::metrics::VerdictLabels;

/// Verifies any scanned text (URL or bare base32, any case).
pub async fn verify(state: &AppState, text: &str) -> AppResult<Verdict> {
    let now = Utc::now();
    let verified = match zizhi_shared::verify_text(text, state.keys.trust_list(), now) {
        Ok(v) => v,
        Err(e) => {
            let rejected = Verdict::rejected(&e, now).ok_or(AppError::Payload(e))?;
            count(state, &rejected);
            return Ok(rejected);
        }
    };
    // The signature was checked first: only a genuine copy costs a register read.
    let read = state
        .cache
        .status(&state.store, &verified.claims.certificate_number)
        .await?;
    let verdict = verdict::judge(&verified, &read, now);
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
