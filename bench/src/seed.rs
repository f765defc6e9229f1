//! `zizhi-load seed`: a register of many copies, built through the store's own operations
//! (`create_enterprises`, `create_certificate`, `issue_copies` — the batched issue, one
//! transaction per certificate under the same rules as `issue_copy` —, `withdraw_copy`,
//! `change_qualification`), so every row, signature and event-log entry is what production
//! would write.
//!
//! Shape, for `--copies 100000 --copies-per-certificate 100`: 1,000 enterprises with one
//! certificate each (two qualifications), one approval copy and 99 usage copies per
//! certificate. So that scans hit the verifier's varied answers, about 2% of usage copies are
//! withdrawn, 5% have a period not started yet, and after the copies were issued 2% of the
//! certificates are upgraded (printed copies superseded), 1% lose one qualification by
//! revocation, 1% have one suspended and 1% are cancelled outright.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use chrono::{NaiveDate, TimeDelta, Utc};
use clap::Args;
use sqlx::{Connection, Executor, Row};
use zizhi_server::key_ring::KeyRing;
use zizhi_server::register::ops::QualificationAction;
use zizhi_server::store::Store;
use zizhi_shared::{
    Category, CertificateNumber, CreditCode, Enterprise, Qualification, UsageTerms,
};

pub const ACTOR: &str = "zizhi-load";
pub const ISSUER: &str = "上海市住房和城乡建设管理委员会";

#[derive(Debug, Args)]
pub struct SeedArgs {
    /// PostgreSQL database to fill; created when missing.
    #[arg(long, default_value = "postgres://postgres@127.0.0.1:5432/zizhi_load")]
    pub database_url: String,
    /// Where the issuer keys live; the server must be started with the same directory.
    #[arg(long, default_value = "zizhi-load-data")]
    pub data_dir: PathBuf,
    /// Copies to issue in all.
    #[arg(long, default_value_t = 100_000)]
    pub copies: usize,
    /// Copies per certificate (one approval copy, the rest usage copies).
    #[arg(long, default_value_t = 100)]
    pub copies_per_certificate: usize,
    /// Concurrent issuing tasks (the store's PostgreSQL pool has 16 connections).
    #[arg(long, default_value_t = 12)]
    pub tasks: usize,
    /// File receiving the base32 part of every copy's QR text, one per line.
    #[arg(long, default_value = "codes.txt")]
    pub out: PathBuf,
    /// Drop and recreate the database first.
    #[arg(long)]
    pub reset: bool,
    /// Host printed in the QR URLs.
    #[arg(long, default_value = "ZZ.EXAMPLE.CN")]
    pub host: String,
    /// Keep PostgreSQL's synchronous commit while seeding (by default the seeding sessions
    /// turn it off; see `seeding_url`).
    #[arg(long)]
    pub synchronous_commit: bool,
}

/// The URL the seeding sessions use: with `synchronous_commit=off` unless asked to keep it.
/// Every event takes the event-order lock to commit (`store::append_event`), so commits are
/// serialised and each one's WAL flush is waited for inside the lock; without the wait a
/// crash could lose the last transactions, which a reseed (`--reset`) redoes. What is written
/// and the rules it passes are the same.
fn seeding_url(url: &str, synchronous_commit: bool) -> String {
    if synchronous_commit || url.contains("options=") {
        return url.to_owned();
    }
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}options=-c%20synchronous_commit%3Doff")
}

pub fn main(args: SeedArgs) -> anyhow::Result<()> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(seed(args))
}

/// Splits `postgres://…/name?opts` into the maintenance database URL and `name`.
fn admin_url(url: &str) -> anyhow::Result<(String, String)> {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, format!("?{q}")),
        None => (url, String::new()),
    };
    let scheme_end = base.find("://").context("database URL needs a scheme")? + 3;
    let slash = base[scheme_end..]
        .rfind('/')
        .map(|i| i + scheme_end)
        .context("database URL must name a database")?;
    let name = &base[slash + 1..];
    if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
        bail!("database name {name:?} must be letters, digits and underscores");
    }
    Ok((
        format!("{}/postgres{query}", &base[..slash]),
        name.to_owned(),
    ))
}

