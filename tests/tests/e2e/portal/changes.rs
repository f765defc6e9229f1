//! 变更申请 in the issuer console over plain HTTP (no browser): for every act the guide names
//! (升级、降级、增项、暂扣、恢复、吊销、注销、撤销、撤回、信息变更) a clerk records it with its legal
//! basis and effective date, another person approves it, and the register shows it — a new
//! certificate version, an older usage copy that verifies as superseded (or revoked, or
//! cancelled), the event log naming the clerk, the approver and the legal term. Then the
//! refusals, each with its code, each leaving the register as it was.

use chrono::{Days, NaiveDate};
use serde_json::{Value, json};
use zizhi_server::accounts::Role;
use zizhi_tests::{Backend, TestApp, TestEnv, credit_code, enterprise_json, on_both_backends};

use super::sessions::{Answer, Person, signed_in, staff};
use super::verdict;

impl Person {
    /// Records a request through the form at `path`; its id.
    async fn record(&mut self, app: &TestApp, path: &str, fields: &[(&str, &str)]) -> i64 {
        let before = newest_request(app).await;
        let r = self.submit(path, fields).await;
        assert_eq!(r.status, 303, "{path} {fields:?}: {}", r.body);
        assert_eq!(
            r.location.as_deref(),
            Some("/console/changes?done=recorded")
        );
        let id = newest_request(app).await;
        assert!(id > before, "a new request");
        id
    }

    /// Posts approve (or reject) on the change list, as its button does.
    async fn decide(&mut self, id: i64, how: &str) -> Answer {
        let list = self.get("/console/changes").await;
        assert_eq!(list.status, 200);
        let at = list.body.find("name=\"csrf\" value=\"");
        let csrf = at.map_or(String::new(), |at| {
            let rest = &list.body[at + "name=\"csrf\" value=\"".len()..];
            rest[..rest.find('"').unwrap()].to_owned()
        });
        let csrf = if csrf.is_empty() {
            // A clerk's list has no decision buttons: take the token of any console form.
            self.token("/console/enterprises/new").await
        } else {
            csrf
        };
        self.post(&format!("/console/changes/{id}/{how}"), &[("csrf", &csrf)])
            .await
    }

    async fn token(&mut self, path: &str) -> String {
        let page = self.get(path).await;
        let at = page.body.find("name=\"csrf\" value=\"").expect("a form") + 19;
        page.body[at..][..page.body[at..].find('"').unwrap()].to_owned()
    }
}

/// A form's fields, as posted.
type Fields<'a> = Vec<(&'a str, &'a str)>;

async fn newest_request(app: &TestApp) -> i64 {
    let all = app.server.state.store.change_requests(1000).await.unwrap();
    all.iter().map(|r| r.id).max().unwrap_or(0)
}

/// An enterprise whose certificate was approved `days_ago` with 建筑工程施工总承包 二级 and
/// 市政公用工程施工总承包 三级.
async fn enterprise(app: &TestApp, name: &str, stem17: &str, days_ago: u64) -> (String, String) {
    let code = credit_code(stem17);
    let (s, b) = app
        .issuer(
            "POST",
            "/api/v1/issuer/enterprises",
            Some(enterprise_json(name, &code)),
        )
        .await;
    assert_eq!(s, 201, "{b}");
    let today = zizhi_tests::today();
    let mut number = String::new();
    for (item, grade) in [
        ("建筑工程施工总承包", "二级"),
        ("市政公用工程施工总承包", "三级"),
    ] {
        let (s, b) = app
            .issuer(
                "POST",
                &format!("/api/v1/issuer/enterprises/{code}/qualifications"),
                Some(json!({
                    "category": "construction", "item": item, "grade": grade,
                    "approved_on": (today - Days::new(days_ago)).to_string(),
                    "valid_until": (today + Days::new(365 * 4)).to_string(),
                })),
            )
            .await;
        assert_eq!(s, 201, "{b}");
        number = b["certificate_number"].as_str().unwrap().to_owned();
    }
    (code, number)
}

