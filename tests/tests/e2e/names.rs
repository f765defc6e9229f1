//! Legal names with characters outside GB 2312 (生僻字: GBK-only, CJK Extensions A–H,
//! compatibility ideographs; `assets/demo/rare-names.txt`) through every step: registered as
//! entered, printed (`pdftotext` gives the register's text back, no glyph is `.notdef`, every
//! font embedded and subset, the signature valid), scanned off the page, verified, shown on
//! the H5 page, answered in chat and found by search; and what the register refuses, at entry
//! and naming the character, so that issuance never fails over a name.

use serde_json::{Value, json};
use zizhi_documents::sample::rare_names;
use zizhi_tests::{
    Backend, TestApp, TestEnv, credit_code, enterprise_json, on_both_backends, usage_copy,
};

use crate::documents::{download, enrol, enterprise_usage_copy, tools, validators};

/// The characters of `s` a clerk would type to find the name: those outside the unified
/// ideographs' block (Extension A and beyond, compatibility ideographs) and the GBK-only ones
/// of the sample set; the other hanzi of the names are all in GB 2312.
fn rare_part(s: &str) -> String {
    s.chars()
        .filter(|&c| {
            !c.is_ascii() && (!('\u{4E00}'..='\u{9FFF}').contains(&c) || "喆堃".contains(c))
        })
        .collect()
}

/// An enterprise whose name or legal representative is `name`; returns (credit code, the
/// enterprise name, the legal representative, certificate number).
async fn register(app: &TestApp, i: usize, name: &str) -> (String, String, String, String) {
    let (ent_name, legal) = if name.ends_with("公司") {
        (name.to_owned(), "沈\u{4DAE}".to_owned())
    } else {
        (format!("上海{name}建设工程有限公司"), name.to_owned())
    };
    let code = credit_code(&format!("91310000MA1RN{i:04}"));
    let mut body = enterprise_json(&ent_name, &code);
    body["legal_representative"] = json!(legal);
    let (s, b) = app
        .issuer("POST", "/api/v1/issuer/enterprises", Some(body))
        .await;
    assert_eq!(s, 201, "{name}: {b}");
    // Kept exactly as entered, compatibility ideographs included.
    assert_eq!(b["name"], ent_name.as_str(), "{b}");
    assert_eq!(b["legal_representative"], legal.as_str(), "{b}");
    let today = zizhi_tests::today();
    let (s, b) = app
        .issuer(
            "POST",
            &format!("/api/v1/issuer/enterprises/{code}/qualifications"),
            Some(json!({
                "category": "construction",
                "item": "建筑工程施工总承包",
                "grade": "二级",
                "approved_on": (today - chrono::Duration::days(30)).to_string(),
                "valid_until": (today + chrono::Duration::days(365 * 4)).to_string(),
            })),
        )
        .await;
    assert_eq!(s, 201, "{b}");
    let number = b["certificate_number"].as_str().unwrap().to_owned();
    (code, ent_name, legal, number)
}

fn no_space(s: &str) -> String {
    s.chars().filter(|c| !c.is_whitespace()).collect()
}