async fn ensure_database(url: &str, reset: bool) -> anyhow::Result<()> {
    if !url.starts_with("postgres") {
        bail!("seed writes to PostgreSQL only (got {url})");
    }
    let (admin, name) = admin_url(url)?;
    let mut conn = sqlx::postgres::PgConnection::connect(&admin)
        .await
        .with_context(|| format!("cannot connect to {admin}"))?;
    if reset {
        conn.execute(format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)").as_str())
            .await?;
        eprintln!("dropped database {name}");
    }
    let exists = sqlx::query("SELECT 1 FROM pg_database WHERE datname = $1")
        .bind(&name)
        .fetch_optional(&mut conn)
        .await?
        .is_some();
    if !exists {
        conn.execute(format!("CREATE DATABASE \"{name}\"").as_str())
            .await?;
        eprintln!("created database {name}");
    }
    conn.close().await?;
    Ok(())
}

async fn count(store: &Store, sql: &str) -> anyhow::Result<i64> {
    Ok(sqlx::query(sql).fetch_one(store.pool()).await?.try_get(0)?)
}

async fn seed(args: SeedArgs) -> anyhow::Result<()> {
    let per_cert = args.copies_per_certificate.max(2);
    ensure_database(&args.database_url, args.reset).await?;
    let store = Store::connect(&seeding_url(&args.database_url, args.synchronous_commit))
        .await
        .context("cannot open the database")?;
    let now = Utc::now();
    let keys = Arc::new(KeyRing::load_or_create(
        &args.data_dir,
        ISSUER,
        now.date_naive() - TimeDelta::days(365),
        now,
    )?);

    let existing = count(&store, "SELECT COUNT(*) FROM copies").await? as usize;
    if existing >= args.copies {
        eprintln!("the register already holds {existing} copies; not seeding again");
    } else if !store.is_empty().await? {
        bail!(
            "the register holds {existing} copies, fewer than {}: rerun with --reset",
            args.copies
        );
    } else {
        let started = Instant::now();
        build(&store, keys.clone(), &args, per_cert).await?;
        let secs = started.elapsed().as_secs_f64();
        let issued = count(&store, "SELECT COUNT(*) FROM copies").await?;
        println!(
            "seeded {issued} copies in {secs:.1} s ({:.0} copies/s, {} tasks)",
            issued as f64 / secs,
            args.tasks
        );
        // A bulk load leaves the planner's statistics empty: without them PostgreSQL picks
        // sequential scans for the first minutes of load (lookup p99 55 ms rather than 7).
        let t = Instant::now();
        sqlx::query("ANALYZE").execute(store.pool()).await?;
        println!(
            "analysed the register in {:.1} s",
            t.elapsed().as_secs_f64()
        );
    }
    summary(&store).await?;
    let written = crate::codes::dump(&store, &keys, &args.data_dir, &args.out).await?;
    println!("wrote {written} codes to {}", args.out.display());
    store.close().await;
    Ok(())
}

async fn summary(store: &Store) -> anyhow::Result<()> {
    let rows = sqlx::query(
        "SELECT kind, CASE WHEN withdrawn_at IS NULL THEN 'live' ELSE 'withdrawn' END, COUNT(*)
         FROM copies GROUP BY 1, 2 ORDER BY 1, 2",
    )
    .fetch_all(store.pool())
    .await?;
    let mut parts = Vec::new();
    for r in rows {
        let kind: String = r.try_get(0)?;
        let state: String = r.try_get(1)?;
        let n: i64 = r.try_get(2)?;
        parts.push(format!("{kind}/{state} {n}"));
    }
    println!("copies: {}", parts.join(", "));
    let rows = sqlx::query(
        "SELECT state, current_version, COUNT(*) FROM certificates GROUP BY 1, 2 ORDER BY 1, 2",
    )
    .fetch_all(store.pool())
    .await?;
    let mut parts = Vec::new();
    for r in rows {
        let state: String = r.try_get(0)?;
        let v: i64 = r.try_get(1)?;
        let n: i64 = r.try_get(2)?;
        parts.push(format!("{state} v{v} {n}"));
    }
    println!("certificates: {}", parts.join(", "));
    let suspended = count(
        store,
        "SELECT COUNT(*) FROM qualifications WHERE status = 'suspended'",
    )
    .await?;
    let revoked = count(
        store,
        "SELECT COUNT(*) FROM qualifications WHERE status = 'revoked'",
    )
    .await?;
    println!("qualifications: {suspended} suspended, {revoked} revoked");
    Ok(())
}