/// 资质详情 of a certificate, from the public API.
async fn details(app: &TestApp, number: &str) -> Value {
    let (s, b) = app.get(&format!("/api/v1/certificates/{number}")).await;
    assert_eq!(s, 200, "{b}");
    b
}

async fn version(app: &TestApp, number: &str) -> u64 {
    details(app, number).await["current_version"]
        .as_u64()
        .unwrap()
}

async fn copy(app: &TestApp, number: &str, purpose: &str) -> u64 {
    zizhi_tests::usage_copy(app, number, purpose).await["id"]
        .as_u64()
        .expect("copy id")
}

async fn events(app: &TestApp) -> Vec<Value> {
    let (s, b) = app
        .issuer("GET", "/api/v1/issuer/events?limit=1000", None)
        .await;
    assert_eq!(s, 200, "{b}");
    b.as_array().unwrap().clone()
}

/// The request's record (by the clerk) and approval (by the approver) are logged with its
/// legal term and effective date.
async fn assert_logged(app: &TestApp, id: i64, term: &str, effective_on: NaiveDate) {
    let all = events(app).await;
    let of = |action: &str| {
        all.iter()
            .find(|e| e["action"] == action && e["detail"]["request_id"] == id)
            .unwrap_or_else(|| panic!("no {action} of request {id}"))
            .clone()
    };
    let recorded = of("change_request.record");
    assert_eq!(recorded["actor"], "issuer:zhang.clerk", "{recorded}");
    assert_eq!(recorded["detail"]["legal_term"], term, "{recorded}");
    assert_eq!(
        recorded["detail"]["effective_on"],
        effective_on.to_string(),
        "{recorded}"
    );
    let approved = of("change_request.approve");
    assert_eq!(approved["actor"], "issuer:wang.approver", "{approved}");
    assert_eq!(approved["detail"]["legal_term"], term, "{approved}");
    assert_eq!(
        approved["detail"]["recorded_by"], "issuer:zhang.clerk",
        "{approved}"
    );
    assert_eq!(
        approved["detail"]["effective_on"],
        effective_on.to_string(),
        "{approved}"
    );
}

/// The change list's row of a request: its act, term, basis and effective date are shown.
async fn assert_listed(
    who: &mut Person,
    id: i64,
    code: &str,
    term: &str,
    basis: &str,
    on: NaiveDate,
) {
    let list = who.get("/console/changes").await;
    assert_eq!(list.status, 200);
    let at = list
        .body
        .find(&format!("data-request=\"{id}\""))
        .unwrap_or_else(|| panic!("request {id} listed"));
    let row = &list.body[at..at + list.body[at..].find("</tr>").unwrap()];
    assert!(row.contains(&format!("data-act=\"{code}\"")), "{row}");
    assert!(row.contains(&format!("<td>{term}</td>")), "{row}");
    assert!(row.contains(basis), "{row}");
    assert!(
        row.contains(&format!("data-effective-on=\"{on}\"")),
        "{row}"
    );
}

struct Scene {
    env: TestEnv,
    app: TestApp,
    clerk: Person,
    approver: Person,
}

async fn scene(backend: Backend) -> Scene {
    let env = TestEnv::new(backend).await;
    let mut settings = env.settings();
    settings.portal.demo = true;
    let app = TestApp::start(settings).await;
    let clerk = staff(&app, "zhang.clerk", Role::Clerk, "张经办").await;
    let approver = staff(&app, "wang.approver", Role::Approver, "王审批").await;
    let clerk = signed_in(&app, &clerk).await;
    let approver = signed_in(&app, &approver).await;
    Scene {
        env,
        app,
        clerk,
        approver,
    }
}

