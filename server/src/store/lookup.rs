//! Public lookup: enterprises by name fragment, credit code or certificate number, one page at
//! a time, each with the certificates it holds.

use std::collections::HashMap;

use zizhi_shared::Category;
use zizhi_shared::legal_text::search_key;

use super::{Backend, Store, StoreError, like_fragment, parse_date, parse_field};
use crate::register::lookup::{
    CertificateSummary, EnterpriseSummary, MAX_COUNTED, Page, Query, classify,
};

#[derive(sqlx::FromRow)]
struct EnterpriseRow {
    id: i64,
    name: String,
    credit_code: String,
    address: String,
}

#[derive(sqlx::FromRow)]
struct CertificateRow {
    enterprise_id: i64,
    number: String,
    category: String,
    state: String,
    current_version: i64,
    valid_until: String,
}

impl TryFrom<CertificateRow> for CertificateSummary {
    type Error = StoreError;
    fn try_from(c: CertificateRow) -> Result<Self, StoreError> {
        let category: Category = parse_field("category", &c.category)?;
        Ok(CertificateSummary {
            number: parse_field("number", &c.number)?,
            category,
            category_name: category.name_zh(),
            standing: c.state,
            current_version: c.current_version as u32,
            valid_until: parse_date(&c.valid_until)?,
        })
    }
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
        // No name holds a NUL (`bounded_text`), and PostgreSQL refuses one as a parameter.
        if q.contains('\0') {
            return Ok(Page {
                items: Vec::new(),
                page,
                per_page,
                total: 0,
                total_capped: false,
            });
        }
        let offset = i64::from(page - 1) * i64::from(per_page);
        let filter = match classify(q) {
            Query::CreditCode(c) => Filter::new("e.credit_code = $1", c.to_string()),
            Query::Number(n) => Filter::new(
                "e.id IN (SELECT enterprise_id FROM certificates WHERE number = $1)",
                n.to_string(),
            ),
            // Compared in search form on both sides (see migration 0008), so a fragment finds
            // a name whatever form of its characters the input method produced.
            Query::Name(n) => name_filter(self.backend(), &search_key(&n)),
        };
        // Counted only as far as needed: past MAX_COUNTED, and past this page so the pager
        // still offers the next one. Neither query is kept prepared: PostgreSQL would move to
        // a generic plan, which does not see the fragment and scans instead of using the
        // trigram index.
        let count_limit = (offset + i64::from(per_page) + 1).max(MAX_COUNTED as i64);
        let total = sqlx::query_scalar::<_, i64>(&filter.count_sql())
            .persistent(false)
            .bind(&filter.arg)
            .bind(count_limit)
            .fetch_one(self.pool())
            .await?;
        let capped = total >= count_limit;
        let page_sql = filter.page_sql(capped);
        let rows = if !capped && offset >= total {
            Vec::new()
        } else {
            sqlx::query_as::<_, EnterpriseRow>(&page_sql)
                .persistent(false)
                .bind(&filter.arg)
                .bind(i64::from(per_page))
                .bind(offset)
                .fetch_all(self.pool())
                .await?
        };
        // The page's certificates in one query rather than one per enterprise, by the ids
        // the page holds (not by running the filter again).
        let mut certificates: HashMap<i64, Vec<CertificateSummary>> = HashMap::new();
        if !rows.is_empty() {
            let ids = (1..=rows.len())
                .map(|i| format!("${i}"))
                .collect::<Vec<_>>()
                .join(", ");
            let sql = format!(
                "SELECT c.enterprise_id, c.number, c.category, c.state, c.current_version, c.valid_until
                 FROM certificates c WHERE c.enterprise_id IN ({ids}) ORDER BY c.number"
            );
            let mut q = sqlx::query_as::<_, CertificateRow>(&sql);
            for r in &rows {
                q = q.bind(r.id);
            }
            for c in q.fetch_all(self.pool()).await? {
                certificates
                    .entry(c.enterprise_id)
                    .or_default()
                    .push(c.try_into()?);
            }
        }
        let items = rows
            .into_iter()
            .map(|r| {
                Ok(EnterpriseSummary {
                    name: r.name,
                    credit_code: parse_field("credit code", &r.credit_code)?,
                    address: r.address,
                    certificates: certificates.remove(&r.id).unwrap_or_default(),
                })
            })
            .collect::<Result<_, StoreError>>()?;
        Ok(Page {
            items,
            page,
            per_page,
            total: total as u64,
            total_capped: capped,
        })
    }
}

/// Which enterprises a query matches, as SQL on `enterprises e` with one argument (`$1`).
struct Filter {
    /// The matches, for counting them and for reading a page of few of them.
    matches: &'static str,
    /// The same matches as a test of one row, for walking the name index in page order when
    /// there are many (where `matches` would first collect them all).
    walk: &'static str,
    /// Rows, one per match, that count quicker than the enterprises do.
    counted: Option<&'static str>,
    arg: String,
}

impl Filter {
    fn new(matches: &'static str, arg: String) -> Filter {
        Filter {
            matches,
            walk: matches,
            counted: None,
            arg,
        }
    }