async fn build(
    store: &Store,
    keys: Arc<KeyRing>,
    args: &SeedArgs,
    per_cert: usize,
) -> anyhow::Result<()> {
    let enterprises = args.copies.div_ceil(per_cert);
    let phases = Arc::new(Phases::default());
    // The enterprises first, a thousand per transaction: one each would be as many commits as
    // certificates.
    let t = Instant::now();
    for start in (0..enterprises).step_by(1_000) {
        let batch = (start..enterprises.min(start + 1_000))
            .map(enterprise)
            .collect::<anyhow::Result<Vec<_>>>()?;
        store.create_enterprises(ACTOR, &batch, Utc::now()).await?;
    }
    phases.enterprises.add(t);
    let next = Arc::new(AtomicUsize::new(0));
    let issued = Arc::new(AtomicUsize::new(0));
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..args.tasks.max(1) {
        let (store, keys) = (store.clone(), keys.clone());
        let (next, issued, phases) = (next.clone(), issued.clone(), phases.clone());
        let (total, host) = (args.copies, args.host.clone());
        tasks.spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= enterprises {
                    return anyhow::Ok(());
                }
                let n = per_cert.min(total - i * per_cert);
                one_enterprise(&store, &keys, &host, i, n, &issued, &phases)
                    .await
                    .with_context(|| format!("enterprise {i}"))?;
            }
        });
    }
    let total = args.copies;
    let progress = tokio::spawn(async move {
        let start = Instant::now();
        loop {
            tokio::time::sleep(Duration::from_secs(10)).await;
            let n = issued.load(Ordering::Relaxed);
            let s = start.elapsed().as_secs_f64();
            eprintln!(
                "  {n}/{total} copies after {s:.0} s ({:.0}/s)",
                n as f64 / s
            );
        }
    });
    let mut result = Ok(());
    while let Some(joined) = tasks.join_next().await {
        if let Err(e) = joined.map_err(anyhow::Error::from).and_then(|r| r) {
            tasks.abort_all();
            result = Err(e);
            break;
        }
    }
    progress.abort();
    eprintln!("  task time by phase: {phases}");
    result
}

/// Time the tasks spent in each step, summed over tasks: which one to make faster.
#[derive(Debug, Default)]
struct Phases {
    enterprises: Phase,
    certificates: Phase,
    copies: Phase,
    withdrawals: Phase,
}

#[derive(Debug, Default)]
struct Phase(AtomicU64);

impl Phase {
    fn add(&self, since: Instant) {
        self.0
            .fetch_add(since.elapsed().as_micros() as u64, Ordering::Relaxed);
    }

    fn secs(&self) -> f64 {
        self.0.load(Ordering::Relaxed) as f64 / 1e6
    }
}

impl std::fmt::Display for Phases {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "enterprises {:.1} s, certificates {:.1} s, copies {:.1} s, withdrawals {:.1} s",
            self.enterprises.secs(),
            self.certificates.secs(),
            self.copies.secs(),
            self.withdrawals.secs()
        )
    }
}

/// What happens to a certificate after its copies were issued, by enterprise index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fate {
    Unchanged,
    /// 升级 of the first qualification: every printed copy is superseded.
    Upgraded,
    /// 撤销 of the second qualification: printed copies list a revoked one.
    PartlyRevoked,
    /// 暂扣 of the first qualification.
    Suspended,
    /// 注销 of both qualifications: nothing left, the certificate is cancelled.
    Cancelled,
}

