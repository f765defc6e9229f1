//! Public lookup: enterprises by name fragment, credit code or certificate number.

use serde::Serialize;
use sqlx::Row;
use zizhi_shared::{Category, CertificateNumber, CreditCode};

use crate::store::{Store, StoreError, like_fragment, parse_date, parse_field};

/// One enterprise in a search result, with the certificates it holds.
#[derive(Debug, Clone, Serialize)]
pub struct EnterpriseSummary {
    pub name: String,
    pub credit_code: CreditCode,
    pub address: String,
    pub certificates: Vec<CertificateSummary>,
}

#[derive(Debug, Clone, Serialize)]
pub struct CertificateSummary {
    pub number: CertificateNumber,
    pub category: Category,
    pub category_name: &'static str,
    pub standing: String,
    pub current_version: u32,
    pub valid_until: chrono::NaiveDate,
}

#[derive(Debug, Clone, Serialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub page: u32,
    pub per_page: u32,
    pub total: u64,
}

/// What a query names, decided by its shape so an exact code never matches by fragment.
enum Query {
    CreditCode(CreditCode),
    Number(CertificateNumber),
    Name(String),
}

fn classify(q: &str) -> Query {
    if let Ok(c) = q.parse::<CreditCode>() {
        return Query::CreditCode(c);
    }
    if let Ok(n) = q.parse::<CertificateNumber>() {
        return Query::Number(n);
    }
    Query::Name(q.trim().to_owned())
}

impl Store {
    pub async fn search_enterprises(
        &self,
        q: &str,
        page: u32,
        per_page: u32,
    ) -> Result<Page<EnterpriseSummary>, StoreError> {
        let page = page.max(1);
        let per_page = per_page.clamp(1, 50);
        let offset = i64::from(page - 1) * i64::from(per_page);
        let (filter, arg) = match classify(q) {
            Query::CreditCode(c) => ("e.credit_code = $1", c.to_string()),
            Query::Number(n) => (
                "e.id IN (SELECT enterprise_id FROM certificates WHERE number = $1)",
                n.to_string(),
            ),
            Query::Name(n) => ("e.name LIKE $1 ESCAPE '\\'", like_fragment(&n)),
        };
        let total: i64 = sqlx::query(&format!(
            "SELECT COUNT(*) FROM enterprises e WHERE {filter}"
        ))
        .bind(&arg)
        .fetch_one(self.pool())
        .await?
        .try_get(0)?;
        let rows = sqlx::query(&format!(
            "SELECT e.id, e.name, e.credit_code, e.address FROM enterprises e WHERE {filter}
             ORDER BY e.name, e.id LIMIT $2 OFFSET $3"
        ))
        .bind(&arg)
        .bind(i64::from(per_page))
        .bind(offset)
        .fetch_all(self.pool())
        .await?;
        let mut items = Vec::with_capacity(rows.len());
        for r in rows {
            let id: i64 = r.try_get(0)?;
            let certificates = sqlx::query(
                "SELECT number, category, state, current_version, valid_until
                 FROM certificates WHERE enterprise_id = $1 ORDER BY number",
            )
            .bind(id)
            .fetch_all(self.pool())
            .await?
            .into_iter()
            .map(|c| {
                let category: Category = parse_field("category", &c.try_get::<String, _>(1)?)?;
                Ok(CertificateSummary {
                    number: parse_field("number", &c.try_get::<String, _>(0)?)?,
                    category,
                    category_name: category.name_zh(),
                    standing: c.try_get(2)?,
                    current_version: c.try_get::<i64, _>(3)? as u32,
                    valid_until: parse_date(&c.try_get::<String, _>(4)?)?,
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
            items.push(EnterpriseSummary {
                name: r.try_get(1)?,
                credit_code: parse_field("credit code", &r.try_get::<String, _>(2)?)?,
                address: r.try_get(3)?,
                certificates,
            });
        }
        Ok(Page {
            items,
            page,
            per_page,
            total: total as u64,
        })
    }
}
