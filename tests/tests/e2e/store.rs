//! The store called directly, on both backends: issuing copies in a batch
//! (`Store::issue_copies`) follows the single issue's rules and writes all or nothing; the
//! status snapshot's cache (`zizhi_server::snapshot::Snapshots`) is rebuilt only when a
//! status changed, once for concurrent requests.

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use zizhi_server::key_ring::KeyRing;
use zizhi_server::register::ops::QualificationAction;
use zizhi_server::snapshot::{MAX_DELTA_DAYS, Request, Snapshots};
use zizhi_server::store::{Store, StoreError};
use zizhi_shared::{
    Category, CertificateNumber, CopyKind, CreditCode, Enterprise, Qualification, UsageTerms,
};
use zizhi_tests::{Backend, TestEnv, credit_code, on_both_backends, today};

const ACTOR: &str = "store-test";
const HOST: &str = "ZIZHI.JSGL.SH.GOV.CN";

struct Register {
    env: TestEnv,
    store: Store,
    keys: KeyRing,
}

impl Register {
    async fn new(backend: Backend) -> Register {
        let env = TestEnv::new(backend).await;
        let store = Store::connect(&env.database_url).await.expect("store");
        let now = Utc::now();
        let keys = KeyRing::load_or_create(
            &env.data_dir(),
            "上海市住房和城乡建设管理委员会",
            now.date_naive() - TimeDelta::days(400),
            now,
        )
        .expect("keys");
        Register { env, store, keys }
    }

    /// An enterprise (named after `word`) with one construction certificate numbered after
    /// `stem` (six digits), valid from `approved_on` to `valid_until`.
    async fn certificate(
        &self,
        stem: &str,
        word: &str,
        approved_on: NaiveDate,
        valid_until: NaiveDate,
    ) -> CertificateNumber {
        let code: CreditCode = credit_code(&format!("91310110MA1{stem}")).parse().unwrap();
        let e = Enterprise {
            name: format!("上海批量{word}建设有限公司"),
            credit_code: code.clone(),
            address: "上海市浦东新区世纪大道1号".into(),
            legal_representative: "王建国".into(),
            registered_capital_wan: "5000".into(),
            economic_nature: "其他有限责任公司".into(),
        };
        self.store
            .create_enterprise(ACTOR, &e, now())
            .await
            .unwrap();
        let number: CertificateNumber = format!("D231{stem}").parse().unwrap();
        let quals = [
            ("建筑工程施工总承包", "二级"),
            ("市政公用工程施工总承包", "三级"),
        ]
        .map(|(item, grade)| Qualification {
            category: Category::Construction,
            item: item.into(),
            grade: grade.into(),
        });
        self.store
            .create_certificate(
                ACTOR,
                &code,
                &number,
                approved_on,
                valid_until,
                &quals,
                "上海市住房和城乡建设管理委员会",
                now(),
            )
            .await
            .unwrap();
        number
    }

    async fn count(&self, sql: &str) -> i64 {
        sqlx::query_scalar::<_, i64>(sql)
            .fetch_one(self.store.pool())
            .await
            .unwrap()
    }

    /// Copies and events: what a refused batch must leave as it was.
    async fn written(&self) -> (i64, i64) {
        (
            self.count("SELECT COUNT(*) FROM copies").await,
            self.count("SELECT COUNT(*) FROM events").await,
        )
    }

    async fn single(
        &self,
        number: &CertificateNumber,
        usage: Option<UsageTerms>,
    ) -> Result<(), StoreError> {
        self.store
            .issue_copy(ACTOR, number, usage, &self.keys, HOST, now())
            .await
            .map(|_| ())
    }

    async fn batch(
        &self,
        number: &CertificateNumber,
        items: Vec<Option<UsageTerms>>,
    ) -> Result<Vec<zizhi_server::copies::model::CopyRecord>, StoreError> {
        self.store
            .issue_copies(ACTOR, number, items, &self.keys, HOST, now())
            .await
    }

    async fn finish(self) {
        self.store.close().await;
        self.env.finish().await;
    }
}

fn now() -> DateTime<Utc> {
    Utc::now()
}

fn usage(purpose: &str, from: NaiveDate, to: NaiveDate) -> Option<UsageTerms> {
    Some(UsageTerms {
        purpose: purpose.into(),
        from,
        to,
    })
}

