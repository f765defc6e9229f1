//! A forger talks the inspector into "our verification server": the app must refuse a plain
//! HTTP address off the device, and when the server it is given lies (answers 真实有效 for
//! every code), a forged print must still show 无效 — the device's own signature check wins.

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use super::{case, demo_app, drive, video_of};

/// A server that answers every request with `verdict` (a genuine copy's real answer), with
/// the CORS headers a browser needs; on loopback, which the app allows over plain HTTP.
async fn lying_server(verdict: Value) -> (String, tokio::task::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let body = verdict.to_string();
    let task = tokio::spawn(async move {
        loop {
            let Ok((mut stream, _)) = listener.accept().await else {
                return;
            };
            let body = body.clone();
            tokio::spawn(async move {
                let mut seen = Vec::new();
                let mut buf = [0u8; 4096];
                // Headers, then as much body as Content-Length says.
                while let Ok(n) = stream.read(&mut buf).await {
                    if n == 0 {
                        break;
                    }
                    seen.extend_from_slice(&buf[..n]);
                    let text = String::from_utf8_lossy(&seen);
                    if let Some(end) = text.find("\r\n\r\n") {
                        let length = text[..end]
                            .lines()
                            .find_map(|l| {
                                let (k, v) = l.split_once(':')?;
                                k.eq_ignore_ascii_case("content-length")
                                    .then(|| v.trim().parse::<usize>().ok())?
                            })
                            .unwrap_or(0);
                        if seen.len() >= end + 4 + length {
                            break;
                        }
                    }
                }
                let preflight = seen.starts_with(b"OPTIONS");
                let reply = if preflight {
                    "HTTP/1.1 204 No Content\r\nAccess-Control-Allow-Origin: *\r\n\
                     Access-Control-Allow-Methods: GET, POST\r\n\
                     Access-Control-Allow-Headers: *\r\nContent-Length: 0\r\n\
                     Connection: close\r\n\r\n"
                        .to_owned()
                } else {
                    format!(
                        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\
                         Access-Control-Allow-Origin: *\r\nContent-Length: {}\r\n\
                         Connection: close\r\n\r\n{body}",
                        body.len()
                    )
                };
                let _ = stream.write_all(reply.as_bytes()).await;
                let _ = stream.shutdown().await;
            });
        }
    });
    (base, task)
}

#[tokio::test]
async fn a_lying_server_cannot_make_a_forged_print_genuine() {
    let (env, app, summary) = demo_app().await;
    let (status, genuine) = app.verify(&case(&summary, "current_usage").qr_text).await;
    assert_eq!(status, 200, "{genuine}");
    assert_eq!(genuine["summary"]["level"], "valid", "{genuine}");
    let (liar, liar_task) = lying_server(genuine).await;

    let forged = video_of(&env, &summary, "forged");
    let steps = vec![
        json!({ "op": "launch", "b": "f", "video": forged }),
        json!({ "op": "open", "b": "f", "name": "open" }),
        json!({ "op": "result", "b": "f", "name": "honest", "source": "live" }),
        json!({ "op": "sync", "b": "f", "name": "sync" }),
        // Off the device, plain HTTP is refused: anyone on the network could answer.
        json!({ "op": "set_server", "b": "f", "name": "plain-http",
                "url": "http://zizhi-verify.example.cn" }),
        json!({ "op": "set_server", "b": "f", "name": "liar", "url": liar,
                "shot": "app-settings-server" }),
        json!({ "op": "reload", "b": "f", "name": "reload" }),
        json!({ "op": "result", "b": "f", "name": "lied-to", "shot": "app-result-server-lied" }),
        json!({ "op": "close", "b": "f" }),
    ];
    let mut app = Some(app);
    let seen = drive(&mut app, steps).await;
    let app = app.expect("still running");

    let honest = seen.named("honest");
    assert_eq!(honest["level"], "invalid", "{honest}");
    assert_eq!(seen.named("sync")["synced"], true, "{}", seen.named("sync"));

    let refused = seen.named("plain-http");
    let note = refused["note"].as_str().unwrap_or_default();
    assert!(
        note.contains("https://"),
        "plain HTTP was not refused: {refused}"
    );
    assert!(
        !refused["stored"]
            .as_str()
            .unwrap_or_default()
            .contains("zizhi-verify.example.cn"),
        "{refused}"
    );
    let set = seen.named("liar");
    assert!(
        set["stored"].as_str().unwrap_or_default().contains(&liar),
        "the loopback address was not saved: {set}"
    );

    let r = seen.named("lied-to");
    assert_eq!(r["found"], true, "no result after the reload: {r}");
    assert_eq!(
        r["level"], "invalid",
        "a server's 真实有效 upgraded a forged print: {r}"
    );
    assert_eq!(r["source"], "offline", "{r}");
    assert!(
        r["notice"]
            .as_str()
            .is_some_and(|n| n.contains("以本机结果为准")),
        "the inspector is not told the server contradicted the signature: {r}"
    );
    assert!(
        !r["text"].as_str().unwrap_or_default().contains("真实有效"),
        "{r}"
    );
    seen.assert_no_page_errors();
    liar_task.abort();
    app.stop().await;
    env.finish().await;
}
