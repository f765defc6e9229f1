//! Parts failing for real under the real binary: Redis killed, hung and restarted empty,
//! PostgreSQL stopped and started, the server sent SIGTERM. Each test starts the parts it
//! breaks itself (`zizhi_tests::parts`), never the machine's services, and checks that no
//! answer is wrong and none is a 5xx where the issue says it must not be.

mod chaos;
mod postgres;
mod process;
mod redis;

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::sync::Mutex;
use zizhi_tests::parts::{ProcessConfig, ServerProcess};

/// Two instances of the real binary on one database and Redis, sharing keys and token.
async fn two_instances(config: &ProcessConfig) -> (ServerProcess, ServerProcess) {
    let a = ServerProcess::start(config).await;
    let b = ServerProcess::start(config).await;
    (a, b)
}

fn config(database_url: String, redis_url: Option<String>, dir: &Path) -> ProcessConfig {
    ProcessConfig {
        binary: env!("CARGO_BIN_EXE_zizhi-under-test").into(),
        database_url,
        redis_url,
        redis_namespace: format!("zizhi_faults_{}", uuid::Uuid::new_v4().simple()),
        data_dir: dir.join("data"),
        env: Vec::new(),
    }
}

/// One answer seen under load: when its request started and ended (since the load began),
/// and what it said.
#[derive(Debug)]
struct Seen {
    /// Index of the text verified.
    which: usize,
    started: Duration,
    took: Duration,
    status: u16,
    level: String,
    state: String,
    codes: Vec<String>,
    /// No answer: why (`refused` when the connection was refused, so nothing was started).
    error: Option<String>,
}

/// Clients verifying `texts` on `bases` round-robin until stopped, every answer recorded.
struct Load {
    t0: Instant,
    stop: Arc<AtomicBool>,
    /// The instances asked, round-robin; replaced when an instance restarts on a new port.
    bases: Arc<std::sync::RwLock<Vec<String>>>,
    seen: Arc<Mutex<Vec<Seen>>>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Load {
    fn start(bases: Vec<String>, texts: Vec<String>, clients: usize) -> Load {
        let t0 = Instant::now();
        let stop = Arc::new(AtomicBool::new(false));
        let seen = Arc::new(Mutex::new(Vec::new()));
        let bases = Arc::new(std::sync::RwLock::new(bases));
        let tasks = (0..clients)
            .map(|i| {
                let (bases, texts) = (bases.clone(), texts.clone());
                let (stop, seen) = (stop.clone(), seen.clone());
                tokio::spawn(async move {
                    // A connection per request: a refused connection then means the request
                    // never started, and any other failure that it was cut.
                    let client = reqwest::Client::builder()
                        .timeout(Duration::from_secs(10))
                        .pool_max_idle_per_host(0)
                        .build()
                        .expect("client");
                    let mut n = i;
                    while !stop.load(Ordering::Relaxed) {
                        let (base, instances) = {
                            let b = bases.read().expect("not poisoned");
                            (b[n % b.len()].clone(), b.len())
                        };
                        let which = (n / instances) % texts.len();
                        let text = &texts[which];
                        n += 1;
                        let started = t0.elapsed();
                        let res = client
                            .post(format!("{base}/api/v1/verify"))
                            .header("content-type", "text/plain")
                            .body(text.clone())
                            .send()
                            .await;
                        let (status, v, error) = match res {
                            Ok(r) => {
                                let s = r.status().as_u16();
                                match r.json::<Value>().await {
                                    Ok(v) => (s, v, None),
                                    Err(e) => (s, Value::Null, Some(format!("body cut: {e}"))),
                                }
                            }
                            Err(e) if e.is_connect() => (0, Value::Null, Some("refused".into())),
                            Err(e) => (0, Value::Null, Some(format!("{e:?}"))),
                        };
                        seen.lock().await.push(Seen {
                            which,
                            started,
                            took: t0.elapsed() - started,
                            status,
                            level: v["summary"]["level"].as_str().unwrap_or("-").into(),
                            state: v["certificate_state"].as_str().unwrap_or("-").into(),
                            codes: v["warnings"]
                                .as_array()
                                .map(|w| {
                                    w.iter()
                                        .filter_map(|w| w["code"].as_str().map(str::to_owned))
                                        .collect()
                                })
                                .unwrap_or_default(),
                            error,
                        });
                        tokio::time::sleep(Duration::from_millis(5)).await;
                    }
                })
            })
            .collect();
        Load {
            t0,
            stop,
            bases,
            seen,
            tasks,
        }
    }

    /// Points the clients at another set of instances.
    fn set_bases(&self, bases: Vec<String>) {
        *self.bases.write().expect("not poisoned") = bases;
    }

    /// Every answer so far, without stopping.
    async fn so_far(&self) -> usize {
        self.seen.lock().await.len()
    }

    fn now(&self) -> Duration {
        self.t0.elapsed()
    }

    /// Every answer and every failure, whatever happened to the instances.
    async fn finish_allowing_failures(self) -> Vec<Seen> {
        self.stop_all().await
    }

    /// Every answer; panics if any request got none.
    async fn finish(self) -> Vec<Seen> {
        let seen = self.stop_all().await;
        let failed: Vec<_> = seen.iter().filter(|s| s.error.is_some()).collect();
        assert!(failed.is_empty(), "requests without an answer: {failed:?}");
        seen
    }

    /// Every answer, for a server that stops: refused connections (requests never started)
    /// are left out; any other failure (a request cut) panics.
    async fn finish_allowing_refusals(self) -> Vec<Seen> {
        let seen = self.stop_all().await;
        let cut: Vec<_> = seen
            .iter()
            .filter(|s| s.error.as_deref().is_some_and(|e| e != "refused"))
            .collect();
        assert!(cut.is_empty(), "requests cut: {cut:?}");
        seen.into_iter().filter(|s| s.error.is_none()).collect()
    }

    async fn stop_all(self) -> Vec<Seen> {
        self.stop.store(true, Ordering::Relaxed);
        for t in self.tasks {
            t.await.expect("a load client panicked");
        }
        Arc::try_unwrap(self.seen)
            .expect("clients done")
            .into_inner()
    }
}

/// The slowest answer among `seen` in the window `[from, to)`.
fn slowest(seen: &[Seen], from: Duration, to: Duration) -> Duration {
    seen.iter()
        .filter(|s| s.started >= from && s.started < to)
        .map(|s| s.took)
        .max()
        .unwrap_or_default()
}
