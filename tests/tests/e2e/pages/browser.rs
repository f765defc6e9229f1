//! The pages as a phone shows them: each verdict kind, 详情 expanding, 资质详情 of a
//! certificate, a garbage code, and the lookup with pagination.

use serde_json::{Value, json};
use zizhi_tests::Backend;

use super::{CASES, browse, case, demo_app, qr_path};

fn labels(v: &Value, key: &str) -> Vec<String> {
    v[key]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|l| l.as_str().unwrap_or_default().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

fn check_layout(r: &Value) {
    assert_eq!(r["layout"]["main_width"], 375.0, "{r}");
    assert_eq!(
        r["layout"]["elements_past_edge"], 0,
        "something is wider than the phone: {r}"
    );
    for shot in r["shots"].as_array().unwrap() {
        let p = std::path::Path::new(shot.as_str().unwrap());
        assert!(
            p.metadata().is_ok_and(|m| m.len() > 1000),
            "no screenshot at {}",
            p.display()
        );
    }
}

#[tokio::test]
async fn every_verdict_kind_renders_on_a_phone_and_details_expand() {
    let (env, app, summary) = demo_app(Backend::Sqlite).await;
    let mut steps: Vec<Value> = CASES
        .iter()
        .map(|name| {
            json!({ "op": "open", "name": name, "path": qr_path(&case(&summary, name).qr_text),
                    "expand": true })
        })
        .collect();
    let number = case(&summary, "current_usage")
        .certificate_number
        .to_string();
    steps.push(
        json!({ "op": "open", "name": "certificate", "path": format!("/c/{number}"),
                       "expand": true }),
    );
    steps.push(json!({ "op": "open", "name": "garbage_code", "path": "/V/NOT-A-CODE" }));
    steps.push(
        json!({ "op": "open", "name": "revoked_360px", "width": 360, "expand": true,
                       "path": qr_path(&case(&summary, "revoked").qr_text) }),
    );
    steps.push(json!({ "op": "open", "name": "unknown_certificate", "path": "/c/D999999999" }));
    let r = browse(&app, steps).await;

    for (i, name) in CASES.iter().enumerate() {
        let page = &r[i];
        check_layout(page);
        let (status, v) = app.verify(&case(&summary, name).qr_text).await;
        assert_eq!(status, 200);
        assert_eq!(page["status"], 200, "{name}: {page}");
        assert_eq!(page["level"], v["summary"]["level"], "{name}: {page}");
        assert_eq!(page["title"], v["summary"]["title"], "{name}: {page}");
        assert_eq!(page["desc"], v["summary"]["message"], "{name}: {page}");
        if v["claims"].is_null() {
            // Forged or unknown key: nothing it claims is shown, and no 详情 to expand.
            assert_eq!(page["has_details"], false, "{name}: {page}");
            assert!(
                page["usage"].as_str().unwrap().contains("请勿采信"),
                "{name}"
            );
            continue;
        }
        // Before tapping 详情 only the copy's own rows show; after, all of 资质详情.
        let before = labels(page, "labels_before");
        let after = labels(page, "labels_after");
        assert!(
            !before.contains(&"注册地址".to_owned()),
            "{name}: {before:?}"
        );
        assert_eq!(page["details_open"], true, "{name}: {page}");
        let needed: &[&str] = if v["current_certificate"].is_null() {
            &["企业名称", "统一社会信用代码", "资质类别及等级", "证书状态"]
        } else {
            &[
                "企业名称",
                "注册地址",
                "统一社会信用代码",
                "法定代表人",
                "注册资本",
                "经济性质",
                "证书编号",
                "有效期至",
                "资质类别及等级",
                "发证机关",
                "批准日期",
            ]
        };
        for label in needed {
            assert!(
                after.iter().any(|l| l == label),
                "{name} lacks {label}: {after:?}"
            );
        }
        let quals = page["qualifications"].as_str().unwrap_or_default();
        for q in v["qualifications"].as_array().unwrap() {
            assert!(
                quals.contains(q["item"].as_str().unwrap()),
                "{name}: {quals}"
            );
        }
        let usage = page["usage"].as_str().unwrap();
        match v["claims"]["usage"]["purpose"].as_str() {
            Some(purpose) => {
                assert!(
                    usage.contains(&format!("本使用件仅用于：{purpose}")),
                    "{usage}"
                );
                assert!(usage.contains("使用期限"), "{usage}");
            }
            None => assert!(usage.contains("批准件"), "{usage}"),
        }
    }
    // The outdated print says what changed and which version is current.
    let superseded = &r[CASES.iter().position(|c| *c == "superseded").unwrap()];
    assert!(
        superseded["changes"].as_str().unwrap().contains("升级"),
        "{superseded}"
    );
    // The revoked copy shows the revoked qualification in the live list.
    let revoked = &r[CASES.iter().position(|c| *c == "revoked").unwrap()];
    assert!(
        revoked["qualifications"]
            .as_str()
            .unwrap()
            .contains("已撤销"),
        "{revoked}"
    );

    let cert = &r[CASES.len()];
    check_layout(cert);
    assert_eq!(cert["status"], 200, "{cert}");
    assert_eq!(cert["title"], "证书现行有效", "{cert}");
    assert!(labels(cert, "labels_before").contains(&"注册地址".to_owned()));

    let garbage = &r[CASES.len() + 1];
    assert_eq!(garbage["status"], 400, "{garbage}");
    assert_eq!(garbage["level"], "invalid");
    assert_eq!(garbage["title"], "无法识别的证书验证码");
    let narrow = &r[CASES.len() + 2];
    assert_eq!(narrow["layout"]["main_width"], 360.0, "{narrow}");
    assert_eq!(narrow["layout"]["elements_past_edge"], 0, "{narrow}");
    let unknown = &r[CASES.len() + 3];
    assert_eq!(unknown["status"], 404, "{unknown}");
    assert_eq!(unknown["level"], "invalid");
    eprintln!("screenshots in {}", super::screenshots_dir().display());
    app.stop().await;
    env.finish().await;
}

#[tokio::test]
async fn search_finds_enterprises_by_name_credit_code_and_number_across_pages() {
    let (env, app, summary) = demo_app(Backend::Sqlite).await;
    let number = case(&summary, "current_usage")
        .certificate_number
        .to_string();
    let (_, details) = app.get(&format!("/api/v1/certificates/{number}")).await;
    let name = details["certificate"]["enterprise"]["name"]
        .as_str()
        .unwrap();
    let code = details["certificate"]["enterprise"]["credit_code"]
        .as_str()
        .unwrap();
    let (_, all) = app.get("/api/v1/enterprises?q=工程&per_page=50").await;
    let total = all["total"].as_u64().unwrap();
    assert!(
        total > 10,
        "the demo needs more than one page of 工程: {all}"
    );
    let r = browse(
        &app,
        vec![
            json!({ "op": "search", "name": "search_by_name", "query": "工程", "next": true }),
            json!({ "op": "search", "name": "search_by_credit_code", "query": code.to_lowercase(),
                    "open_first": true }),
            json!({ "op": "search", "name": "search_by_number", "query": number }),
            json!({ "op": "search", "name": "search_nothing_found", "query": "不存在的企业甲乙丙" }),
        ],
    )
    .await;
    for page in &r {
        check_layout(page);
        assert_eq!(page["status"], 200, "{page}");
    }

    let by_name = &r[0];
    let pages = total.div_ceil(10);
    assert_eq!(
        by_name["summary"],
        format!("共找到 {total} 家企业 · 第 1/{pages} 页"),
        "{by_name}"
    );
    let first: Vec<&str> = by_name["names"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_str().unwrap())
        .collect();
    assert_eq!(first.len(), 10);
    assert!(first.iter().all(|n| n.contains("工程")), "{first:?}");
    let next = &by_name["next"];
    assert_eq!(
        next["summary"],
        format!("共找到 {total} 家企业 · 第 2/{pages} 页"),
        "{next}"
    );
    assert!(next["url"].as_str().unwrap().contains("page=2"));
    for n in next["names"].as_array().unwrap() {
        assert!(!first.contains(&n.as_str().unwrap()), "page 2 repeats {n}");
    }

    let by_code = &r[1];
    assert_eq!(by_code["names"], json!([name]), "{by_code}");
    assert!(
        by_code["opened"]["url"].as_str().unwrap().contains("/c/"),
        "{by_code}"
    );
    let by_number = &r[2];
    assert_eq!(by_number["names"], json!([name]), "{by_number}");
    assert!(
        by_number["certificates"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c.as_str().unwrap().starts_with(&number)),
        "{by_number}"
    );
    assert_eq!(r[3]["title"], "未找到相关企业", "{}", r[3]);
    app.stop().await;
    env.finish().await;
}
