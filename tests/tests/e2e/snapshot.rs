//! The status snapshot (`GET /api/v1/status/snapshot`) against the real server on both
//! backends: what a full snapshot lists after the demo seed, what a delta carries after issuer
//! changes, and that the offline verdict built on it agrees with the server's live verdict.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::Row;
use zizhi_server::cache::StatusRead;
use zizhi_server::key_ring::PublishedTrustList;
use zizhi_server::snapshot::api::PublishedSnapshot;
use zizhi_server::verify::verdict;
use zizhi_shared::verdict::{CertificateState, Level, StatusFacts, Verdict, WarningCode, judge};
use zizhi_shared::{
    CertificateNumber, Claims, CopyKind, StatusCache, StatusSnapshot, TrustList, Verified,
    VersionEntry,
};
use zizhi_tests::{
    Backend, TestApp, TestEnv, enterprise_with_certificate, on_both_backends, qualification_id,
    usage_copy,
};

/// Fetches a snapshot, checks its response shape and opens it with the root key that signs
/// the trust list.
async fn fetch(app: &TestApp, query: &str) -> (PublishedSnapshot, StatusSnapshot) {
    let res = app
        .client
        .get(app.url(&format!("/api/v1/status/snapshot{query}")))
        .send()
        .await
        .expect("GET snapshot");
    assert_eq!(res.status().as_u16(), 200, "{query}");
    assert_eq!(
        res.headers()
            .get("cache-control")
            .and_then(|v| v.to_str().ok()),
        Some("no-store")
    );
    let published: PublishedSnapshot = res.json().await.expect("snapshot JSON");
    let keys = app.server.state.keys.current();
    let opened = published
        .open(keys.trust_list())
        .expect("opens with the trust list's snapshot key");
    assert_eq!(published.kid, "SN01");
    assert_eq!(
        (
            published.since,
            published.seq,
            published.full,
            published.issued_at
        ),
        (opened.since, opened.seq, opened.is_full(), opened.issued_at)
    );
    (published, opened)
}

/// The trust list as the app gets it, opened with the same pinned root key.
async fn trust_list(app: &TestApp) -> TrustList {
    let (status, body) = app.get("/.well-known/zizhi/trust-list").await;
    assert_eq!(status, 200, "{body}");
    let published: PublishedTrustList = serde_json::from_value(body).unwrap();
    assert_eq!(
        published.root_kid,
        app.server.state.keys.current().root().kid.to_string()
    );
    published
        .open(&app.server.state.keys.current().root().bytes().unwrap())
        .expect("trust list opens with the root key")
}

async fn max_event_id(app: &TestApp) -> u64 {
    let id: i64 = sqlx::query("SELECT COALESCE(MAX(id), 0) FROM events")
        .fetch_one(app.server.state.store.pool())
        .await
        .unwrap()
        .get(0);
    id as u64
}

async fn certificate_numbers(app: &TestApp) -> Vec<CertificateNumber> {
    sqlx::query("SELECT number FROM certificates ORDER BY number")
        .fetch_all(app.server.state.store.pool())
        .await
        .unwrap()
        .iter()
        .map(|r| r.get::<String, _>(0).parse().unwrap())
        .collect()
}

/// Every copy in the register: (id, QR text).
async fn all_copies(app: &TestApp) -> Vec<(u64, String)> {
    sqlx::query("SELECT id, qr_text FROM copies ORDER BY id")
        .fetch_all(app.server.state.store.pool())
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get::<i64, _>(0) as u64, r.get::<String, _>(1)))
        .collect()
}

