//! `zizhi-load run`: N keep-alive HTTP/1.1 connections, each sending
//! `GET /api/v1/verify/{base32}` for a random code as soon as the previous answer is read
//! (closed loop, like `wrk`), or with `--rate` at fixed times whatever the answers (open loop,
//! like `wrk2`), on a lean hyper client so the generator costs little next to the server.
//! Latency goes into an HDR histogram; a request counts only when it was due after the
//! warm-up and answered before the end. Every answer must be 200 with a valid
//! signature, or it counts as a failure. Then the same process measures raw signature checks
//! on one core, and prints the ratio.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::Args;
use hdrhistogram::Histogram;
use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper::client::conn::http1::SendRequest;
use hyper::{Request, StatusCode, header};
use hyper_util::rt::TokioIo;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use tokio::net::TcpStream;

use crate::crypto::{self, CryptoRates};

#[derive(Debug, Args)]
pub struct RunArgs {
    /// Server base URL (plain http). Given more than once (instances of one deployment),
    /// the connections are spread over them in turn.
    #[arg(long = "url", default_value = "http://127.0.0.1:18080")]
    pub urls: Vec<String>,
    /// Codes written by `seed`, one base32 payload a line.
    #[arg(long, default_value = "codes.txt")]
    pub codes: PathBuf,
    /// Concurrent keep-alive connections.
    #[arg(long, default_value_t = 64)]
    pub connections: usize,
    /// Measured time, e.g. 20s or 500ms.
    #[arg(long, default_value = "20s", value_parser = parse_duration)]
    pub duration: Duration,
    /// Unmeasured load before, to fill caches and pools.
    #[arg(long, default_value = "5s", value_parser = parse_duration)]
    pub warmup: Duration,
    /// Client runtime threads; the server needs the rest of the machine.
    #[arg(long, default_value_t = 1)]
    pub threads: usize,
    /// Seconds per raw crypto measurement afterwards; 0 skips it.
    #[arg(long, default_value_t = 3.0)]
    pub crypto_seconds: f64,
    /// Requests a second offered in all, spread evenly over the connections and each due at
    /// its time whether or not the one before was answered: a request that has to wait for
    /// its connection counts its latency from when it was due, so a server that falls behind
    /// cannot hide it (no coordinated omission). Unset: each connection sends as soon as its
    /// previous answer is read, as fast as the server goes.
    #[arg(long)]
    pub rate: Option<f64>,
    /// Processes whose CPU time over the measured window to report, as NAME=PID or
    /// NAME=comm:COMMAND (every process of that command, e.g. postgres=comm:postgres).
    #[arg(long = "watch", value_name = "NAME=PID")]
    pub watch: Vec<String>,
    /// Also print each measured second's answers and p99, to tell a steady queue from
    /// stalls (a periodic task, a pause) that a whole run's p99 cannot tell apart.
    #[arg(long)]
    pub timeline: bool,
}

pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let (num, unit) = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .map_or((s, "s"), |at| s.split_at(at));
    let n: f64 = num.parse().map_err(|_| format!("bad duration {s:?}"))?;
    let secs = match unit {
        "ms" => n / 1000.0,
        "s" => n,
        "m" => n * 60.0,
        _ => return Err(format!("bad duration unit in {s:?} (ms, s or m)")),
    };
    Ok(Duration::from_secs_f64(secs))
}

/// CPU time from `/proc`, in clock ticks (USER_HZ, 100 on Linux).
mod cpu {
    pub const TICKS_PER_SEC: f64 = 100.0;

    /// utime + stime of every thread of a process.
    pub fn process(pid: u32) -> Option<u64> {
        let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        // Fields after the command name (which may hold spaces), starting at field 3.
        let f: Vec<&str> = s.get(s.rfind(')')? + 2..)?.split_whitespace().collect();
        Some(f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?)
    }

    /// The sum over every process running `command`.
    pub fn command(command: &str) -> u64 {
        let Ok(dir) = std::fs::read_dir("/proc") else {
            return 0;
        };
        dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
            .filter(|pid| {
                std::fs::read_to_string(format!("/proc/{pid}/comm"))
                    .is_ok_and(|c| c.trim_end() == command)
            })
            .filter_map(process)
            .sum()
    }

