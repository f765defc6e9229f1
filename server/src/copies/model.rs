//! A copy as the register holds it.

use chrono::{DateTime, Utc};
use serde::Serialize;
use zizhi_shared::{CertificateNumber, CopyKind, UsageTerms};

/// One issued copy as the register holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct CopyRecord {
    pub id: u64,
    pub kind: CopyKind,
    pub certificate_number: CertificateNumber,
    pub certificate_version: u32,
    pub usage: Option<UsageTerms>,
    pub issued_at: DateTime<Utc>,
    pub key_id: String,
    pub qr_text: String,
    pub withdrawn_at: Option<DateTime<Utc>>,
}