/// The oracle: the state the server's own verdict gives a copy of each version of each
/// certificate, judged now (an approval copy, whose caution is beside the point here).
/// A printed qualification suspended while the certificate stands is the snapshot's
/// `suspended`; the server says it as a warning on top of the state.
async fn judged_states(app: &TestApp) -> BTreeMap<(CertificateNumber, u32), CertificateState> {
    let now = Utc::now();
    let mut out = BTreeMap::new();
    for number in certificate_numbers(app).await {
        let status = app
            .server
            .state
            .store
            .certificate_status(&number)
            .await
            .unwrap()
            .expect("certificate in the register");
        for v in &status.versions {
            let claims = Claims {
                copy_id: u64::MAX,
                certificate_number: number.clone(),
                certificate_version: v.version,
                kind: CopyKind::Approval,
                enterprise_name: v.certificate.enterprise.name.clone(),
                credit_code: status.credit_code.clone(),
                usage: None,
                issued_at: now,
                record_digest: v.certificate.record_digest(),
            };
            let verified = Verified {
                claims,
                kid: zizhi_shared::KeyId::new(*b"SH01"),
                issuer: "上海市住房和城乡建设管理委员会".into(),
            };
            let live = StatusRead::Current(std::sync::Arc::new(Some(status.clone())));
            let verdict = verdict::judge(&verified, &live, now);
            let printed_suspended = verdict
                .warnings
                .iter()
                .any(|w| w.code == WarningCode::QualificationSuspended);
            let state = match verdict.certificate_state.expect("a state") {
                CertificateState::Revoked => CertificateState::Revoked,
                CertificateState::Cancelled => CertificateState::Cancelled,
                CertificateState::Suspended => CertificateState::Suspended,
                CertificateState::Expired => CertificateState::Expired,
                _ if printed_suspended => CertificateState::Suspended,
                CertificateState::Superseded => CertificateState::Superseded,
                CertificateState::Current => CertificateState::Current,
            };
            out.insert((number.clone(), v.version), state);
        }
    }
    out
}

fn listed(s: &StatusSnapshot) -> BTreeMap<(CertificateNumber, u32), CertificateState> {
    s.versions
        .iter()
        .map(|e| ((e.certificate_number.clone(), e.version), e.state))
        .collect()
}

/// The device's answer from `cache` at `now`, as the app makes it.
fn offline(v: &Verified, cache: Option<&StatusCache>, now: DateTime<Utc>) -> Verdict {
    judge(v, StatusFacts::from_cache(cache, &v.claims, now), now)
}

fn level(v: &Value) -> Level {
    serde_json::from_value(v["summary"]["level"].clone()).expect("a level")
}

