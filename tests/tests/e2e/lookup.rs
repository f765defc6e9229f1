//! Enterprise lookup (`Store::search_enterprises`) called directly, on both backends: a name
//! fragment of one or two characters, answered from an index of the names' one- and
//! two-character substrings (PostgreSQL's `name_grams`, SQLite's `enterprise_name_grams`),
//! finds what reading every name finds, in the same order, pages and count, and the index
//! follows the names as they are registered, renamed and removed.

use std::collections::BTreeSet;

use chrono::Utc;
use zizhi_server::register::lookup::MAX_COUNTED;
use zizhi_server::store::Store;
use zizhi_shared::legal_text::search_key;
use zizhi_shared::{CreditCode, Enterprise};
use zizhi_tests::{Backend, TestEnv, credit_code, on_both_backends};

const ACTOR: &str = "lookup-test";
const PER_PAGE: u32 = 50;

/// Enough enterprises that the count of a fragment every name holds stops at its cap, with
/// ASCII in mixed case, a compatibility ideograph (found by its unified form) and characters
/// outside the Basic Multilingual Plane.
const ENTERPRISES: usize = MAX_COUNTED as usize + 60;

fn name(i: usize) -> String {
    const WORDS: &[&str] = &[
        "浦江", "申城", "东海", "宏达", "锦程", "恒信", "明珠", "金桥",
    ];
    let marker = match i % 9 {
        0 => "ABC",
        1 => "abc",
        2 => "AbC",
        3 => "\u{F900}", // 豈, a compatibility ideograph, kept as entered
        4 => "\u{8C48}", // 豈, the unified ideograph
        5 => "喆堃𠀀𬌗",
        _ => "",
    };
    format!(
        "上海{}{}{marker}{i}建设有限公司",
        WORDS[i % WORDS.len()],
        WORDS[(i / WORDS.len()) % WORDS.len()]
    )
}

fn enterprise(i: usize, name: String) -> Enterprise {
    Enterprise {
        name,
        credit_code: code(i),
        address: "上海市浦东新区世纪大道1号".into(),
        legal_representative: "王建国".into(),
        registered_capital_wan: "5000".into(),
        economic_nature: "其他有限责任公司".into(),
    }
}

fn code(i: usize) -> CreditCode {
    credit_code(&format!("91310110MA1{i:06}")).parse().unwrap()
}

/// Every distinct one- and two-character substring of `key`.
fn short_grams(key: &str) -> BTreeSet<String> {
    let chars: Vec<char> = key.chars().collect();
    (1..=2)
        .flat_map(|n| chars.windows(n).map(|w| w.iter().collect::<String>()))
        .collect()
}

/// The search form as each backend's short-fragment index compares it: SQLite folds ASCII
/// case (`lower`, as its `instr` comparison did before the index), PostgreSQL does not.
fn folded(backend: Backend, text: &str) -> String {
    let key = search_key(text);
    match backend {
        Backend::Sqlite => key.to_ascii_lowercase(),
        Backend::Postgres => key,
    }
}

/// (name, credit code) of every enterprise whose name holds `fragment`, in page order, by
/// reading every name; checked against the same test done here in Rust.
async fn full_scan(store: &Store, backend: Backend, fragment: &str) -> Vec<(String, String)> {
    let sql = match backend {
        Backend::Sqlite => {
            "SELECT name, credit_code FROM enterprises
             WHERE instr(lower(name_key), lower($1)) > 0 ORDER BY name, id"
        }
        Backend::Postgres => {
            "SELECT name, credit_code FROM enterprises
             WHERE strpos(name_key, $1) > 0 ORDER BY name, id"
        }
    };
    let found: Vec<(String, String)> = sqlx::query_as(sql)
        .bind(search_key(fragment))
        .fetch_all(store.pool())
        .await
        .unwrap();
    let all: Vec<(String, String)> = sqlx::query_as("SELECT name, credit_code FROM enterprises")
        .fetch_all(store.pool())
        .await
        .unwrap();
    let wanted = folded(backend, fragment);
    let by_rust: BTreeSet<_> = all
        .into_iter()
        .filter(|(name, _)| folded(backend, name).contains(&wanted))
        .collect();
    assert_eq!(
        found.iter().cloned().collect::<BTreeSet<_>>(),
        by_rust,
        "{fragment}"
    );
    found
}

/// Every page of `fragment`'s lookup, checking each page's count against `expected`.
async fn every_page(store: &Store, fragment: &str, expected: usize) -> Vec<(String, String)> {
    let mut found = Vec::new();
    for page in 1.. {
        let p = store
            .search_enterprises(fragment, page, PER_PAGE)
            .await
            .unwrap();
        let offset = u64::from(page - 1) * u64::from(PER_PAGE);
        let count_limit = (offset + u64::from(PER_PAGE) + 1).max(MAX_COUNTED);
        assert_eq!(
            (p.total, p.total_capped),
            (
                (expected as u64).min(count_limit),
                expected as u64 >= count_limit
            ),
            "{fragment}, page {page}"
        );
        if p.items.is_empty() {
            break;
        }
        found.extend(
            p.items
                .into_iter()
                .map(|e| (e.name, e.credit_code.to_string())),
        );
    }
    found
}

async fn lookup_matches_a_full_scan(store: &Store, backend: Backend, fragments: &[&str]) {
    for fragment in fragments {
        let expected = full_scan(store, backend, fragment).await;
        let found = every_page(store, fragment, expected.len()).await;
        assert_eq!(found, expected, "{fragment}");
    }
}