    /// (busy, all) ticks of the whole machine, summed over cores.
    pub fn machine() -> (u64, u64) {
        let s = std::fs::read_to_string("/proc/stat").unwrap_or_default();
        let v: Vec<u64> = s
            .lines()
            .next()
            .unwrap_or_default()
            .split_whitespace()
            .skip(1)
            .take(8)
            .filter_map(|x| x.parse().ok())
            .collect();
        let all: u64 = v.iter().sum();
        let idle = v.get(3).copied().unwrap_or(0) + v.get(4).copied().unwrap_or(0);
        (all - idle, all)
    }

    pub fn load_average() -> String {
        std::fs::read_to_string("/proc/loadavg")
            .ok()
            .and_then(|s| s.split_whitespace().next().map(str::to_owned))
            .unwrap_or_else(|| "?".into())
    }
}

/// One process or command whose CPU time is sampled.
#[derive(Debug, Clone)]
enum Watched {
    Pid(u32),
    Command(String),
}

impl Watched {
    fn ticks(&self) -> u64 {
        match self {
            Watched::Pid(p) => cpu::process(*p).unwrap_or(0),
            Watched::Command(c) => cpu::command(c),
        }
    }
}

fn parse_watch(spec: &str) -> anyhow::Result<(String, Watched)> {
    let (name, what) = spec
        .split_once('=')
        .with_context(|| format!("--watch {spec}: expected NAME=PID or NAME=comm:COMMAND"))?;
    let w = match what.strip_prefix("comm:") {
        Some(c) => Watched::Command(c.to_owned()),
        None => Watched::Pid(what.parse().with_context(|| format!("--watch {spec}"))?),
    };
    Ok((name.to_owned(), w))
}

/// CPU use over the measured window.
struct CpuWindow {
    seconds: f64,
    machine_busy_cores: f64,
    cores: usize,
    client_cores: f64,
    watched: Vec<(String, f64)>,
    load_average: String,
}

async fn sample_cpu(watched: Vec<(String, Watched)>, from: Instant, end: Instant) -> CpuWindow {
    let sample = |w: &[(String, Watched)]| {
        (
            cpu::machine(),
            cpu::process(std::process::id()).unwrap_or(0),
            w.iter().map(|(_, x)| x.ticks()).collect::<Vec<_>>(),
        )
    };
    tokio::time::sleep_until(from.into()).await;
    let t0 = Instant::now();
    let (m0, c0, w0) = sample(&watched);
    tokio::time::sleep_until(end.into()).await;
    let (m1, c1, w1) = sample(&watched);
    let seconds = t0.elapsed().as_secs_f64();
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let per_sec = |ticks: u64| ticks as f64 / cpu::TICKS_PER_SEC / seconds;
    let all = (m1.1 - m0.1).max(1) as f64;
    CpuWindow {
        seconds,
        machine_busy_cores: (m1.0 - m0.0) as f64 / all * cores as f64,
        cores,
        client_cores: per_sec(c1 - c0),
        watched: watched
            .iter()
            .zip(w0.iter().zip(&w1))
            .map(|((name, _), (a, b))| (name.clone(), per_sec(b.saturating_sub(*a))))
            .collect(),
        load_average: cpu::load_average(),
    }
}

/// Where to connect and what to put before `/api/v1/verify/`.
struct Target {
    addr: SocketAddr,
    host: String,
    base: String,
}

async fn target(url: &str) -> anyhow::Result<Target> {
    let rest = url
        .strip_prefix("http://")
        .context("only http:// URLs are supported")?;
    let (host, base) = rest.split_once('/').unwrap_or((rest, ""));
    let base = base.trim_end_matches('/');
    let addr = tokio::net::lookup_host(host)
        .await
        .with_context(|| format!("cannot resolve {host}"))?
        .next()
        .with_context(|| format!("no address for {host}"))?;
    Ok(Target {
        addr,
        host: host.to_owned(),
        base: if base.is_empty() {
            String::new()
        } else {
            format!("/{base}")
        },
    })
}

