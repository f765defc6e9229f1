//! The process itself: SIGTERM drains what is in flight and exits 0.

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use zizhi_tests::parts::ServerProcess;
use zizhi_tests::{Backend, TestEnv, enterprise_with_certificate, usage_copy};

use super::{Load, config};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_under_load_finishes_every_request_in_flight_and_exits_0() {
    let env = TestEnv::new(Backend::Sqlite).await;
    let server =
        ServerProcess::start(&config(env.database_url.clone(), None, env.dir.path())).await;
    let (_, number) =
        enterprise_with_certificate(&server, "上海青浦建设有限公司", "91310118MA1FL0116").await;
    let copy = usage_copy(&server, &number, "青浦区某工程投标").await;
    let text = copy["qr_text"].as_str().unwrap().to_owned();

    // A request in flight when the signal comes: its body arrives slowly.
    let addr = server.base.trim_start_matches("http://").to_owned();
    let mut slow = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let head = format!(
        "POST /api/v1/verify HTTP/1.1\r\nHost: {addr}\r\nContent-Type: text/plain\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n",
        text.len()
    );
    slow.write_all(head.as_bytes()).await.unwrap();
    let (first, rest) = text.split_at(text.len() / 2);
    slow.write_all(first.as_bytes()).await.unwrap();

    let load = Load::start(vec![server.base.clone()], vec![text.clone()], 4);
    tokio::time::sleep(Duration::from_millis(800)).await;
    let signalled = Instant::now();
    server.signal("TERM");
    tokio::time::sleep(Duration::from_millis(300)).await;
    slow.write_all(rest.as_bytes()).await.unwrap();
    let mut answer = String::new();
    slow.read_to_string(&mut answer).await.unwrap();
    assert!(
        answer.starts_with("HTTP/1.1 200"),
        "the request in flight at SIGTERM was cut: {answer:?}"
    );
    assert!(answer.contains("\"current\""), "{answer}");

    let (code, log) = server.wait(Duration::from_secs(15)).await;
    let exited_after = signalled.elapsed();
    // The load's clients see answers, then refused connections: never a cut one.
    let seen = load.finish_allowing_refusals().await;
    assert_eq!(code, Some(0), "exit code after SIGTERM; log:\n{log}");
    assert!(log.contains("SIGTERM"), "{log}");
    assert!(seen.iter().all(|s| s.status == 200), "{seen:?}");
    eprintln!(
        "SIGTERM: exit 0 after {exited_after:?}; {} answers under load, none cut",
        seen.len()
    );
    env.finish().await;
}
