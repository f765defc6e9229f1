//! Sessions and refusals over plain HTTP (no browser): demo-mode one-time links sign in, and
//! then an expired session, another audience's session, another enterprise's certificate, a
//! form without its CSRF token, a used link and wrong passwords are each refused.

use chrono::Utc;
use reqwest::redirect::Policy;
use zizhi_server::accounts::links::{self, LinkKind};
use zizhi_server::accounts::{Account, Role};
use zizhi_server::settings::Settings;
use zizhi_server::store::NewAccount;
use zizhi_tests::{Backend, TestApp, TestEnv, enterprise_with_certificate, on_both_backends};

/// A browser-less client of one person: no redirects followed, the session cookie kept by hand.
pub(super) struct Person {
    http: reqwest::Client,
    base: String,
    cookie: Option<String>,
}

#[derive(Debug)]
pub(super) struct Answer {
    pub(super) status: u16,
    pub(super) location: Option<String>,
    pub(super) body: String,
}

impl Answer {
    /// The machine code of a refusal page (`data-error="…"`).
    pub(super) fn error(&self) -> Option<&str> {
        let at = self.body.find("data-error=\"")? + "data-error=\"".len();
        let rest = &self.body[at..];
        Some(&rest[..rest.find('"')?])
    }
}

impl Person {
    pub(super) fn new(app: &TestApp) -> Person {
        Person {
            http: reqwest::Client::builder()
                .redirect(Policy::none())
                .build()
                .unwrap(),
            base: super::localhost(app),
            cookie: None,
        }
    }

    async fn send(&mut self, req: reqwest::RequestBuilder) -> Answer {
        let req = match &self.cookie {
            Some(c) => req.header("cookie", c),
            None => req,
        };
        let res = req.send().await.unwrap();
        if let Some(set) = res.headers().get("set-cookie") {
            let pair = set.to_str().unwrap().split(';').next().unwrap().to_owned();
            self.cookie = Some(pair);
        }
        Answer {
            status: res.status().as_u16(),
            location: res
                .headers()
                .get("location")
                .map(|l| l.to_str().unwrap().to_owned()),
            body: res.text().await.unwrap(),
        }
    }

    pub(super) async fn get(&mut self, path: &str) -> Answer {
        let req = self.http.get(format!("{}{path}", self.base));
        self.send(req).await
    }

    pub(super) async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Answer {
        let req = self.http.post(format!("{}{path}", self.base)).form(form);
        self.send(req).await
    }

    /// Opens the form at `path` and posts it with its CSRF token and `fields`.
    pub(super) async fn submit(&mut self, path: &str, fields: &[(&str, &str)]) -> Answer {
        let page = self.get(path).await;
        assert_eq!(page.status, 200, "{path}: {}", page.body);
        let at = page
            .body
            .find("name=\"csrf\" value=\"")
            .expect("a form with its token")
            + "name=\"csrf\" value=\"".len();
        let csrf = page.body[at..][..page.body[at..].find('"').unwrap()].to_owned();
        let mut form = vec![("csrf", csrf.as_str())];
        form.extend_from_slice(fields);
        self.post(path, &form).await
    }

    /// The CSRF token of the forms on a page.
    pub(super) async fn csrf(&mut self, path: &str) -> String {
        let page = self.get(path).await;
        assert_eq!(page.status, 200, "{}", page.body);
        let at = page
            .body
            .find("name=\"csrf\" value=\"")
            .expect("a form with its token");
        let rest = &page.body[at + "name=\"csrf\" value=\"".len()..];
        rest[..rest.find('"').unwrap()].to_owned()
    }
}

pub(super) async fn account(
    app: &TestApp,
    role: Role,
    login: &str,
    enterprise: Option<&str>,
) -> Account {
    let state = &app.server.state;
    let enterprise_id = match enterprise {
        Some(code) => Some(
            state
                .store
                .enterprise_to_enrol(&code.parse().unwrap())
                .await
                .unwrap()
                .id,
        ),
        None => None,
    };
    create(app, role, enterprise_id, login, "测试人员").await
}