/// One connection's tally over the measured window.
struct Tally {
    latency_us: Histogram<u64>,
    ok: u64,
    non_200: u64,
    not_valid_signature: u64,
    errors: u64,
    warmup_requests: u64,
    /// `level/certificate_state` of each answer.
    verdicts: BTreeMap<String, u64>,
    /// Latency of the answers that came in each measured second, by second.
    by_second: Vec<Histogram<u64>>,
}

impl Tally {
    fn new() -> anyhow::Result<Tally> {
        Ok(Tally {
            latency_us: Histogram::new_with_bounds(1, 60_000_000, 3)?,
            ok: 0,
            non_200: 0,
            not_valid_signature: 0,
            errors: 0,
            warmup_requests: 0,
            verdicts: BTreeMap::new(),
            by_second: Vec::new(),
        })
    }

    fn second(&mut self, second: usize) -> anyhow::Result<&mut Histogram<u64>> {
        while self.by_second.len() <= second {
            self.by_second
                .push(Histogram::new_with_bounds(1, 60_000_000, 2)?);
        }
        Ok(&mut self.by_second[second])
    }

    fn merge(&mut self, o: Tally) -> anyhow::Result<()> {
        self.latency_us.add(&o.latency_us)?;
        self.ok += o.ok;
        self.non_200 += o.non_200;
        self.not_valid_signature += o.not_valid_signature;
        self.errors += o.errors;
        self.warmup_requests += o.warmup_requests;
        for (k, v) in o.verdicts {
            *self.verdicts.entry(k).or_default() += v;
        }
        for (second, h) in o.by_second.into_iter().enumerate() {
            self.second(second)?.add(&h)?;
        }
        Ok(())
    }

    fn failures(&self) -> u64 {
        self.non_200 + self.not_valid_signature + self.errors
    }
}

/// The string value after `"key":"` in a JSON text, without parsing the rest.
fn json_str<'a>(body: &'a str, key: &str) -> &'a str {
    body.find(key)
        .map(|at| &body[at + key.len()..])
        .and_then(|rest| rest.split('"').next())
        .unwrap_or("-")
}

fn classify(body: &[u8]) -> (bool, String) {
    let text = std::str::from_utf8(body).unwrap_or("");
    let valid = text.contains("\"signature\":\"valid\"");
    let level = json_str(text, "\"level\":\"");
    let state = if text.contains("\"certificate_state\":null") {
        "none"
    } else {
        json_str(text, "\"certificate_state\":\"")
    };
    (valid, format!("{level}/{state}"))
}

async fn connect(t: &Target) -> anyhow::Result<SendRequest<Empty<Bytes>>> {
    let stream = TcpStream::connect(t.addr).await?;
    stream.set_nodelay(true)?;
    let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    Ok(sender)
}

/// When one connection's requests are due, under `--rate`.
struct Schedule {
    next: Instant,
    every: Duration,
}

