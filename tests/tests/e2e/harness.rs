//! The harness's own promises: a test's PostgreSQL database is dropped when the test fails.

use sqlx::{Connection, Row};
use zizhi_tests::{Backend, TestApp, TestEnv, pg_admin_url};

/// How many connections PostgreSQL has open to a database, and whether it still exists.
async fn database(name: &str) -> (bool, i64) {
    let mut conn = sqlx::PgConnection::connect(&pg_admin_url())
        .await
        .expect("PostgreSQL is required for this test");
    let listed = sqlx::query("SELECT COUNT(*) FROM pg_database WHERE datname = $1")
        .bind(name)
        .fetch_one(&mut conn)
        .await
        .expect("query pg_database")
        .get::<i64, _>(0);
    let connections = sqlx::query("SELECT COUNT(*) FROM pg_stat_activity WHERE datname = $1")
        .bind(name)
        .fetch_one(&mut conn)
        .await
        .expect("query pg_stat_activity")
        .get::<i64, _>(0);
    (listed == 1, connections)
}

#[tokio::test]
async fn a_test_that_panics_while_its_server_runs_leaves_no_database_behind() {
    let (named, name) = tokio::sync::oneshot::channel();
    // A failing test body, on this test's runtime: it panics while its server still runs and
    // holds connections to its database, without reaching `env.finish()`.
    let failing = tokio::spawn(async move {
        let env = TestEnv::new(Backend::Postgres).await;
        let app = TestApp::start(env.settings()).await;
        let (status, body) = app.get("/api/v1/enterprises?q=上海").await;
        assert_eq!(status, 200, "{body}");
        let name = env.pg_database_name().expect("a PostgreSQL database");
        let (listed, connections) = database(name).await;
        assert!(listed, "{name} exists while the test runs");
        assert!(connections > 0, "the server holds connections to {name}");
        named.send(name.to_owned()).expect("send the name");
        panic!("a failing test (deliberately)");
    });
    let failed = failing.await.expect_err("the test body panics");
    assert!(failed.is_panic());
    let name = name.await.expect("the body named its database");
    assert_eq!(
        database(&name).await,
        (false, 0),
        "{name} outlived its test"
    );
}

#[tokio::test]
async fn a_finished_test_leaves_no_database_behind() {
    let env = TestEnv::new(Backend::Postgres).await;
    let app = TestApp::start(env.settings()).await;
    let name = env.pg_database_name().expect("a database").to_owned();
    assert!(database(&name).await.0);
    app.stop().await;
    env.finish().await;
    assert_eq!(
        database(&name).await,
        (false, 0),
        "{name} outlived its test"
    );
}