async fn every_kind(backend: Backend) {
    let Scene {
        env,
        app,
        mut clerk,
        mut approver,
    } = scene(backend).await;
    let (code, number) =
        enterprise(&app, "上海申衡建设工程有限公司", "91310000MA1FX0001", 30).await;
    let today = zizhi_tests::today();
    let qid = |item: &'static str| {
        let (app, number) = (&app, number.clone());
        async move { zizhi_tests::qualification_id(app, &number, item).await }
    };
    let shizheng = qid("市政公用工程施工总承包").await;

    // The enterprise page links to the 增项 and 信息变更 forms.
    let page = clerk.get(&format!("/console/enterprises/{code}")).await;
    assert_eq!(page.status, 200);
    assert!(
        page.body
            .contains(&format!("/console/enterprises/{code}/add-item"))
    );
    assert!(
        page.body
            .contains(&format!("/console/enterprises/{code}/info-change"))
    );

    // One qualification's changes, each approved, each with an older copy that is superseded.
    let steps: [(&str, &str, Option<&str>, &str, u64); 4] = [
        ("upgrade", "升级", Some("二级"), "沪建建管〔2026〕101号", 0),
        (
            "downgrade",
            "降级",
            Some("三级"),
            "沪建建管〔2026〕102号",
            2,
        ),
        ("suspend", "暂扣", None, "沪建罚〔2026〕103号", 0),
        ("reinstate", "恢复", None, "沪建建管〔2026〕104号", 0),
    ];
    for (action, term, grade, basis, days_back) in steps {
        let old = copy(&app, &number, &format!("{term}前的投标")).await;
        let before = version(&app, &number).await;
        let on = today - Days::new(days_back);
        let on_text = on.to_string();
        let mut fields = vec![
            ("action", action),
            ("basis", basis),
            ("effective_on", on_text.as_str()),
        ];
        if let Some(g) = grade {
            fields.push(("grade", g));
        }
        let id = clerk
            .record(
                &app,
                &format!("/console/qualifications/{shizheng}/change"),
                &fields,
            )
            .await;
        assert_eq!(
            version(&app, &number).await,
            before,
            "{term}: nothing before approval"
        );
        assert_listed(&mut approver, id, action, term, basis, on).await;
        let a = approver.decide(id, "approve").await;
        assert_eq!(a.status, 303, "{term}: {}", a.body);
        let d = details(&app, &number).await;
        assert_eq!(d["current_version"], before + 1, "{term}: {d}");
        let note = d["versions"].as_array().unwrap().last().unwrap()["note"]
            .as_str()
            .unwrap()
            .to_owned();
        assert!(
            note.starts_with(term) && note.contains(basis),
            "{term}: {note}"
        );
        let (signature, state, _) = verdict(&app, old).await;
        assert_eq!(
            (signature.as_str(), state.as_str()),
            ("valid", "superseded"),
            "{term}"
        );
        assert_logged(&app, id, term, on).await;
        let q = d["qualifications"]
            .as_array()
            .unwrap()
            .iter()
            .find(|q| q["id"] == shizheng)
            .unwrap()
            .clone();
        let (want_grade, want_status) = match action {
            "upgrade" => ("二级", "active"),
            "suspend" => ("三级", "suspended"),
            _ => ("三级", "active"),
        };
        assert_eq!(
            (q["grade"].as_str(), q["status"].as_str()),
            (Some(want_grade), Some(want_status)),
            "{term}: {q}"
        );
    }

    // 增项, effective five days ago: the new qualification's approval date is that day.
    for (item, grade, basis) in [
        ("机电工程施工总承包", "三级", "沪建建管〔2026〕105号"),
        ("钢结构工程专业承包", "二级", "沪建建管〔2026〕106号"),
    ] {
        let old = copy(&app, &number, &format!("增项{item}前的投标")).await;
        let before = version(&app, &number).await;
        let on = today - Days::new(5);
        let id = clerk
            .record(
                &app,
                &format!("/console/enterprises/{code}/add-item"),
                &[
                    ("category", "construction"),
                    ("item", item),
                    ("grade", grade),
                    ("basis", basis),
                    ("effective_on", &on.to_string()),
                ],
            )
            .await;
        assert_listed(&mut approver, id, "add_item", "增项", basis, on).await;
        assert_eq!(version(&app, &number).await, before);
        let a = approver.decide(id, "approve").await;
        assert_eq!(a.status, 303, "{}", a.body);
        let d = details(&app, &number).await;
        assert_eq!(d["current_version"], before + 1, "{d}");
        let added = d["qualifications"]
            .as_array()
            .unwrap()
            .iter()
            .find(|q| q["item"] == item)
            .unwrap_or_else(|| panic!("{item} added: {d}"))
            .clone();
        assert_eq!(added["grade"], grade);
        assert_eq!(added["status"], "active");
        assert_eq!(added["granted_on"], on.to_string(), "{added}");
        assert_eq!(d["certificate"]["approved_on"], on.to_string());
        let printed = d["certificate"]["qualifications"].to_string();
        assert!(
            printed.contains(item),
            "the new version prints it: {printed}"
        );
        let (_, state, _) = verdict(&app, old).await;
        assert_eq!(state, "superseded");
        assert_logged(&app, id, "增项", on).await;
    }

    // 信息变更: the new name is on the new version; the old copy is superseded.
    let old = copy(&app, &number, "更名前的投标").await;
    let before = version(&app, &number).await;
    let id = clerk
        .record(
            &app,
            &format!("/console/enterprises/{code}/info-change"),
            &[
                ("name", "上海申衡建设集团有限公司"),
                ("address", "上海市浦东新区世纪大道100号"),
                ("legal_representative", "陈立"),
                ("registered_capital_wan", "12000"),
                ("economic_nature", "有限责任公司"),
                ("basis", "沪市监准字〔2026〕第107号"),
            ],
        )
        .await;
    assert_listed(
        &mut approver,
        id,
        "enterprise_info",
        "信息变更",
        "第107号",
        today,
    )
    .await;
    let list = approver.get("/console/changes").await;
    assert!(
        list.body
            .contains("企业名称：上海申衡建设工程有限公司 → 上海申衡建设集团有限公司"),
        "the list shows what changes"
    );
    assert_eq!(version(&app, &number).await, before);
    let a = approver.decide(id, "approve").await;
    assert_eq!(a.status, 303, "{}", a.body);
    let d = details(&app, &number).await;
    assert_eq!(d["current_version"], before + 1);
    let e = &d["certificate"]["enterprise"];
    assert_eq!(e["name"], "上海申衡建设集团有限公司", "{e}");
    assert_eq!(e["legal_representative"], "陈立", "{e}");
    assert_eq!(e["registered_capital_wan"], "12000", "{e}");
    let (_, state, _) = verdict(&app, old).await;
    assert_eq!(state, "superseded");
    assert_logged(&app, id, "信息变更", today).await;

    // 吊销, 撤销, 撤回: three recorded acts; each copy printing the qualification is revoked.
    for (item, action, term, basis) in [
        (
            "机电工程施工总承包",
            "revoke_penalty",
            "吊销",
            "沪建罚〔2026〕108号",
        ),
        (
            "市政公用工程施工总承包",
            "revoke",
            "撤销",
            "沪建建管〔2026〕109号",
        ),
        (
            "钢结构工程专业承包",
            "withdraw",
            "撤回",
            "沪建建管〔2026〕110号",
        ),
    ] {
        let q = qid(item).await;
        let old = copy(&app, &number, &format!("{term}前的投标")).await;
        let before = version(&app, &number).await;
        let id = clerk
            .record(
                &app,
                &format!("/console/qualifications/{q}/change"),
                &[("action", action), ("basis", basis)],
            )
            .await;
        assert_listed(&mut approver, id, action, term, basis, today).await;
        let a = approver.decide(id, "approve").await;
        assert_eq!(a.status, 303, "{term}: {}", a.body);
        let d = details(&app, &number).await;
        assert_eq!(d["current_version"], before + 1, "{term}");
        let note = d["versions"].as_array().unwrap().last().unwrap()["note"]
            .as_str()
            .unwrap()
            .to_owned();
        assert!(note.starts_with(&format!("{term}：{item}")), "{note}");
        let (signature, state, _) = verdict(&app, old).await;
        assert_eq!(
            (signature.as_str(), state.as_str()),
            ("valid", "revoked"),
            "{term}"
        );
        assert_logged(&app, id, term, today).await;
        let all = events(&app).await;
        assert!(
            all.iter().any(|e| e["action"] == "qualification.revoke"
                && e["actor"] == "issuer:wang.approver"
                && e["detail"]["qualification_id"] == q
                && e["detail"]["legal_term"] == term),
            "{term}: the register's change names the act"
        );
    }

    // 注销 of the last qualification: nothing left in force, the old copy is cancelled.
    let q = qid("建筑工程施工总承包").await;
    let old = copy(&app, &number, "注销前的投标").await;
    let id = clerk
        .record(
            &app,
            &format!("/console/qualifications/{q}/change"),
            &[
                ("action", "cancel"),
                ("basis", "企业申请注销（2026-11-20）"),
            ],
        )
        .await;
    let a = approver.decide(id, "approve").await;
    assert_eq!(a.status, 303, "{}", a.body);
    let d = details(&app, &number).await;
    assert_eq!(d["standing"], "cancelled", "{d}");
    assert!(d["certificate"].is_null(), "nothing to download: {d}");
    let (_, state, _) = verdict(&app, old).await;
    assert_eq!(state, "cancelled");
    assert_logged(&app, id, "注销", today).await;

    app.stop().await;
    env.finish().await;
}