async fn drive(
    t: Arc<Target>,
    codes: Arc<Vec<String>>,
    measure_from: Instant,
    end: Instant,
    seed: u64,
    mut schedule: Option<Schedule>,
) -> anyhow::Result<Tally> {
    let mut tally = Tally::new()?;
    let mut rng = SmallRng::seed_from_u64(seed);
    let mut sender: Option<SendRequest<Empty<Bytes>>> = None;
    let mut path = String::with_capacity(t.base.len() + 600);
    let mut last_answer = Instant::now();
    while Instant::now() < end {
        let s = match sender.as_mut() {
            Some(s) => s,
            None => match connect(&t).await {
                Ok(s) => sender.insert(s),
                Err(_) => {
                    tally.errors += 1;
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        path.clear();
        path.push_str(&t.base);
        path.push_str("/api/v1/verify/");
        path.push_str(&codes[rng.random_range(0..codes.len())]);
        let req = Request::get(path.as_str())
            .header(header::HOST, t.host.as_str())
            .body(Empty::<Bytes>::new())?;
        // Under a schedule: wait until the request is due. One that waited for its
        // connection counts from when it was due; one sent on time from when it was sent, as
        // the timer wakes up to a millisecond late, which is this client's delay, not the
        // server's.
        let due = match schedule.as_mut() {
            Some(sc) => {
                let due = sc.next;
                sc.next += sc.every;
                if due >= end {
                    break;
                }
                if due > Instant::now() {
                    tokio::time::sleep_until(due.into()).await;
                }
                Some(due)
            }
            None => None,
        };
        let sent = Instant::now();
        let started = match due {
            Some(due) if last_answer > due => due,
            _ => sent,
        };
        let answer = async {
            s.ready().await?;
            let res = s.send_request(req).await?;
            let status = res.status();
            let body = res.into_body().collect().await?.to_bytes();
            anyhow::Ok((status, body))
        }
        .await;
        let done = Instant::now();
        last_answer = done;
        let measured = started >= measure_from && done <= end;
        match answer {
            Ok((status, body)) => {
                if !measured {
                    tally.warmup_requests += u64::from(started < measure_from);
                    continue;
                }
                let us = (done.duration_since(started).as_micros() as u64).max(1);
                tally.latency_us.saturating_record(us);
                tally
                    .second(done.duration_since(measure_from).as_secs() as usize)?
                    .saturating_record(us);
                if status != StatusCode::OK {
                    tally.non_200 += 1;
                    continue;
                }
                let (valid, verdict) = classify(&body);
                if !valid {
                    tally.not_valid_signature += 1;
                }
                match tally.verdicts.get_mut(&verdict) {
                    Some(n) => *n += 1,
                    None => {
                        tally.verdicts.insert(verdict, 1);
                    }
                }
                tally.ok += u64::from(valid);
            }
            Err(_) => {
                tally.errors += u64::from(measured);
                sender = None;
            }
        }
    }
    Ok(tally)
}

fn load_codes(path: &PathBuf) -> anyhow::Result<Vec<String>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read {} (run `zizhi-load seed`)", path.display()))?;
    let codes: Vec<String> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect();
    if codes.is_empty() {
        bail!("{} holds no codes", path.display());
    }
    Ok(codes)
}

struct LoadResult {
    tally: Tally,
    seconds: f64,
    cpu: CpuWindow,
}

async fn run_load(args: &RunArgs, codes: Arc<Vec<String>>) -> anyhow::Result<LoadResult> {
    let mut targets = Vec::new();
    for url in &args.urls {
        let t = Arc::new(target(url).await?);
        // One request first: a wrong URL or a stopped server should fail loudly, not as 100%
        // errors.
        let mut probe = connect(&t)
            .await
            .with_context(|| format!("cannot connect to {url}"))?;
        let req = Request::get(format!("{}/api/v1/verify/{}", t.base, codes[0]))
            .header(header::HOST, t.host.as_str())
            .body(Empty::<Bytes>::new())?;
        let res = probe.send_request(req).await?;
        let status = res.status();
        let body = res.into_body().collect().await?.to_bytes();
        if status != StatusCode::OK || !classify(&body).0 {
            bail!(
                "probe request to {url} answered {status}: {}",
                String::from_utf8_lossy(&body[..body.len().min(300)])
            );
        }
        targets.push(t);
    }

    let measure_from = Instant::now() + args.warmup;
    let end = measure_from + args.duration;
    let watched = args
        .watch
        .iter()
        .map(|w| parse_watch(w))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let sampler = tokio::spawn(sample_cpu(watched, measure_from, end));
    let mut tasks = tokio::task::JoinSet::new();
    let connections = args.connections.max(1);
    let begin = Instant::now();
    for c in 0..connections {
        // Each connection's share of the rate, the connections' first requests spread over
        // one interval so they do not all fall due together.
        let schedule = args.rate.map(|rate| {
            let every = Duration::from_secs_f64(connections as f64 / rate);
            Schedule {
                next: begin + every.mul_f64(c as f64 / connections as f64),
                every,
            }
        });
        tasks.spawn(drive(
            targets[c % targets.len()].clone(),
            codes.clone(),
            measure_from,
            end,
            0x5eed_0000 + c as u64,
            schedule,
        ));
    }
    let mut tally = Tally::new()?;
    while let Some(r) = tasks.join_next().await {
        tally.merge(r??)?;
    }
    Ok(LoadResult {
        tally,
        seconds: args.duration.as_secs_f64(),
        cpu: sampler.await?,
    })
}

pub fn main(args: RunArgs) -> anyhow::Result<()> {
    let codes = Arc::new(load_codes(&args.codes)?);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(args.threads.max(1))
        .enable_all()
        .build()?;
    if let Some(rate) = args.rate
        && !(rate.is_finite() && rate > 0.0)
    {
        bail!("--rate must be a positive number of requests a second");
    }
    eprintln!(
        "load: {} connections{}, {} client thread(s), {:.0} s warm-up + {:.0} s measured, {} codes, {}",
        args.connections,
        args.rate
            .map_or(String::new(), |r| format!(" offering {r:.0} req/s")),
        args.threads.max(1),
        args.warmup.as_secs_f64(),
        args.duration.as_secs_f64(),
        codes.len(),
        args.urls.join(" ")
    );
    let result = runtime.block_on(run_load(&args, codes.clone()))?;
    drop(runtime);
    print_load(&args, codes.len(), &result);
    if args.crypto_seconds > 0.0 {
        let rates = crypto::measure(args.crypto_seconds);
        println!();
        rates.print();
        print_ratio(&result, &rates);
    }
    if result.tally.failures() > 0 {
        bail!("{} requests failed", result.tally.failures());
    }
    Ok(())
}

fn print_load(args: &RunArgs, codes: usize, r: &LoadResult) {
    let t = &r.tally;
    let h = &t.latency_us;
    let done = t.ok + t.failures() - t.errors;
    println!(
        "GET /api/v1/verify/{{base32}}: {} connections{}, {} client thread(s), {:.0} s measured after {:.0} s warm-up, {} random codes",
        args.connections,
        args.rate.map_or(" (closed loop)".to_owned(), |r| format!(
            " offering {r:.0} req/s (open loop: latency from when each request was due)"
        )),
        args.threads.max(1),
        r.seconds,
        args.warmup.as_secs_f64(),
        codes
    );
    println!(
        "  requests   {done} answered, {:.0} /s ({} during warm-up)",
        done as f64 / r.seconds,
        t.warmup_requests
    );
    println!(
        "  failures   {} (non-200 {}, signature not valid {}, connection errors {})",
        t.failures(),
        t.non_200,
        t.not_valid_signature,
        t.errors
    );
    let ms = |q: f64| h.value_at_quantile(q) as f64 / 1000.0;
    println!(
        "  latency ms p50 {:.2}  p90 {:.2}  p99 {:.2}  p99.9 {:.2}  max {:.2}  (mean {:.2})",
        ms(0.50),
        ms(0.90),
        ms(0.99),
        ms(0.999),
        h.max() as f64 / 1000.0,
        h.mean() / 1000.0
    );
    let total: u64 = t.verdicts.values().sum();
    let mut v: Vec<(&String, &u64)> = t.verdicts.iter().collect();
    v.sort_by(|a, b| b.1.cmp(a.1));
    let shown: Vec<String> = v
        .iter()
        .map(|(k, n)| format!("{k} {:.1}%", **n as f64 * 100.0 / total.max(1) as f64))
        .collect();
    println!("  verdicts   {}", shown.join(", "));
    if args.timeline {
        let seconds: Vec<String> = t
            .by_second
            .iter()
            .map(|h| {
                format!(
                    "{:.1}k {:.1}",
                    h.len() as f64 / 1000.0,
                    h.value_at_quantile(0.99) as f64 / 1000.0
                )
            })
            .collect();
        println!("  by second  answers, p99 ms: {}", seconds.join(" | "));
    }
    let c = &r.cpu;
    let rps = done as f64 / r.seconds;
    let per_request = |cores: f64| cores * 1e6 / rps.max(f64::MIN_POSITIVE);
    let mut parts = vec![format!(
        "this client {:.2} ({:.0} µs/request)",
        c.client_cores,
        per_request(c.client_cores)
    )];
    for (name, cores) in &c.watched {
        parts.push(format!(
            "{name} {cores:.2} ({:.0} µs/request)",
            per_request(*cores)
        ));
    }
    println!(
        "  cpu        {:.2} of {} cores busy over {:.0} s (load average {} at the end); cores used: {}",
        c.machine_busy_cores,
        c.cores,
        c.seconds,
        c.load_average,
        parts.join(", ")
    );
}

fn print_ratio(r: &LoadResult, c: &CryptoRates) {
    let t = &r.tally;
    let rps = (t.ok + t.failures() - t.errors) as f64 / r.seconds;
    println!();
    println!(
        "ratio  server req/s ÷ raw ed25519 verify_strict/s (one core) = {rps:.0} ÷ {:.0} = {:.2}",
        c.ed25519_verify_strict,
        rps / c.ed25519_verify_strict
    );
    println!(
        "       server req/s ÷ zizhi verify_bytes/s (one core)        = {rps:.0} ÷ {:.0} = {:.2}",
        c.verify_bytes,
        rps / c.verify_bytes
    );
    println!(
        "       (the server may use both of the machine's cores, which it shares with this client, PostgreSQL and Redis)"
    );
    if let Some((_, cores)) = r.cpu.watched.iter().find(|(n, _)| n == "server") {
        let us = cores * 1e6 / rps.max(f64::MIN_POSITIVE);
        println!(
            "       server CPU per request {us:.0} µs = {:.2} × one verify_text ({:.0} µs), {:.2} × one verify_strict ({:.0} µs)",
            us * c.verify_text / 1e6,
            1e6 / c.verify_text,
            us * c.ed25519_verify_strict / 1e6,
            1e6 / c.ed25519_verify_strict
        );
    }
    let h = &t.latency_us;
    println!(
        "| {rps:.0} | {:.2} | {:.2} | {:.2} | {:.2} | {:.0} | {:.0} | {:.2} |",
        h.value_at_quantile(0.5) as f64 / 1000.0,
        h.value_at_quantile(0.9) as f64 / 1000.0,
        h.value_at_quantile(0.99) as f64 / 1000.0,
        h.max() as f64 / 1000.0,
        c.ed25519_verify_strict,
        c.verify_bytes,
        rps / c.ed25519_verify_strict
    );
}

#[derive(Debug, Args)]
pub struct SweepArgs {
    /// Server base URL (plain http).
    #[arg(long, default_value = "http://127.0.0.1:18080")]
    pub url: String,
    /// Codes, one base32 payload a line.
    #[arg(long, default_value = "codes.txt")]
    pub codes: PathBuf,
    /// Times every code is sent.
    #[arg(long, default_value_t = 1)]
    pub rounds: usize,
}

/// `zizhi-load sweep`: every code in order, `rounds` times, one request at a time on one
/// keep-alive connection, so a profiler attached to the server sees an exact number of
/// requests and nothing else. Every answer must be 200 with a valid signature.
pub fn sweep(args: SweepArgs) -> anyhow::Result<()> {
    let codes = load_codes(&args.codes)?;
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?
        .block_on(async {
            let t = target(&args.url).await?;
            let mut sender = connect(&t)
                .await
                .with_context(|| format!("cannot connect to {}", args.url))?;
            let mut sent = 0;
            for _ in 0..args.rounds {
                for code in &codes {
                    let req = Request::get(format!("{}/api/v1/verify/{code}", t.base))
                        .header(header::HOST, t.host.as_str())
                        .body(Empty::<Bytes>::new())?;
                    sender.ready().await?;
                    let res = sender.send_request(req).await?;
                    let status = res.status();
                    let body = res.into_body().collect().await?.to_bytes();
                    if status != StatusCode::OK || !classify(&body).0 {
                        bail!(
                            "{code} answered {status}: {}",
                            String::from_utf8_lossy(&body[..body.len().min(300)])
                        );
                    }
                    sent += 1;
                }
            }
            println!("{sent} requests");
            anyhow::Ok(())
        })
}