async fn a_batch_issues_signed_copies_with_their_events_and_one_approval_copy(backend: Backend) {
    let r = Register::new(backend).await;
    let t = today();
    let number = r
        .certificate(
            "000101",
            "浦江",
            t - TimeDelta::days(100),
            t + TimeDelta::days(900),
        )
        .await;
    let (copies_before, events_before) = r.written().await;
    let mut items = vec![None];
    for k in 0..30 {
        items.push(usage(
            &format!("浦东新区第{k}号道路工程投标"),
            t,
            t + TimeDelta::days(30),
        ));
    }
    items.push(None);
    let issued = r.batch(&number, items).await.unwrap();
    assert_eq!(issued.len(), 32);
    assert_eq!(issued[0].kind, CopyKind::Approval);
    assert_eq!(issued[31].id, issued[0].id, "one approval copy per version");
    assert!(issued[1..31].iter().all(|c| c.kind == CopyKind::Usage));
    let (copies, events) = r.written().await;
    assert_eq!(
        (copies - copies_before, events - events_before),
        (31, 31),
        "each new copy with its event"
    );
    let trust = r.keys.current();
    for c in &issued {
        let stored = r.store.copy(c.id).await.unwrap().expect("stored");
        assert_eq!(stored.qr_text, c.qr_text);
        let v = zizhi_shared::verify_text(&c.qr_text, trust.trust_list(), now()).unwrap();
        assert_eq!(v.claims.copy_id, c.id);
        assert_eq!(v.claims.usage, c.usage);
    }
    // A later approval request, single or batched, gets the same copy again; single issues
    // after a batch take fresh ids.
    let again = r.batch(&number, vec![None]).await.unwrap();
    assert_eq!(again[0].id, issued[0].id);
    let single = r
        .store
        .issue_copy(
            ACTOR,
            &number,
            usage("浦东新区某学校投标", t, t + TimeDelta::days(10)),
            &r.keys,
            HOST,
            now(),
        )
        .await
        .unwrap();
    assert!(issued.iter().all(|c| c.id < single.id));
    r.finish().await;
}
on_both_backends!(
    a_batch_issues_signed_copies_with_their_events_and_one_approval_copy,
    super::a_batch_issues_signed_copies_with_their_events_and_one_approval_copy
);

async fn a_batch_refuses_what_a_single_issue_refuses_and_writes_nothing(backend: Backend) {
    let r = Register::new(backend).await;
    let t = today();
    let (approved, until) = (t - TimeDelta::days(100), t + TimeDelta::days(900));
    let number = r.certificate("000201", "申城", approved, until).await;
    let good = || usage("徐汇区某工程投标", t, t + TimeDelta::days(20));
    let bad_items = [
        usage(
            "徐汇区某工程投标",
            t - TimeDelta::days(20),
            t - TimeDelta::days(1),
        ),
        usage("徐汇区某工程投标", approved - TimeDelta::days(1), t),
        usage("徐汇区某工程投标", t, until + TimeDelta::days(1)),
        usage("徐汇区某工程投标", t + TimeDelta::days(5), t),
        usage("", t, t + TimeDelta::days(5)),
    ];
    let before = r.written().await;
    for bad in bad_items {
        let single = r.single(&number, bad.clone()).await.unwrap_err();
        let batch = r
            .batch(&number, vec![None, good(), bad.clone(), good()])
            .await
            .unwrap_err();
        assert_eq!(batch.code(), single.code(), "{bad:?}");
        assert_eq!(r.written().await, before, "nothing written for {bad:?}");
    }

    // A certificate the register does not hold.
    let missing: CertificateNumber = "D231099999".parse().unwrap();
    let single = r.single(&missing, good()).await.unwrap_err();
    let batch = r.batch(&missing, vec![good()]).await.unwrap_err();
    assert_eq!(
        (batch.code(), single.code()),
        ("certificate_not_found", "certificate_not_found")
    );

    // An expired certificate.
    let expired = r
        .certificate(
            "000202",
            "东海",
            t - TimeDelta::days(800),
            t - TimeDelta::days(1),
        )
        .await;
    let single = r.single(&expired, None).await.unwrap_err();
    let batch = r.batch(&expired, vec![None, good()]).await.unwrap_err();
    assert_eq!(
        (batch.code(), single.code()),
        ("certificate_expired", "certificate_expired")
    );

    // A certificate with no qualification left.
    let cancelled = r.certificate("000203", "宏达", approved, until).await;
    for item in ["建筑工程施工总承包", "市政公用工程施工总承包"] {
        let id = r
            .store
            .qualification_id(&cancelled, item)
            .await
            .unwrap()
            .unwrap();
        r.store
            .change_qualification(ACTOR, id, QualificationAction::Cancel, None, None, now())
            .await
            .unwrap();
    }
    let before = r.written().await;
    let single = r.single(&cancelled, good()).await.unwrap_err();
    let batch = r.batch(&cancelled, vec![good()]).await.unwrap_err();
    assert_eq!(
        (batch.code(), single.code()),
        ("no_qualification_left", "no_qualification_left")
    );
    assert_eq!(r.written().await, before);
    r.finish().await;
}
on_both_backends!(
    a_batch_refuses_what_a_single_issue_refuses_and_writes_nothing,
    super::a_batch_refuses_what_a_single_issue_refuses_and_writes_nothing
);