async fn every_name_prints_scans_verifies_shows_answers_and_is_found(backend: Backend) {
    let env = TestEnv::new(backend).await;
    let app = TestApp::start(crate::chat::with_chat(env.settings())).await;
    let v = validators(&app, &env).await;
    let mut families: Vec<String> = Vec::new();
    let mut chat_steps = Vec::new();
    let mut chat_want = Vec::new();
    for (i, (what, name)) in rare_names().into_iter().enumerate() {
        let (code, ent_name, legal, number) = register(&app, i, name).await;
        // The enterprise makes the usage copy and signs it, as in use.
        let token = enrol(&app, &code).await;
        let purpose = format!("{legal}委托的工程投标");
        let copy = enterprise_usage_copy(&app, &token, &number, &purpose).await;
        let qr_text = copy["qr_text"].as_str().unwrap().to_owned();

        // Printed: the text comes back exactly, nothing is a box, the fonts are embedded.
        let (s, pdf) = download(&app, &token, copy["pdf"].as_str().unwrap()).await;
        assert_eq!(s, 200, "{what}");
        let file = v.write(&format!("rare-{i}.pdf"), &pdf);
        let text = tools::pdftotext(&file);
        for want in [&ent_name, &legal, &purpose] {
            assert!(
                text.contains(&no_space(want)),
                "{what}: {want} not in {text}"
            );
        }
        assert_eq!(tools::notdef_glyphs(&pdf), 0, "{what}: .notdef drawn");
        let fonts = tools::pdffonts(&file);
        assert!(
            fonts.iter().all(|(_, emb, sub)| *emb && *sub),
            "{what}: {fonts:?}"
        );
        families.extend(fonts.into_iter().map(|(n, _, _)| n));
        let sig = v.pdfsig(&file);
        assert_eq!(
            (sig.signatures, sig.valid),
            (2, 2),
            "{what}: {}",
            sig.report
        );
        // The preview is the same page rasterised by the server.
        let (s, png) = download(&app, &token, copy["png"].as_str().unwrap()).await;
        assert!(s == 200 && png.starts_with(b"\x89PNG"), "{what}");

        // Scanned off the printed page, verified, shown.
        assert_eq!(tools::qr_codes_on_page(&file, 150), vec![qr_text.clone()]);
        let (s, verdict) = app.verify(&qr_text).await;
        assert_eq!(s, 200, "{verdict}");
        assert_eq!(verdict["summary"]["level"], "valid", "{what}: {verdict}");
        assert!(verdict.to_string().contains(&ent_name), "{what}: {verdict}");
        let page = app
            .client
            .get(app.url(&crate::pages::qr_path(&qr_text)))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(page.contains(&ent_name), "{what}: H5 page lacks {ent_name}");

        // Found by the characters a clerk would type, the rare ones.
        let fragment = rare_part(&ent_name);
        assert!(!fragment.is_empty() || what == "GB 2312", "{what}");
        let fragment = if fragment.is_empty() {
            ent_name.clone()
        } else {
            fragment
        };
        let (s, found) = app.get(&format!("/api/v1/enterprises?q={fragment}")).await;
        assert_eq!(s, 200, "{found}");
        let names: Vec<&str> = found["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["name"].as_str().unwrap())
            .collect();
        assert!(
            names.contains(&ent_name.as_str()),
            "{what}: {fragment} → {names:?}"
        );

        // Chat takes a name keyword of two characters or more: a lone rare character goes
        // with the one before it in the name.
        let keyword = if fragment.chars().count() >= 2 {
            fragment.clone()
        } else {
            let chars: Vec<char> = ent_name.chars().collect();
            let at = chars.iter().position(|c| fragment.starts_with(*c)).unwrap();
            chars[at.saturating_sub(1)..=at].iter().collect()
        };
        chat_steps.push(crate::chat::post(
            "aes",
            crate::chat::text(&keyword, crate::chat::msg_id()),
        ));
        chat_want.push((what, ent_name));
    }
    // Each character went to a face that has it: the chain's fallbacks were all used.
    for family in ["HanaMinA", "HanaMinB", "BabelStoneHan"] {
        assert!(
            families.iter().any(|f| f.ends_with(&format!("+{family}"))),
            "{family} never embedded: {families:?}"
        );
    }

    // The official account answers a fragment with the name, as entered.
    let replies = crate::chat::peer(&app, chat_steps).await;
    for (r, (what, ent_name)) in replies.iter().zip(&chat_want) {
        assert_eq!(r["status"], 200, "{r}");
        assert!(r.to_string().contains(ent_name.as_str()), "{what}: {r}");
    }
    app.stop().await;
    env.finish().await;
}
on_both_backends!(
    every_name,
    super::every_name_prints_scans_verifies_shows_answers_and_is_found
);

/// A compatibility ideograph is kept as entered, and search folds it: the unified form an
/// input method gives finds the name, and so does the compatibility form itself.
async fn compatibility_ideographs_are_found_by_their_unified_form(backend: Backend) {
    let env = TestEnv::new(backend).await;
    let app = TestApp::start(env.settings()).await;
    let name = "上海\u{F900}\u{2F800}装饰工程有限公司";
    let code = credit_code("91310000MA1RC0001");
    let (s, b) = app
        .issuer(
            "POST",
            "/api/v1/issuer/enterprises",
            Some(enterprise_json(name, &code)),
        )
        .await;
    assert_eq!((s, b["name"].as_str()), (201, Some(name)), "{b}");
    // Entered decomposed (e + U+0301), kept composed: one form for one name.
    let mut renamed = enterprise_json("上海Jose\u{301}装饰工程有限公司", &code);
    renamed["legal_representative"] = json!("王\u{F900}");
    let (s, b) = app
        .issuer(
            "PUT",
            &format!("/api/v1/issuer/enterprises/{code}"),
            Some(renamed),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["enterprise"]["name"], "上海José装饰工程有限公司");
    assert_eq!(b["enterprise"]["legal_representative"], "王\u{F900}");
    let (s, b) = app
        .issuer(
            "PUT",
            &format!("/api/v1/issuer/enterprises/{code}"),
            Some(enterprise_json(name, &code)),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    for q in [
        "\u{8C48}\u{4E3D}",
        "\u{F900}\u{2F800}",
        "\u{8C48}\u{2F800}装饰",
    ] {
        let (s, found) = app.get(&format!("/api/v1/enterprises?q={q}")).await;
        assert_eq!(s, 200, "{found}");
        assert_eq!(found["total"], 1, "{q}: {found}");
        assert_eq!(found["items"][0]["name"], name, "{q}: {found}");
    }
    app.stop().await;
    env.finish().await;
}
on_both_backends!(
    compatibility_ideographs,
    super::compatibility_ideographs_are_found_by_their_unified_form
);

fn error(b: &Value) -> (&str, &str) {
    (
        b["error"].as_str().unwrap_or_default(),
        b["message"].as_str().unwrap_or_default(),
    )
}

#[tokio::test]
async fn the_register_refuses_at_entry_what_cannot_print_naming_the_character() {
    let env = TestEnv::new(Backend::Sqlite).await;
    let app = TestApp::start(env.settings()).await;
    let code = credit_code("91310000MA1RX0001");
    let entry = |name: &str, legal: &str| {
        let mut b = enterprise_json(name, &code);
        b["legal_representative"] = json!(legal);
        b
    };
    // Extension I (Unicode 15.1): assigned, but no font of the chain draws it yet.
    let (s, b) = app
        .issuer(
            "POST",
            "/api/v1/issuer/enterprises",
            Some(entry("上海申衡建设工程有限公司", "沈\u{2EBF0}")),
        )
        .await;
    let (code_, message) = error(&b);
    assert_eq!((s, code_), (400, "unprintable_character"), "{b}");
    assert!(
        message.contains('\u{2EBF0}')
            && message.contains("U+2EBF0")
            && message.contains("法定代表人"),
        "{message}"
    );
    assert!(
        !message.contains("常用汉字"),
        "a legal name is not replaced: {message}"
    );
    for (bad, why) in [
        ("\u{202E}", "U+202E"),
        ("\u{E000}", "U+E000"),
        ("\u{200B}", "U+200B"),
        ("\u{FFFF}", "U+FFFF"),
    ] {
        let (s, b) = app
            .issuer(
                "POST",
                "/api/v1/issuer/enterprises",
                Some(entry(&format!("上海{bad}建设有限公司"), "王建国")),
            )
            .await;
        let (c, m) = error(&b);
        assert_eq!((s, c), (400, "unusable_character"), "{why}: {b}");
        assert!(m.contains(why), "{m}");
    }

    // Registered with a name that prints; a rename to one that does not is refused at entry,
    // and the certificate goes on issuing.
    let (s, b) = app
        .issuer(
            "POST",
            "/api/v1/issuer/enterprises",
            Some(entry(
                "上海喆堃\u{20000}\u{2C317}建设工程有限公司",
                "沈\u{4DAE}",
            )),
        )
        .await;
    assert_eq!(s, 201, "{b}");
    let today = zizhi_tests::today();
    let (s, b) = app
        .issuer(
            "POST",
            &format!("/api/v1/issuer/enterprises/{code}/qualifications"),
            Some(
                json!({ "category": "construction", "item": "建筑工程施工总承包", "grade": "二级",
                         "approved_on": (today - chrono::Duration::days(3)).to_string(),
                         "valid_until": (today + chrono::Duration::days(700)).to_string() }),
            ),
        )
        .await;
    assert_eq!(s, 201, "{b}");
    let number = b["certificate_number"].as_str().unwrap().to_owned();
    let (s, b) = app
        .issuer(
            "PUT",
            &format!("/api/v1/issuer/enterprises/{code}"),
            Some(entry("上海喆堃\u{2EBF0}建设工程有限公司", "沈\u{4DAE}")),
        )
        .await;
    assert_eq!((s, error(&b).0), (400, "unprintable_character"), "{b}");
    let copy = usage_copy(&app, &number, "\u{20000}\u{2C317}工程投标").await;
    assert!(copy["id"].as_u64().is_some(), "{copy}");
    let (s, b) = app
        .issuer(
            "POST",
            &format!("/api/v1/issuer/certificates/{number}/usage-copies"),
            Some(
                json!({ "purpose": "\u{2EBF0}工程投标", "from": today.to_string(),
                         "to": (today + chrono::Duration::days(30)).to_string() }),
            ),
        )
        .await;
    let (c, m) = error(&b);
    assert_eq!((s, c), (400, "unprintable_character"), "{b}");
    assert!(m.contains("用途"), "{m}");
    app.stop().await;
    env.finish().await;
}

/// A phone without the fonts still shows each name as printed: the H5 pages carry web fonts
/// of their rare characters, and Chromium (asked through DevTools which fonts drew each name)
/// draws every rare character with them, none with a last-resort font. Screenshots:
/// `target/screenshots/rare-*.png`.
#[tokio::test]
async fn h5_pages_draw_every_rare_character_with_the_pages_web_font() {
    let env = TestEnv::new(Backend::Sqlite).await;
    let app = TestApp::start(env.settings()).await;
    let mut steps = Vec::new();
    let mut probes = Vec::new();
    for (i, (what, name)) in rare_names().into_iter().enumerate() {
        let (_, ent_name, legal, number) = register(&app, i, name).await;
        let copy = usage_copy(&app, &number, "某工程项目投标").await;
        let qr_text = copy["qr_text"].as_str().unwrap();
        steps.push(
            json!({ "op": "fonts", "name": format!("rare-{i}-certificate"),
                           "path": format!("/c/{number}"), "texts": [ent_name, legal] }),
        );
        steps.push(json!({ "op": "fonts", "name": format!("rare-{i}-verdict"),
                           "path": crate::pages::qr_path(qr_text), "texts": [ent_name] }));
        probes.push(what);
        probes.push(what);
    }
    let results = crate::pages::browse(&app, steps).await;
    assert_eq!(results.len(), probes.len());
    for (r, what) in results.iter().zip(probes) {
        assert_eq!(r["status"], 200, "{what}: {r}");
        for t in r["texts"].as_array().unwrap() {
            assert_eq!(t["found"], true, "{what}: {t}");
            let shown = t["element_text"].as_str().unwrap();
            let rare = zizhi_documents::webfont::rare_chars(shown);
            let rare_count = shown.chars().filter(|c| rare.contains(c)).count();
            let fonts = t["fonts"].as_array().unwrap();
            let glyphs = |custom: bool| -> u64 {
                fonts
                    .iter()
                    .filter(|f| f["isCustomFont"] == custom)
                    .map(|f| f["glyphCount"].as_u64().unwrap())
                    .sum()
            };
            assert!(
                fonts.iter().all(|f| !f["familyName"]
                    .as_str()
                    .unwrap_or_default()
                    .to_ascii_lowercase()
                    .replace([' ', '-'], "")
                    .contains("lastresort")),
                "{what}: {t}"
            );
            // Every rare character by the page's web font; the rest by the phone's fonts.
            assert_eq!(glyphs(true), rare_count as u64, "{what}: {t}");
            let visible = shown.chars().filter(|c| !c.is_whitespace()).count() as u64;
            assert!(glyphs(true) + glyphs(false) >= visible, "{what}: {t}");
        }
    }
    app.stop().await;
    env.finish().await;
}
