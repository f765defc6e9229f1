//! Public lookup: enterprises by name fragment, credit code or certificate number. The query
//! runs in the store (`Store::search_enterprises`).

use serde::Serialize;
use zizhi_shared::{Category, CertificateNumber, CreditCode};

/// The longest lookup text the API, the search page and chat accept: names are at most 60
/// characters.
pub const MAX_QUERY_CHARS: usize = 60;

/// One enterprise in a search result, with the certificates it holds.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct EnterpriseSummary {
    pub name: String,
    pub credit_code: CreditCode,
    pub address: String,
    pub certificates: Vec<CertificateSummary>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CertificateSummary {
    pub number: CertificateNumber,
    pub category: Category,
    #[schema(value_type = String)]
    pub category_name: &'static str,
    pub standing: String,
    pub current_version: u32,
    pub valid_until: chrono::NaiveDate,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub page: u32,
    pub per_page: u32,
    /// Matches in all; with `total_capped`, at least this many.
    pub total: u64,
    /// Counting stopped at `total` (at least [`MAX_COUNTED`], and always past this page), so a
    /// fragment most names contain is not counted to the end on every request.
    pub total_capped: bool,
}

/// Matches counted before a lookup stops counting (see [`Page::total_capped`]).
pub const MAX_COUNTED: u64 = 1_000;

/// What a query names, decided by its shape so an exact code never matches by fragment.
pub enum Query {
    CreditCode(CreditCode),
    Number(CertificateNumber),
    Name(String),
}

pub fn classify(q: &str) -> Query {
    if let Ok(c) = q.parse::<CreditCode>() {
        return Query::CreditCode(c);
    }
    if let Ok(n) = q.parse::<CertificateNumber>() {
        return Query::Number(n);
    }
    Query::Name(q.trim().to_owned())
}