fn fate(i: usize) -> Fate {
    match i % 100 {
        7 | 57 => Fate::Upgraded,
        13 => Fate::PartlyRevoked,
        41 => Fate::Suspended,
        29 => Fate::Cancelled,
        _ => Fate::Unchanged,
    }
}

async fn one_enterprise(
    store: &Store,
    keys: &KeyRing,
    host: &str,
    i: usize,
    copies: usize,
    issued: &AtomicUsize,
    phases: &Phases,
) -> anyhow::Result<()> {
    let today = Utc::now().date_naive();
    let e = enterprise(i)?;
    let (category, quals) = qualifications(i);
    let number: CertificateNumber = format!("{}231{:06}", category.number_prefix(), i + 1)
        .parse()
        .context("certificate number")?;
    let approved_on = today - TimeDelta::days(90 + (i as i64 * 13) % 900);
    // Five years, as the commission grants.
    let valid_until = approved_on + TimeDelta::days(5 * 365);
    let t = Instant::now();
    store
        .create_certificate(
            ACTOR,
            &e.credit_code,
            &number,
            approved_on,
            valid_until,
            &quals,
            ISSUER,
            Utc::now(),
        )
        .await?;
    phases.certificates.add(t);
    // One approval copy, the rest usage copies, in one batch through the store's rules.
    let items = (0..copies)
        .map(|j| (j > 0).then(|| usage_terms(i, j, today, approved_on, valid_until)))
        .collect();
    let t = Instant::now();
    let issued_now = store
        .issue_copies(ACTOR, &number, items, keys, host, Utc::now())
        .await?;
    phases.copies.add(t);
    issued.fetch_add(issued_now.len(), Ordering::Relaxed);
    // About 2% of usage copies withdrawn, whatever the copies per certificate.
    let t = Instant::now();
    for (j, copy) in issued_now.iter().enumerate() {
        if j > 0 && (i * copies + j) % 50 == 25 {
            store
                .withdraw_copy(ACTOR, copy.id, None, Utc::now())
                .await?;
        }
    }
    phases.withdrawals.add(t);
    let qid = |item: &str| {
        let (store, number, item) = (store.clone(), number.clone(), item.to_owned());
        async move {
            store
                .qualification_id(&number, &item)
                .await?
                .context("qualification just granted")
        }
    };
    let change = |id: i64, action: QualificationAction, grade: Option<&'static str>| {
        let store = store.clone();
        async move {
            store
                .change_qualification(ACTOR, id, action, grade, Some("负载测试"), Utc::now())
                .await
        }
    };
    match fate(i) {
        Fate::Unchanged => {}
        Fate::Upgraded => {
            let grade = upgraded(&quals[0].grade);
            change(
                qid(&quals[0].item).await?,
                QualificationAction::Upgrade,
                Some(grade),
            )
            .await?;
        }
        Fate::PartlyRevoked => {
            change(
                qid(&quals[1].item).await?,
                QualificationAction::Revoke,
                None,
            )
            .await?;
        }
        Fate::Suspended => {
            change(
                qid(&quals[0].item).await?,
                QualificationAction::Suspend,
                None,
            )
            .await?;
        }
        Fate::Cancelled => {
            for q in &quals {
                change(qid(&q.item).await?, QualificationAction::Cancel, None).await?;
            }
        }
    }
    Ok(())
}

fn upgraded(grade: &str) -> &'static str {
    match grade {
        "三级" => "二级",
        "二级" => "一级",
        "丙级" => "乙级",
        _ => "甲级",
    }
}

