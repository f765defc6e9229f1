//! `zizhi-load trivial`: the ceiling a verify request is measured against — an axum handler
//! on the same runtime and HTTP stack as the server, answering the same path with a small
//! JSON body and doing nothing else. Whatever zizhi spends beyond it is its own work.

use std::net::SocketAddr;

use axum::Json;
use axum::extract::Path;
use axum::routing::get;
use clap::Args;
use serde::Serialize;

#[derive(Debug, Args)]
pub struct TrivialArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:18081")]
    pub bind: SocketAddr,
}

/// Enough of a verdict's shape for `zizhi-load run` to count the answer as valid.
#[derive(Serialize)]
struct Answer {
    signature: &'static str,
    code_chars: usize,
}

async fn answer(Path(code): Path<String>) -> Json<Answer> {
    Json(Answer {
        signature: "valid",
        code_chars: code.len(),
    })
}

pub fn main(args: TrivialArgs) -> anyhow::Result<()> {
    // The server's own runtime shape: one worker per core.
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(async {
            let app = axum::Router::new().route("/api/v1/verify/{code}", get(answer));
            let listener = tokio::net::TcpListener::bind(args.bind).await?;
            eprintln!("trivial handler on http://{}", args.bind);
            axum::serve(listener, app).await?;
            anyhow::Ok(())
        })
}