async fn the_snapshot_is_rebuilt_only_when_a_status_changed_and_once_for_concurrent_requests(
    backend: Backend,
) {
    let r = Register::new(backend).await;
    let t = today();
    let number = r
        .certificate(
            "000301",
            "锦程",
            t - TimeDelta::days(100),
            t + TimeDelta::days(900),
        )
        .await;
    let snapshots = Snapshots::default();
    let full = |snapshots: Snapshots| {
        let store = r.store.clone();
        async move { snapshots.build(&store, Request::Full, now()).await.unwrap() }
    };
    let first = full(snapshots.clone()).await;
    assert_eq!(snapshots.rebuilds(), 1);

    // Issuing copies moves seq on but changes no status: no rebuild.
    let items = (0..5)
        .map(|k| usage(&format!("长宁区第{k}号工程投标"), t, t + TimeDelta::days(9)))
        .collect();
    let issued = r.batch(&number, items).await.unwrap();
    let after_copies = full(snapshots.clone()).await;
    assert!(after_copies.seq > first.seq);
    assert_eq!(after_copies.versions, first.versions);
    assert_eq!(snapshots.rebuilds(), 1, "issued copies forced a rebuild");

    // A withdrawal is added to the cached status, not rebuilt, and never missed.
    r.store
        .withdraw_copy(ACTOR, issued[2].id, None, now())
        .await
        .unwrap();
    let after_withdrawal = full(snapshots.clone()).await;
    assert_eq!(after_withdrawal.withdrawn_copies, [issued[2].id]);
    assert_eq!(snapshots.rebuilds(), 1);

    // A qualification suspended: the status is rebuilt, once for eight concurrent requests.
    let qid = r
        .store
        .qualification_id(&number, "建筑工程施工总承包")
        .await
        .unwrap()
        .unwrap();
    r.store
        .change_qualification(ACTOR, qid, QualificationAction::Suspend, None, None, now())
        .await
        .unwrap();
    let all = futures::future::join_all((0..8).map(|_| full(snapshots.clone()))).await;
    assert_eq!(
        snapshots.rebuilds(),
        2,
        "one rebuild for concurrent requests"
    );
    for s in &all {
        assert!(
            s.versions.iter().any(|v| v.certificate_number == number),
            "the suspension is in every answer"
        );
    }

    // A delta from the first snapshot carries the withdrawal and the changed certificate; one
    // asked for with a since_time too long ago is a full snapshot.
    let delta = snapshots
        .build(
            &r.store,
            Request::Delta {
                since: first.seq,
                since_time: first.issued_at,
            },
            now(),
        )
        .await
        .unwrap();
    assert_eq!(delta.since, first.seq);
    assert_eq!(delta.withdrawn_copies, [issued[2].id]);
    assert!(
        delta
            .versions
            .iter()
            .all(|v| v.certificate_number == number)
    );
    let stale = snapshots
        .build(
            &r.store,
            Request::Delta {
                since: first.seq,
                since_time: now() - TimeDelta::days(MAX_DELTA_DAYS + 1),
            },
            now(),
        )
        .await
        .unwrap();
    assert!(stale.is_full());
    assert_eq!(snapshots.rebuilds(), 2);
    r.finish().await;
}
on_both_backends!(
    the_snapshot_is_rebuilt_only_when_a_status_changed_and_once_for_concurrent_requests,
    super::the_snapshot_is_rebuilt_only_when_a_status_changed_and_once_for_concurrent_requests
);