/// A usage period inside the certificate's validity that has not ended; about one copy in
/// twenty starts in the future (the verifier then says "not started yet").
pub fn usage_terms(
    i: usize,
    j: usize,
    today: NaiveDate,
    approved_on: NaiveDate,
    valid_until: NaiveDate,
) -> UsageTerms {
    const PROJECTS: &[&str] = &[
        "浦东新区张江科学城道路改建工程",
        "徐汇滨江综合管廊二期工程",
        "静安区老旧小区综合改造项目",
        "闵行区莘庄镇安置房建设工程",
        "杨浦区滨江公共空间提升工程",
        "嘉定新城中小学新建工程",
        "松江区九亭镇排水管网改造工程",
        "青浦区西岑科创中心配套工程",
        "宝山区吴淞创新城道路新建工程",
        "奉贤区南桥新城医院扩建项目",
        "长宁区天山路街道更新项目",
        "临港新片区滴水湖配套工程",
    ];
    const USES: &[&str] = &["投标", "资格预审", "施工许可办理", "招标备案", "项目申报"];
    let k = i * 31 + j;
    let purpose = format!(
        "{}{}",
        PROJECTS[k % PROJECTS.len()],
        USES[(k / PROJECTS.len()) % USES.len()]
    );
    let from = if j % 20 == 19 {
        today + TimeDelta::days(1 + (k % 30) as i64)
    } else {
        (today - TimeDelta::days((k * 7 % 60) as i64)).max(approved_on)
    };
    let to = (from.max(today) + TimeDelta::days(30 + (k * 11 % 150) as i64)).min(valid_until);
    UsageTerms { purpose, from, to }
}

/// Mostly construction companies, as in the real register, some design, supervision and
/// survey firms; each certificate has two qualifications of its category.
fn qualifications(i: usize) -> (Category, Vec<Qualification>) {
    let (category, pairs): (Category, [(&str, &str); 2]) = match i % 10 {
        0 => (
            Category::Design,
            [
                ("建筑行业（建筑工程）", "乙级"),
                ("市政行业（道路工程）", "丙级"),
            ],
        ),
        1 => (
            Category::Supervision,
            [("房屋建筑工程监理", "乙级"), ("市政公用工程监理", "丙级")],
        ),
        2 => (
            Category::Survey,
            [
                ("工程勘察专业类（岩土工程）", "乙级"),
                ("工程勘察专业类（工程测量）", "丙级"),
            ],
        ),
        n if n % 2 == 0 => (
            Category::Construction,
            [
                ("建筑工程施工总承包", "二级"),
                ("市政公用工程施工总承包", "三级"),
            ],
        ),
        _ => (
            Category::Construction,
            [
                ("市政公用工程施工总承包", "二级"),
                ("地基基础工程专业承包", "三级"),
            ],
        ),
    };
    let quals = pairs
        .iter()
        .map(|(item, grade)| Qualification {
            category,
            item: (*item).to_owned(),
            grade: (*grade).to_owned(),
        })
        .collect();
    (category, quals)
}