on_both_backends!(
    every_change_the_guide_names_is_recorded_approved_and_reissues_the_certificate,
    super::every_kind
);

async fn refusals(backend: Backend) {
    let Scene {
        env,
        app,
        mut clerk,
        mut approver,
    } = scene(backend).await;
    let (code, number) =
        enterprise(&app, "上海申宁建设工程有限公司", "91310000MA1FX0002", 10).await;
    let today = zizhi_tests::today();
    let shizheng = zizhi_tests::qualification_id(&app, &number, "市政公用工程施工总承包").await;
    let change = format!("/console/qualifications/{shizheng}/change");
    let add_item = format!("/console/enterprises/{code}/add-item");
    let info = format!("/console/enterprises/{code}/info-change");
    let start = version(&app, &number).await;
    let requests = newest_request(&app).await;

    // Refused at record time, each with its code; nothing recorded.
    let tomorrow = (today + Days::new(1)).to_string();
    let far = (today + Days::new(181)).to_string();
    let long_ago = (today - Days::new(31)).to_string();
    // The certificate was approved ten days ago (UTC date): a day before is within the span.
    let before_approval = (zizhi_tests::today() - Days::new(11)).to_string();
    let long_grade = "一二三四五六七八九十一";
    let cases: Vec<(&str, Fields, u16, &str)> = vec![
        (
            change.as_str(),
            vec![
                ("action", "upgrade"),
                ("grade", long_grade),
                ("basis", "甲"),
            ],
            400,
            "field_too_long",
        ),
        (
            change.as_str(),
            vec![("action", "downgrade"), ("grade", "二级"), ("basis", "甲")],
            400,
            "grade_direction",
        ),
        (
            change.as_str(),
            vec![("action", "upgrade"), ("basis", "甲")],
            400,
            "grade_required",
        ),
        (
            change.as_str(),
            vec![("action", "reinstate"), ("basis", "甲")],
            409,
            "qualification_state",
        ),
        (
            change.as_str(),
            vec![("action", "revoke_all"), ("basis", "甲")],
            400,
            "unknown_action",
        ),
        (
            change.as_str(),
            vec![("action", "add_item"), ("basis", "甲")],
            400,
            "unknown_action",
        ),
        (
            change.as_str(),
            vec![("action", "suspend"), ("basis", "")],
            400,
            "label_invalid",
        ),
        (
            change.as_str(),
            vec![
                ("action", "suspend"),
                ("basis", "甲"),
                ("effective_on", far.as_str()),
            ],
            400,
            "effective_on_too_late",
        ),
        (
            change.as_str(),
            vec![
                ("action", "suspend"),
                ("basis", "甲"),
                ("effective_on", long_ago.as_str()),
            ],
            400,
            "effective_on_too_early",
        ),
        (
            change.as_str(),
            vec![
                ("action", "suspend"),
                ("basis", "甲"),
                ("effective_on", "2026-13-01"),
            ],
            400,
            "effective_on_invalid",
        ),
        (
            add_item.as_str(),
            vec![
                ("category", "construction"),
                ("item", "机电工程施工总承包"),
                ("grade", long_grade),
                ("basis", "甲"),
            ],
            400,
            "field_too_long",
        ),
        (
            add_item.as_str(),
            vec![
                ("category", "construction"),
                ("item", "机电\u{7}工程"),
                ("grade", "三级"),
                ("basis", "甲"),
            ],
            400,
            "control_character",
        ),
        (
            add_item.as_str(),
            vec![
                ("category", "nonsense"),
                ("item", "机电工程施工总承包"),
                ("grade", "三级"),
                ("basis", "甲"),
            ],
            400,
            "unknown_category",
        ),
        (
            add_item.as_str(),
            vec![
                ("category", "design"),
                ("item", "建筑行业（建筑工程）"),
                ("grade", "甲级"),
                ("basis", "甲"),
            ],
            422,
            "no_certificate_of_category",
        ),
        (
            add_item.as_str(),
            vec![
                ("category", "construction"),
                ("item", "市政公用工程施工总承包"),
                ("grade", "二级"),
                ("basis", "甲"),
            ],
            409,
            "qualification_exists",
        ),
        (
            add_item.as_str(),
            vec![
                ("category", "construction"),
                ("item", "机电工程施工总承包"),
                ("grade", "三级"),
                ("basis", "甲"),
                ("effective_on", before_approval.as_str()),
            ],
            400,
            "effective_before_approval",
        ),
        (
            info.as_str(),
            vec![
                ("name", "上海申宁建设工程有限公司"),
                ("address", "上海市浦东新区世纪大道100号"),
                ("legal_representative", "王\u{E000}"),
                ("registered_capital_wan", "5000"),
                ("economic_nature", "有限责任公司"),
                ("basis", "甲"),
            ],
            400,
            "unusable_character",
        ),
        (
            info.as_str(),
            vec![
                ("name", "上海申宁建设工程有限公司"),
                ("address", "上海市浦东新区世纪大道100号"),
                ("legal_representative", "王伟"),
                ("registered_capital_wan", "-5"),
                ("economic_nature", "有限责任公司"),
                ("basis", "甲"),
            ],
            400,
            "negative_capital",
        ),
    ];
    for (path, fields, status, code) in &cases {
        let r = clerk.submit(path, fields).await;
        assert_eq!(
            (r.status, r.error()),
            (*status, Some(*code)),
            "{path} {fields:?}: {}",
            r.body
        );
    }
    // The enterprise block as it stands: no change to record.
    let e = details(&app, &number).await["certificate"]["enterprise"].clone();
    let same: Vec<(&str, &str)> = [
        "name",
        "address",
        "legal_representative",
        "registered_capital_wan",
        "economic_nature",
    ]
    .iter()
    .map(|k| (*k, e[*k].as_str().unwrap()))
    .chain([("basis", "甲")])
    .collect();
    let r = clerk.submit(&info, &same).await;
    assert_eq!(
        (r.status, r.error()),
        (400, Some("enterprise_unchanged")),
        "{}",
        r.body
    );
    assert_eq!(newest_request(&app).await, requests, "nothing was recorded");

    // A form without its CSRF token is refused before any handler.
    let r = clerk
        .post(
            &change,
            &[("action", "suspend"), ("basis", "沪建罚〔2026〕201号")],
        )
        .await;
    assert_eq!(
        (r.status, r.error()),
        (403, Some("csrf_invalid")),
        "{}",
        r.body
    );
    assert_eq!(newest_request(&app).await, requests, "nothing was recorded");

    // A clerk cannot approve; nor an approver their own request; nor anyone before the
    // effective date. The request stays pending and the certificate as it was.
    let suspend = clerk
        .record(
            &app,
            &change,
            &[("action", "suspend"), ("basis", "沪建罚〔2026〕202号")],
        )
        .await;
    let r = clerk.decide(suspend, "approve").await;
    assert_eq!(
        (r.status, r.error()),
        (403, Some("role_required")),
        "{}",
        r.body
    );
    let own = approver
        .record(
            &app,
            &change,
            &[("action", "suspend"), ("basis", "沪建罚〔2026〕203号")],
        )
        .await;
    let r = approver.decide(own, "approve").await;
    assert_eq!(
        (r.status, r.error()),
        (422, Some("own_request")),
        "{}",
        r.body
    );
    let later = clerk
        .record(
            &app,
            &change,
            &[
                ("action", "cancel"),
                ("basis", "沪建建管〔2026〕204号"),
                ("effective_on", &tomorrow),
            ],
        )
        .await;
    let list = approver.get("/console/changes").await;
    assert!(
        !list
            .body
            .contains(&format!("/console/changes/{later}/approve")),
        "no approve button before the effective date"
    );
    let r = approver.decide(later, "approve").await;
    assert_eq!(
        (r.status, r.error()),
        (422, Some("not_yet_effective")),
        "{}",
        r.body
    );
    assert!(r.body.contains("生效日期未到"), "{}", r.body);
    assert_eq!(version(&app, &number).await, start, "nothing changed");
    let store = &app.server.state.store;
    for id in [suspend, own, later] {
        assert_eq!(
            store.change_request(id).await.unwrap().decision,
            None,
            "{id}"
        );
    }

    // A failure while the change is made leaves nothing half-written: the issuer API revokes
    // the qualification meanwhile, so the approved suspension cannot be made; the request is
    // still pending.
    let (s, b) = app
        .issuer(
            "POST",
            &format!("/api/v1/issuer/qualifications/{shizheng}/revoke"),
            Some(json!({ "note": "核查不合格" })),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    let revoked = version(&app, &number).await;
    let r = approver.decide(suspend, "approve").await;
    assert_eq!(
        (r.status, r.error()),
        (409, Some("qualification_state")),
        "{}",
        r.body
    );
    assert_eq!(store.change_request(suspend).await.unwrap().decision, None);
    assert_eq!(version(&app, &number).await, revoked);

    // 信息变更 over a block changed meanwhile is refused, not silently overwritten.
    let id = clerk
        .record(
            &app,
            &info,
            &[
                ("name", "上海申宁建设集团有限公司"),
                ("address", e["address"].as_str().unwrap()),
                (
                    "legal_representative",
                    e["legal_representative"].as_str().unwrap(),
                ),
                (
                    "registered_capital_wan",
                    e["registered_capital_wan"].as_str().unwrap(),
                ),
                ("economic_nature", e["economic_nature"].as_str().unwrap()),
                ("basis", "沪市监准字〔2026〕第205号"),
            ],
        )
        .await;
    let mut put = enterprise_json("上海申宁建设工程有限公司", &code);
    put["address"] = json!("上海市黄浦区中山东一路1号");
    let (s, b) = app
        .issuer(
            "PUT",
            &format!("/api/v1/issuer/enterprises/{code}"),
            Some(put),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    let moved = version(&app, &number).await;
    let r = approver.decide(id, "approve").await;
    assert_eq!(
        (r.status, r.error()),
        (409, Some("enterprise_changed_since_request")),
        "{}",
        r.body
    );
    assert_eq!(version(&app, &number).await, moved);
    let name = details(&app, &number).await["certificate"]["enterprise"]["name"].clone();
    assert_eq!(name, "上海申宁建设工程有限公司");

    // A decided request cannot be decided again.
    let r = approver.decide(id, "reject").await;
    assert_eq!(r.status, 303, "{}", r.body);
    let r = approver.decide(id, "approve").await;
    assert_eq!(
        (r.status, r.error()),
        (409, Some("change_request_decided")),
        "{}",
        r.body
    );
    let r = approver.decide(id, "reject").await;
    assert_eq!(
        (r.status, r.error()),
        (409, Some("change_request_decided")),
        "{}",
        r.body
    );
    assert_eq!(
        store.change_request(id).await.unwrap().decision.as_deref(),
        Some("rejected")
    );
    assert_eq!(version(&app, &number).await, moved);

    app.stop().await;
    env.finish().await;
}

on_both_backends!(
    change_requests_are_refused_with_precise_codes_and_leave_the_register_as_it_was,
    super::refusals
);