/// An issuer staff account (经办人 or 审批人) named `name`.
pub(super) async fn staff(app: &TestApp, login: &str, role: Role, name: &str) -> Account {
    create(app, role, None, login, name).await
}

async fn create(
    app: &TestApp,
    role: Role,
    enterprise_id: Option<i64>,
    login: &str,
    name: &str,
) -> Account {
    app.server
        .state
        .store
        .create_account(
            "test",
            &NewAccount {
                role,
                enterprise_id,
                login_name: login,
                display_name: name,
            },
            Utc::now(),
        )
        .await
        .unwrap()
}

async fn link(app: &TestApp, account: &Account) -> String {
    links::create(
        &app.server.state.store,
        "test",
        account,
        LinkKind::DemoLogin,
        Utc::now(),
    )
    .await
    .unwrap()
    .0
}

pub(super) fn demo(mut s: Settings) -> Settings {
    s.portal.demo = true;
    s
}

pub(super) async fn signed_in(app: &TestApp, account: &Account) -> Person {
    let mut p = Person::new(app);
    let path = link(app, account).await;
    let confirm = p.get(&path).await;
    assert_eq!(confirm.status, 200, "{}", confirm.body);
    let a = p.post(&path, &[]).await;
    assert_eq!(a.status, 303, "{}", a.body);
    assert!(p.cookie.is_some(), "a session cookie");
    p
}

async fn refusals(backend: Backend) {
    let env = TestEnv::new(backend).await;
    let app = TestApp::start(demo(env.settings())).await;
    let (code_a, number_a) =
        enterprise_with_certificate(&app, "上海甲建设工程有限公司", "91310000MA1FT0001").await;
    let (_, number_b) =
        enterprise_with_certificate(&app, "上海乙建设工程有限公司", "91310000MA1FT0002").await;
    let admin_a = account(&app, Role::EnterpriseAdmin, &code_a, Some(&code_a)).await;
    let clerk = account(&app, Role::Clerk, "test.clerk", None).await;

    // A link works once; the cookie is HttpOnly, SameSite=Strict.
    let mut a = Person::new(&app);
    let path = link(&app, &admin_a).await;
    let res = a
        .http
        .post(format!("{}{path}", a.base))
        .send()
        .await
        .unwrap();
    let cookie = res.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    assert!(!cookie.contains("Secure"), "plain-HTTP localhost: {cookie}");
    a.cookie = Some(cookie.split(';').next().unwrap().to_owned());
    let again = a.post(&path, &[]).await;
    assert_eq!(again.status, 422, "a used link: {}", again.body);
    assert!(again.body.contains("link_invalid"), "{}", again.body);

    // The portal shows A's certificate and nothing of B's.
    let home = a.get("/portal/").await;
    assert_eq!(home.status, 200);
    assert!(home.body.contains(&number_a) && !home.body.contains(&number_b));
    let other = a
        .get(&format!("/portal/certificates/{number_b}/claim"))
        .await;
    assert_eq!(other.status, 404, "{}", other.body);
    assert!(other.body.contains("certificate_not_found"));
    let b_copy = zizhi_tests::usage_copy(&app, &number_b, "乙公司投标").await;
    let other = a.get(&format!("/portal/copies/{}.png", b_copy["id"])).await;
    assert_eq!(
        other.status, 404,
        "another enterprise's copy is absent: {}",
        other.body
    );
    let other = a
        .get(&format!("/portal/copies/{}/withdraw", b_copy["id"]))
        .await;
    assert_eq!(other.status, 404, "{}", other.body);

    // A form without its CSRF token, or with another's, is refused before any handler.
    let csrf = a.csrf("/portal/account").await;
    let no_token = a
        .post(
            "/portal/account/password",
            &[
                ("old_password", "x"),
                ("new_password", "yyyyyyyy"),
                ("new_password_again", "yyyyyyyy"),
            ],
        )
        .await;
    assert_eq!(no_token.status, 403, "{}", no_token.body);
    assert!(no_token.body.contains("csrf_invalid"));

    // Wrong passwords of the signing key (demo, password-only): counted, then locked.
    let (s, b) = app
        .issuer(
            "POST",
            &format!("/api/v1/issuer/enterprises/{code_a}/credential"),
            Some(serde_json::json!({ "password": "right-password-1" })),
        )
        .await;
    assert_eq!(s, 201, "{b}");
    let today = zizhi_tests::today().to_string();
    let usage = format!("/portal/certificates/{number_a}/usage");
    let mut statuses = Vec::new();
    for _ in 0..6 {
        let r = a
            .post(
                &usage,
                &[
                    ("csrf", &csrf),
                    ("purpose", "投标"),
                    ("from", &today),
                    ("to", &today),
                    ("password", "wrong-password"),
                ],
            )
            .await;
        statuses.push(r.status);
    }
    assert_eq!(statuses[..5], [400; 5], "{statuses:?}");
    assert_eq!(
        statuses[5], 429,
        "locked after five wrong passwords: {statuses:?}"
    );
    let right = a
        .post(
            &usage,
            &[
                ("csrf", &csrf),
                ("purpose", "投标"),
                ("from", &today),
                ("to", &today),
                ("password", "right-password-1"),
            ],
        )
        .await;
    assert_eq!(
        right.status, 429,
        "still locked, even with the right password"
    );

    // A clerk's session is not a portal session.
    let mut c = signed_in(&app, &clerk).await;
    let page = c.get("/portal/").await;
    assert_eq!(page.status, 303);
    assert!(
        page.location
            .unwrap()
            .starts_with("/login?audience=enterprise")
    );
    let post = c.post("/portal/account/password", &[]).await;
    assert_eq!(post.status, 403, "{}", post.body);

    // Logout ends the session on the server, not only in the browser.
    let before = a.cookie.clone();
    let out = a.post("/logout", &[("csrf", &csrf)]).await;
    assert_eq!(out.status, 303);
    a.cookie = before;
    let page = a.get("/portal/").await;
    assert_eq!(page.status, 303, "the old cookie no longer signs in");

    app.stop().await;
    env.finish().await;
}