/// A plausible Shanghai enterprise with a credit code whose checksum is right.
pub fn enterprise(i: usize) -> anyhow::Result<Enterprise> {
    const DISTRICTS: &[(&str, &str)] = &[
        ("浦东新区", "310115"),
        ("黄浦区", "310101"),
        ("徐汇区", "310104"),
        ("长宁区", "310105"),
        ("静安区", "310106"),
        ("普陀区", "310107"),
        ("虹口区", "310109"),
        ("杨浦区", "310110"),
        ("闵行区", "310112"),
        ("宝山区", "310113"),
        ("嘉定区", "310114"),
        ("松江区", "310117"),
        ("青浦区", "310118"),
        ("奉贤区", "310120"),
    ];
    const WORDS: &[&str] = &[
        "浦江", "申城", "东海", "宏达", "华厦", "锦程", "恒信", "中联", "城建", "安居", "鼎盛",
        "明珠", "远大", "金桥", "海港", "天宇", "长江", "新沪", "隆昌", "嘉禾",
    ];
    const ROADS: &[&str] = &[
        "世纪大道",
        "南京西路",
        "漕溪北路",
        "延安西路",
        "长寿路",
        "四川北路",
        "控江路",
        "沪闵路",
        "牡丹江路",
        "博乐路",
        "人民北路",
        "公园路",
        "南桥路",
    ];
    const SURNAMES: &[&str] = &["王", "李", "张", "刘", "陈", "杨", "黄", "赵", "周", "吴"];
    const GIVEN: &[&str] = &[
        "建国", "志强", "海燕", "国华", "文杰", "丽娟", "伟民", "晓峰",
    ];
    const NATURES: &[&str] = &[
        "有限责任公司（自然人投资或控股）",
        "股份有限公司（非上市、自然人投资或控股）",
        "有限责任公司（国有控股）",
        "其他有限责任公司",
    ];
    let (category, _) = qualifications(i);
    let suffix = match category {
        Category::Design => "建筑设计研究院有限公司",
        Category::Supervision => "工程建设监理有限公司",
        Category::Survey => "岩土工程勘察有限公司",
        _ => "建设工程有限公司",
    };
    let (district, region) = DISTRICTS[i % DISTRICTS.len()];
    let w1 = WORDS[(i / DISTRICTS.len()) % WORDS.len()];
    let w2 = WORDS[(i / DISTRICTS.len() / WORDS.len() + 7 + i) % WORDS.len()];
    let name = if i < DISTRICTS.len() * WORDS.len() {
        format!("上海{w1}{w2}{suffix}")
    } else {
        format!("上海{w1}{w2}{}{suffix}", &district[..6])
    };

    // 91 (enterprise, registered with the market regulator) + region + 9-character body.
    const ALPHABET: &[u8] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";
    let mut body = String::new();
    let mut x = (i as u64).wrapping_mul(2_654_435_761) % 31u64.pow(8) + 31u64.pow(8);
    for _ in 0..9 {
        body.insert(0, ALPHABET[(x % 31) as usize] as char);
        x /= 31;
    }
    let first17 = format!("91{region}{body}");
    let check = CreditCode::check_char(&first17).context("credit code alphabet")?;
    let credit_code: CreditCode = format!("{first17}{check}").parse()?;

    Ok(Enterprise {
        name,
        credit_code,
        address: format!(
            "上海市{district}{}{}号",
            ROADS[i % ROADS.len()],
            1 + (i * 17) % 1800
        ),
        legal_representative: format!(
            "{}{}",
            SURNAMES[i % SURNAMES.len()],
            GIVEN[(i / 3) % GIVEN.len()]
        ),
        registered_capital_wan: format!("{}", 500 + (i * 97) % 20_000),
        economic_nature: NATURES[i % NATURES.len()].to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_enterprises_are_valid_and_codes_unique() {
        let mut codes = std::collections::HashSet::new();
        for i in 0..5_000 {
            let e = enterprise(i).unwrap();
            e.validate().unwrap();
            assert!(codes.insert(e.credit_code.clone()), "{i}");
        }
    }

    #[test]
    fn usage_terms_are_accepted_by_the_issuer_rules() {
        let today = NaiveDate::from_ymd_opt(2026, 11, 25).unwrap();
        for i in 0..200 {
            let approved = today - TimeDelta::days(90 + (i as i64 * 13) % 900);
            let until = approved + TimeDelta::days(5 * 365);
            for j in 1..100 {
                let t = usage_terms(i, j, today, approved, until);
                let t = UsageTerms::new(&t.purpose, t.from, t.to).unwrap();
                assert!(t.to >= today && t.from >= approved && t.to <= until);
            }
        }
    }

    #[test]
    fn seeding_turns_synchronous_commit_off_unless_told_or_given_options() {
        let url = "postgres://postgres@127.0.0.1:5432/zizhi_load";
        assert_eq!(
            seeding_url(url, false),
            format!("{url}?options=-c%20synchronous_commit%3Doff")
        );
        assert_eq!(seeding_url(url, true), url);
        let with = format!("{url}?sslmode=disable");
        assert_eq!(
            seeding_url(&with, false),
            format!("{with}&options=-c%20synchronous_commit%3Doff")
        );
        let given = format!("{url}?options=-c%20work_mem%3D64MB");
        assert_eq!(seeding_url(&given, false), given);
    }

    #[test]
    fn admin_url_keeps_host_and_options() {
        assert_eq!(
            admin_url("postgres://postgres@127.0.0.1:5432/zizhi_load?sslmode=disable").unwrap(),
            (
                "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable".to_owned(),
                "zizhi_load".to_owned()
            )
        );
        assert!(admin_url("postgres://127.0.0.1:5432").is_err());
        assert!(admin_url("postgres://h/x;drop").is_err());
    }
}