async fn full_snapshot_after_the_demo_lists_exactly_what_is_not_current(backend: Backend) {
    let env = TestEnv::new(backend).await;
    env.prepare_demo_keys();
    let app = TestApp::start(env.settings()).await;
    app.seed_demo(&env.dir.path().join("demo")).await;

    let before = Utc::now();
    let (published, full) = fetch(&app, "").await;
    assert!(published.full);
    assert_eq!(full.since, 0);
    assert_eq!(full.seq, max_event_id(&app).await);
    assert!(full.seq > 0);
    assert!(full.issued_at >= before - chrono::Duration::seconds(1));

    // Versions: exactly those the server's own verdict does not call current.
    let expected: BTreeMap<_, _> = judged_states(&app)
        .await
        .into_iter()
        .filter(|(_, s)| *s != CertificateState::Current)
        .collect();
    assert_eq!(listed(&full), expected);
    let states: BTreeSet<CertificateState> = expected.values().copied().collect();
    for s in [
        CertificateState::Superseded,
        CertificateState::Revoked,
        CertificateState::Cancelled,
        CertificateState::Expired,
    ] {
        assert!(states.contains(&s), "the demo has a {s:?} version");
    }
    for e in &full.versions {
        assert!(e.at <= full.issued_at, "{e:?}");
    }

    // Copies: exactly those the live verdict calls withdrawn.
    let mut withdrawn = Vec::new();
    for (id, text) in all_copies(&app).await {
        let (status, v) = app.verify(&text).await;
        assert_eq!(status, 200, "{v}");
        if v["warnings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|w| w["code"] == "copy_withdrawn")
        {
            withdrawn.push(id);
        }
    }
    assert!(!withdrawn.is_empty(), "the demo withdraws a copy");
    assert_eq!(full.withdrawn_copies, withdrawn);

    // A second request at the same seq (answered from the computed status) says the same.
    let (_, again) = fetch(&app, "").await;
    assert_eq!(
        (again.seq, &again.versions, &again.withdrawn_copies),
        (full.seq, &full.versions, &full.withdrawn_copies)
    );

    app.stop().await;
    env.finish().await;
}
on_both_backends!(
    full_snapshot_after_the_demo_lists_exactly_what_is_not_current,
    super::full_snapshot_after_the_demo_lists_exactly_what_is_not_current
);

async fn offline_verdict_agrees_with_the_live_verdict_on_every_demo_copy(backend: Backend) {
    let env = TestEnv::new(backend).await;
    env.prepare_demo_keys();
    let app = TestApp::start(env.settings()).await;
    let summary = app.seed_demo(&env.dir.path().join("demo")).await;
    let trust = trust_list(&app).await;
    let (_, full) = fetch(&app, "").await;
    let cache = StatusCache::from_full(full).unwrap();

    // The demo cases (forged and unknown-key codes included), then every copy in the register.
    let mut texts: Vec<(String, String)> = summary
        .cases
        .iter()
        .map(|c| (c.case.clone(), c.qr_text.clone()))
        .collect();
    texts.extend(
        all_copies(&app)
            .await
            .into_iter()
            .map(|(id, t)| (format!("copy {id}"), t)),
    );
    let mut seen = BTreeSet::new();
    for (name, text) in &texts {
        let (status, live) = app.verify(text).await;
        assert_eq!(status, 200, "{name}: {live}");
        let now = Utc::now();
        let offline = match zizhi_shared::verify_text(text, &trust, now) {
            Ok(v) => {
                // Without a cache the answer is never a bare "valid".
                let unknown = offline(&v, None, now);
                assert_ne!(unknown.summary.level, Level::Valid, "{name}");
                assert!(unknown.summary.message.contains("状态未知"), "{name}");
                offline(&v, Some(&cache), now)
            }
            Err(e) => Verdict::rejected_by_device(&e, now).unwrap_or_else(|| panic!("{name}: {e}")),
        };
        assert_eq!(
            offline.summary.level,
            level(&live),
            "{name}: offline {offline:?}\nlive {live}"
        );
        assert_eq!(offline.summary.title, live["summary"]["title"], "{name}");
        if offline.status_as_of.is_some() {
            assert!(offline.summary.message.contains("状态截至"), "{name}");
        }
        seen.insert(offline.summary.level);
    }
    assert_eq!(seen.len(), 3, "the demo shows all three levels");

    app.stop().await;
    env.finish().await;
}
on_both_backends!(
    offline_verdict_agrees_with_the_live_verdict_on_every_demo_copy,
    super::offline_verdict_agrees_with_the_live_verdict_on_every_demo_copy
);

fn numbers(s: &StatusSnapshot) -> BTreeSet<&str> {
    s.versions
        .iter()
        .map(|e| e.certificate_number.as_str())
        .collect()
}

fn entries(cache: &StatusCache) -> (Vec<u64>, Vec<VersionEntry>) {
    (
        cache.withdrawn_copies().collect(),
        cache.versions().collect(),
    )
}

fn delta_query(previous: &StatusSnapshot) -> String {
    format!(
        "?since={}&since_time={}",
        previous.seq,
        previous.issued_at.timestamp()
    )
}

async fn change(app: &TestApp, number: &str, item: &str, action: &str) -> Value {
    let id = qualification_id(app, number, item).await;
    let (s, b) = app
        .issuer(
            "POST",
            &format!("/api/v1/issuer/qualifications/{id}/{action}"),
            None,
        )
        .await;
    assert_eq!(s, 200, "{action} {number} {item}: {b}");
    b
}

async fn delta_after_issuer_changes_carries_exactly_those_changes(backend: Backend) {
    let env = TestEnv::new(backend).await;
    env.prepare_demo_keys();
    let app = TestApp::start(env.settings()).await;
    app.seed_demo(&env.dir.path().join("demo")).await;
    // Two certificates of our own: 建筑工程施工总承包 (v1), + 市政公用工程施工总承包 (v2).
    let (_, x) =
        enterprise_with_certificate(&app, "上海快照测试建设有限公司", "91310000MA1K00001").await;
    let (_, y) =
        enterprise_with_certificate(&app, "上海快照对照工程有限公司", "91310000MA1K00002").await;
    let copy = usage_copy(&app, &x, "快照测试工程投标").await;
    let copy_id = copy["id"].as_u64().unwrap();
    const MUNICIPAL: &str = "市政公用工程施工总承包";
    const BUILDING: &str = "建筑工程施工总承包";

    let (_, first) = fetch(&app, "").await;
    let mut cache = StatusCache::from_full(first.clone()).unwrap();
    let xn: CertificateNumber = x.parse().unwrap();
    let state_of = |s: &StatusSnapshot, v: u32| {
        s.versions
            .iter()
            .find(|e| e.certificate_number == xn && e.version == v)
            .map(|e| e.state)
    };
    // Granting the second qualification issued version 2; version 1 is superseded.
    assert_eq!(state_of(&first, 1), Some(CertificateState::Superseded));
    assert_eq!(state_of(&first, 2), None);

    // Nothing changed: an empty delta at the same seq.
    let (published, empty) = fetch(&app, &delta_query(&first)).await;
    assert!(!published.full);
    assert_eq!((empty.since, empty.seq), (first.seq, first.seq));
    assert!(empty.versions.is_empty() && empty.withdrawn_copies.is_empty());

    // Suspend one printed qualification of X: version 2 (printing it) is suspended.
    change(&app, &x, MUNICIPAL, "suspend").await;
    let (_, d1) = fetch(&app, &delta_query(&first)).await;
    assert_eq!(d1.since, first.seq);
    assert_eq!(d1.seq, max_event_id(&app).await);
    assert_eq!(numbers(&d1), BTreeSet::from([x.as_str()]));
    assert!(d1.withdrawn_copies.is_empty());
    assert_eq!(state_of(&d1, 2), Some(CertificateState::Suspended));
    assert_eq!(state_of(&d1, 3), Some(CertificateState::Current));
    cache.apply(d1.clone()).unwrap();
    assert_eq!(
        cache.version_state(&xn, 2).map(|s| s.0),
        Some(CertificateState::Suspended)
    );

    // Reinstate it, revoke a qualification of Y, withdraw the usage copy of X.
    change(&app, &x, MUNICIPAL, "reinstate").await;
    change(&app, &y, BUILDING, "revoke").await;
    let (s, b) = app
        .issuer(
            "POST",
            &format!("/api/v1/issuer/copies/{copy_id}/withdraw"),
            None,
        )
        .await;
    assert_eq!(s, 200, "{b}");

    let (_, d2) = fetch(&app, &delta_query(&d1)).await;
    assert_eq!((d2.since, d2.seq), (d1.seq, max_event_id(&app).await));
    assert_eq!(d2.withdrawn_copies, [copy_id]);
    assert_eq!(numbers(&d2), BTreeSet::from([x.as_str(), y.as_str()]));
    // The suspended version is no longer suspended, merely superseded; X's version 4 is current.
    assert_eq!(state_of(&d2, 2), Some(CertificateState::Superseded));
    assert_eq!(state_of(&d2, 4), Some(CertificateState::Current));

    // Applying the deltas gives what a fresh full snapshot gives.
    cache.apply(d2.clone()).unwrap();
    let (_, fresh) = fetch(&app, "").await;
    let fresh_cache = StatusCache::from_full(fresh.clone()).unwrap();
    assert_eq!(cache.seq, fresh_cache.seq);
    assert_eq!(entries(&cache), entries(&fresh_cache));
    // And the delta's non-current entries are the fresh snapshot's entries for X and Y.
    let for_xy = |s: &StatusSnapshot| -> Vec<VersionEntry> {
        s.versions
            .iter()
            .filter(|e| [&x, &y].contains(&&e.certificate_number.to_string()))
            .filter(|e| e.state != CertificateState::Current)
            .cloned()
            .collect()
    };
    assert_eq!(for_xy(&d2), for_xy(&fresh));

    // One delta straight from the first snapshot reaches the same state.
    let mut from_first = StatusCache::from_full(first.clone()).unwrap();
    let (_, both) = fetch(&app, &delta_query(&first)).await;
    from_first.apply(both).unwrap();
    assert_eq!(entries(&from_first), entries(&fresh_cache));

    // A delta applied to the wrong cache is refused.
    let mut stale = StatusCache::from_full(first.clone()).unwrap();
    assert_eq!(
        stale.apply(d2).unwrap_err().code(),
        "snapshot_since_mismatch"
    );

    // A `since` beyond the register's seq (another register, a restored database): full.
    let (published, beyond) = fetch(
        &app,
        &format!(
            "?since={}&since_time={}",
            fresh.seq + 1000,
            fresh.issued_at.timestamp()
        ),
    )
    .await;
    assert!(published.full);
    assert_eq!(beyond.since, 0);
    assert_eq!(listed(&beyond), listed(&fresh));

    // The live and offline verdicts on the withdrawn copy agree once synced.
    let trust = trust_list(&app).await;
    let (_, live) = app.verify(copy["qr_text"].as_str().unwrap()).await;
    let v =
        zizhi_shared::verify_text(copy["qr_text"].as_str().unwrap(), &trust, Utc::now()).unwrap();
    let offline = offline(&v, Some(&cache), Utc::now());
    assert_eq!(offline.summary.level, Level::Invalid);
    assert_eq!(offline.summary.level, level(&live));

    app.stop().await;
    env.finish().await;
}
on_both_backends!(
    delta_after_issuer_changes_carries_exactly_those_changes,
    super::delta_after_issuer_changes_carries_exactly_those_changes
);

async fn expired_certificates_enter_a_delta_once_their_validity_ends(backend: Backend) {
    let env = TestEnv::new(backend).await;
    let app = TestApp::start(env.settings()).await;
    let (_, x) =
        enterprise_with_certificate(&app, "上海快照到期建设有限公司", "91310000MA1K00003").await;
    // Renewed to end yesterday: the certificate is expired today.
    let today = zizhi_tests::today();
    let (s, b) = app
        .issuer(
            "POST",
            &format!("/api/v1/issuer/certificates/{x}/renew"),
            Some(serde_json::json!({
                "approved_on": (today - chrono::Duration::days(400)).to_string(),
                "valid_until": (today - chrono::Duration::days(1)).to_string(),
            })),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    let (_, full) = fetch(&app, "").await;
    let expired: Vec<u32> = full
        .versions
        .iter()
        .filter(|e| e.state == CertificateState::Expired)
        .map(|e| e.version)
        .collect();
    assert_eq!(expired, [1, 2, 3], "{full:?}");
    let expiry: DateTime<Utc> = today.and_hms_opt(0, 0, 0).unwrap().and_utc();
    assert!(full.versions.iter().all(|e| e.at == expiry), "{full:?}");

    // A device that last synced two days ago, before the expiry, learns of it without any
    // event having been written since; one that synced today already knows.
    let two_days_ago = (Utc::now() - chrono::Duration::days(2)).timestamp();
    let (_, d) = fetch(
        &app,
        &format!("?since={}&since_time={two_days_ago}", full.seq),
    )
    .await;
    assert_eq!(numbers(&d), BTreeSet::from([x.as_str()]));
    let (_, d) = fetch(&app, &delta_query(&full)).await;
    assert!(d.versions.is_empty(), "{d:?}");

    app.stop().await;
    env.finish().await;
}
on_both_backends!(
    expired_certificates_enter_a_delta_once_their_validity_ends,
    super::expired_certificates_enter_a_delta_once_their_validity_ends
);

async fn bad_snapshot_queries_get_precise_codes(backend: Backend) {
    let env = TestEnv::new(backend).await;
    let app = TestApp::start(env.settings()).await;
    let now = Utc::now().timestamp();
    let future = now + 3600;
    for (query, code) in [
        (format!("?since=abc&since_time={now}"), "invalid_since"),
        (format!("?since=-3&since_time={now}"), "invalid_since"),
        (format!("?since=1.5&since_time={now}"), "invalid_since"),
        ("?since=3&since_time=yesterday".into(), "invalid_since_time"),
        ("?since=3&since_time=-1".into(), "invalid_since_time"),
        ("?since=3".into(), "since_time_required"),
        (format!("?since_time={now}"), "since_required"),
        (
            format!("?since=3&since_time={future}"),
            "since_time_in_future",
        ),
        ("?full=1".into(), "invalid_query"),
    ] {
        let (status, body) = app.get(&format!("/api/v1/status/snapshot{query}")).await;
        assert_eq!(status, 400, "{query}: {body}");
        assert_eq!(body["error"], code, "{query}: {body}");
        assert!(
            body["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{query}: {body}"
        );
    }
    // An empty register: seq 0, nothing listed, and `since=0` is a full request.
    let (published, s) = fetch(&app, &format!("?since=0&since_time={now}")).await;
    assert!(published.full);
    assert_eq!(
        (s.seq, s.versions.len(), s.withdrawn_copies.len()),
        (0, 0, 0)
    );

    app.stop().await;
    env.finish().await;
}
on_both_backends!(
    bad_snapshot_queries_get_precise_codes,
    super::bad_snapshot_queries_get_precise_codes
);

async fn chained_deltas_taken_during_concurrent_changes_miss_nothing(backend: Backend) {
    let env = TestEnv::new(backend).await;
    let app = TestApp::start(env.settings()).await;
    let (_, x) =
        enterprise_with_certificate(&app, "上海快照并发建设有限公司", "91310000MA1K00004").await;
    let mut ids = Vec::new();
    for i in 0..12 {
        ids.push(
            usage_copy(&app, &x, &format!("并发测试工程投标{i}")).await["id"]
                .as_u64()
                .unwrap(),
        );
    }
    let (_, first) = fetch(&app, "").await;
    let mut cache = StatusCache::from_full(first).unwrap();

    // Withdraw the copies all at once while a device keeps syncing deltas from where it left
    // off: a delta must never claim a seq whose earlier events it has not seen (on PostgreSQL
    // events could commit out of id order without the lock in `append_event`; on SQLite the
    // concurrent writers must wait their turn, not fail).
    let writers: Vec<_> = ids
        .iter()
        .map(|id| vec![*id])
        .collect::<Vec<_>>()
        .into_iter()
        .map(|batch| {
            let client = app.client.clone();
            let urls: Vec<String> = batch
                .iter()
                .map(|id| app.url(&format!("/api/v1/issuer/copies/{id}/withdraw")))
                .collect();
            tokio::spawn(async move {
                for url in urls {
                    let res = client
                        .post(url)
                        .bearer_auth(zizhi_tests::ISSUER_TOKEN)
                        .send()
                        .await
                        .expect("withdraw");
                    assert_eq!(res.status().as_u16(), 200);
                }
            })
        })
        .collect();
    let mut syncs = 0;
    while !writers.iter().all(|w| w.is_finished()) {
        let previous = StatusSnapshot::new(cache.as_of, 0, cache.seq, vec![], vec![]);
        let (_, d) = fetch(&app, &delta_query(&previous)).await;
        cache.apply(d).unwrap();
        syncs += 1;
    }
    for w in writers {
        w.await.unwrap();
    }
    let previous = StatusSnapshot::new(cache.as_of, 0, cache.seq, vec![], vec![]);
    let (_, last) = fetch(&app, &delta_query(&previous)).await;
    cache.apply(last).unwrap();
    assert!(syncs > 0);
    assert_eq!(cache.withdrawn_copies().collect::<Vec<_>>(), ids);
    let (_, fresh) = fetch(&app, "").await;
    assert_eq!(cache.seq, fresh.seq);
    assert_eq!(
        entries(&cache),
        entries(&StatusCache::from_full(fresh).unwrap())
    );

    app.stop().await;
    env.finish().await;
}
on_both_backends!(
    chained_deltas_taken_during_concurrent_changes_miss_nothing,
    super::chained_deltas_taken_during_concurrent_changes_miss_nothing
);

/// The property the snapshot's `seq` rests on: an event cannot become visible before an
/// earlier-numbered one, so "everything up to seq" is a state some reader could see.
async fn a_later_event_cannot_commit_before_an_earlier_one(backend: Backend) {
    use zizhi_server::store::{Touches, append_event};
    let env = TestEnv::new(backend).await;
    let app = TestApp::start(env.settings()).await;
    let store = app.server.state.store.clone();
    let detail = serde_json::json!({});
    let mut first = store.begin().await.unwrap();
    append_event(
        &mut first,
        Utc::now(),
        "test",
        "test.first",
        "-",
        Touches::Nothing,
        &detail,
    )
    .await
    .unwrap();
    let s2 = store.clone();
    let second = tokio::spawn(async move {
        let mut tx = s2.begin().await.unwrap();
        append_event(
            &mut tx,
            Utc::now(),
            "test",
            "test.second",
            "-",
            Touches::Nothing,
            &detail,
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
    });
    tokio::time::sleep(std::time::Duration::from_millis(400)).await;
    assert!(
        !second.is_finished(),
        "the second event must wait for the first to commit"
    );
    // Readers are not held up meanwhile, and see neither event.
    let (_, during) = fetch(&app, "").await;
    assert_eq!(during.seq, 0);
    first.commit().await.unwrap();
    second.await.unwrap();
    let actions: Vec<String> = sqlx::query("SELECT action FROM events ORDER BY id")
        .fetch_all(store.pool())
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(actions, ["test.first", "test.second"]);
    let (_, after) = fetch(&app, "").await;
    assert_eq!(after.seq, max_event_id(&app).await);

    app.stop().await;
    env.finish().await;
}
on_both_backends!(
    a_later_event_cannot_commit_before_an_earlier_one,
    super::a_later_event_cannot_commit_before_an_earlier_one
);