    /// The number of matches, stopping at `$2`.
    fn count_sql(&self) -> String {
        let rows = match self.counted {
            Some(rows) => rows.to_owned(),
            None => format!("enterprises e WHERE {}", self.matches),
        };
        format!("SELECT COUNT(*) FROM (SELECT 1 FROM {rows} LIMIT $2) m")
    }

    /// A page (`$2` rows from `$3`) in name order. Few matches (the count did not stop): read
    /// them all and sort, rather than let the planner walk the name index hoping to meet a
    /// page of them early, which for a rare fragment whose names sort late reads most of the
    /// table. Many: walk the name index.
    fn page_sql(&self, capped: bool) -> String {
        if capped {
            format!(
                "SELECT e.id, e.name, e.credit_code, e.address FROM enterprises e WHERE {}
                 ORDER BY e.name, e.id LIMIT $2 OFFSET $3",
                self.walk
            )
        } else {
            format!(
                "WITH m AS MATERIALIZED (
                   SELECT e.id, e.name, e.credit_code, e.address FROM enterprises e WHERE {})
                 SELECT id, name, credit_code, address FROM m ORDER BY name, id LIMIT $2 OFFSET $3",
                self.matches
            )
        }
    }
}

/// The filter for a name fragment in search form, answered from an index where the backend
/// has one (migrations 0011 and 0013). PostgreSQL: a fragment of three or more characters by
/// `LIKE` from the trigram index; a shorter one has no trigram and is an element of the names'
/// one- and two-character substrings (`name_grams`). SQLite: its `LIKE` uses no index, so a
/// fragment of three or more characters is looked up in the FTS5 trigram table as a quoted
/// phrase, which matches it as a substring; a shorter one in `enterprise_name_grams`, the
/// substrings of the names with ASCII case folded by `lower`, as before the table it was
/// compared (`instr(lower(name_key), lower(fragment))`). There the count reads the fragment's
/// entries alone, and a walk of the name index looks each name up by its primary key.
fn name_filter(backend: Backend, key: &str) -> Filter {
    let chars = key.chars().count();
    match backend {
        Backend::Postgres if (1..3).contains(&chars) => {
            Filter::new("e.name_grams @> ARRAY[CAST($1 AS TEXT)]", key.to_owned())
        }
        Backend::Sqlite if chars >= 3 => Filter::new(
            "e.id IN (SELECT rowid FROM enterprise_names WHERE enterprise_names MATCH $1)",
            format!("\"{}\"", key.replace('"', "\"\"")),
        ),
        Backend::Sqlite if chars > 0 => Filter {
            matches: "e.id IN (SELECT enterprise_id FROM enterprise_name_grams WHERE gram = lower($1))",
            walk: "EXISTS (SELECT 1 FROM enterprise_name_grams g
                           WHERE g.gram = lower($1) AND g.enterprise_id = e.id)",
            counted: Some("enterprise_name_grams WHERE gram = lower($1)"),
            arg: key.to_owned(),
        },
        _ => Filter::new("e.name_key LIKE $1 ESCAPE '\\'", like_fragment(key)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The query plan's steps (`EXPLAIN QUERY PLAN`'s detail column) for `sql` with `filter`'s
    /// argument and a page of 20 from the start.
    async fn plan(store: &Store, sql: &str, filter: &Filter) -> Vec<String> {
        let explain = format!("EXPLAIN QUERY PLAN {sql}");
        let mut q = sqlx::query_as::<_, (i64, i64, i64, String)>(&explain)
            .bind(&filter.arg)
            .bind(20_i64);
        if sql.contains("$3") {
            q = q.bind(0_i64);
        }
        q.fetch_all(store.pool())
            .await
            .unwrap()
            .into_iter()
            .map(|(.., detail)| detail)
            .collect()
    }

    #[tokio::test]
    async fn short_fragments_are_looked_up_in_the_grams_index_on_sqlite() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::connect(&format!("sqlite://{}/z.db", dir.path().display()))
            .await
            .unwrap();
        for fragment in ["海", "明珠", "Ab"] {
            let filter = name_filter(Backend::Sqlite, fragment);
            // Counting and a page of few matches read the fragment's entries, not every name.
            for sql in [filter.count_sql(), filter.page_sql(false)] {
                let steps = plan(&store, &sql, &filter).await;
                assert!(
                    steps.iter().any(|s| s.contains("enterprise_name_grams")),
                    "{fragment}: {steps:?}"
                );
                assert!(
                    !steps
                        .iter()
                        .any(|s| s.starts_with("SCAN e") || s.starts_with("SCAN enterprise")),
                    "{fragment} reads every row: {steps:?}"
                );
            }
            // A page of many walks the name index, looking each name up, and sorts nothing.
            let steps = plan(&store, &filter.page_sql(true), &filter).await;
            assert!(
                steps.iter().any(|s| s.contains("enterprises_name_id")),
                "{fragment}: {steps:?}"
            );
            assert!(
                steps
                    .iter()
                    .any(|s| s.contains("PRIMARY KEY (gram=? AND enterprise_id=?)")),
                "{fragment}: {steps:?}"
            );
            assert!(
                !steps.iter().any(|s| s.contains("TEMP B-TREE")),
                "{fragment}: {steps:?}"
            );
        }
        store.close().await;
    }
}