on_both_backends!(
    sessions_refuse_other_audiences_other_enterprises_missing_tokens_and_guessed_passwords,
    super::refusals
);

#[tokio::test]
async fn a_session_past_its_absolute_lifetime_is_over() {
    let env = TestEnv::new(Backend::Sqlite).await;
    let mut settings = demo(env.settings());
    settings.portal.session_max_hours = 0;
    let app = TestApp::start(settings).await;
    let (code, _) =
        enterprise_with_certificate(&app, "上海丙建设工程有限公司", "91310000MA1FT0003").await;
    let admin = account(&app, Role::EnterpriseAdmin, &code, Some(&code)).await;
    let mut p = signed_in(&app, &admin).await;
    let page = p.get("/portal/").await;
    assert_eq!(page.status, 303, "{}", page.body);
    assert!(page.location.unwrap().starts_with("/login"));
    app.stop().await;
    env.finish().await;
}

#[tokio::test]
async fn demo_links_do_nothing_outside_demo_mode() {
    let env = TestEnv::new(Backend::Sqlite).await;
    let app = TestApp::start(env.settings()).await;
    let (code, _) =
        enterprise_with_certificate(&app, "上海丁建设工程有限公司", "91310000MA1FT0004").await;
    let admin = account(&app, Role::EnterpriseAdmin, &code, Some(&code)).await;
    let mut p = Person::new(&app);
    let path = link(&app, &admin).await;
    let r = p.post(&path, &[]).await;
    assert_eq!(r.status, 404, "{}", r.body);
    assert!(p.cookie.is_none());
    app.stop().await;
    env.finish().await;
}