/// The short-fragment index, as (enterprise id, gram).
async fn stored_grams(store: &Store, backend: Backend) -> BTreeSet<(i64, String)> {
    let sql = match backend {
        Backend::Sqlite => "SELECT enterprise_id, gram FROM enterprise_name_grams",
        Backend::Postgres => "SELECT e.id, g FROM enterprises e, unnest(e.name_grams) g",
    };
    let rows: Vec<(i64, String)> = sqlx::query_as(sql).fetch_all(store.pool()).await.unwrap();
    let n = rows.len();
    let set: BTreeSet<_> = rows.into_iter().collect();
    assert_eq!(set.len(), n, "each gram of a name once");
    set
}

async fn assert_grams_follow_the_names(store: &Store, backend: Backend) {
    let names: Vec<(i64, String)> = sqlx::query_as("SELECT id, name FROM enterprises")
        .fetch_all(store.pool())
        .await
        .unwrap();
    let expected: BTreeSet<(i64, String)> = names
        .iter()
        .flat_map(|(id, name)| {
            short_grams(&folded(backend, name))
                .into_iter()
                .map(|g| (*id, g))
        })
        .collect();
    assert_eq!(stored_grams(store, backend).await, expected);
}

/// One- and two-character fragments: the common (every name, so the count stops), the
/// mixed-case ASCII, the compatibility ideograph in either form, the supplementary, and ones
/// no name holds.
const SHORT_FRAGMENTS: &[&str] = &[
    "上", "司", "A", "a", "c", "AB", "ab", "bC", "C1", "豈", "\u{F900}", "豈1", "𠀀", "𠀀𬌗",
    "明珠", "珠金", "Z", "无此", "Zq",
];

async fn short_fragments_find_what_reading_every_name_finds(backend: Backend) {
    let env = TestEnv::new(backend).await;
    let store = Store::connect(&env.database_url).await.expect("store");
    let all: Vec<Enterprise> = (0..ENTERPRISES).map(|i| enterprise(i, name(i))).collect();
    store
        .create_enterprises(ACTOR, &all, Utc::now())
        .await
        .unwrap();
    assert_grams_follow_the_names(&store, backend).await;
    lookup_matches_a_full_scan(&store, backend, SHORT_FRAGMENTS).await;

    // Renamed: the old name's grams go, the new name's come, and an edit that keeps the name
    // leaves them.
    for (i, new_name) in [
        (0, "上海XyZ新名建设有限公司"),
        (3, "上海浦江abc建设有限公司"),
    ] {
        store
            .update_enterprise(ACTOR, &code(i), &enterprise(i, new_name.into()), Utc::now())
            .await
            .unwrap();
    }
    let mut same_name = enterprise(1, name(1));
    same_name.address = "上海市黄浦区中山南路100号".into();
    store
        .update_enterprise(ACTOR, &code(1), &same_name, Utc::now())
        .await
        .unwrap();
    assert_grams_follow_the_names(&store, backend).await;
    lookup_matches_a_full_scan(
        &store,
        backend,
        &["X", "x", "yz", "新名", "AB", "豈", "\u{F900}"],
    )
    .await;
    assert_eq!(
        store
            .search_enterprises("新名", 1, PER_PAGE)
            .await
            .unwrap()
            .total,
        1
    );

    // Removed (the store never removes an enterprise, but the index must not outlive one).
    sqlx::query("DELETE FROM enterprises WHERE credit_code = $1")
        .bind(code(2).as_str())
        .execute(store.pool())
        .await
        .unwrap();
    assert_grams_follow_the_names(&store, backend).await;
    lookup_matches_a_full_scan(&store, backend, &["Ab", "c", "上"]).await;

    store.close().await;
    env.finish().await;
}
on_both_backends!(
    short_fragments_find_what_reading_every_name_finds,
    super::short_fragments_find_what_reading_every_name_finds
);

/// A SQLite register that already holds enterprises when it is upgraded (migration 0013) gets
/// their grams.
#[tokio::test]
async fn the_sqlite_upgrade_indexes_the_names_already_registered() {
    let env = TestEnv::new(Backend::Sqlite).await;
    let mut before = sqlx::migrate!("../migrations/sqlite");
    before.migrations = before
        .migrations
        .iter()
        .filter(|m| m.version < 13)
        .cloned()
        .collect::<Vec<_>>()
        .into();
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(&format!("{}?mode=rwc", env.database_url))
        .await
        .unwrap();
    before.run(&pool).await.unwrap();
    for i in 0..40 {
        sqlx::query(
            "INSERT INTO enterprises (credit_code, name, address, legal_representative,
               registered_capital_wan, economic_nature, created_at, updated_at, name_key)
             VALUES ($1, $2, '上海市', '王建国', '5000', '其他有限责任公司',
                     '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z', $3)",
        )
        .bind(code(i).as_str())
        .bind(name(i))
        .bind(search_key(&name(i)))
        .execute(&pool)
        .await
        .unwrap();
    }
    pool.close().await;

    let store = Store::connect(&env.database_url).await.expect("store");
    assert_grams_follow_the_names(&store, Backend::Sqlite).await;
    lookup_matches_a_full_scan(&store, Backend::Sqlite, SHORT_FRAGMENTS).await;
    store.close().await;
    env.finish().await;
}
