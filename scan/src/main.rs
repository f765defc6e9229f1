//! `zizhi-scan FILE...`: one line a file, `FILE<TAB>OK<TAB><text>` or `FILE<TAB>NONE`; exit 0
//! when every file gave a code of ours, 1 otherwise, 2 on a usage error.
//!
//! `--timings` also writes `FILE<TAB><ms><TAB><attempts>` to stderr (decode time of the loaded
//! image, file reading and JPEG decoding excluded), for the robustness benchmark.
//! `--profile` runs every candidate attempt on its own on every file and prints each one's
//! yield and cost, and the order a greedy yield-per-cost choice gives: how the pipeline's
//! order was measured.

use std::process::ExitCode;
use std::time::Instant;

use zizhi_scan::decode;
use zizhi_scan::pipeline::{CANDIDATES, Step, Work};

const USAGE: &str = "usage: zizhi-scan [--timings | --profile [--only NAME,...]] FILE...";

fn name(s: &Step) -> String {
    format!("{:?}/{:?}@{}", s.engine, s.prep, s.max_side)
}

fn main() -> ExitCode {
    let mut timings = false;
    let mut profile = false;
    let mut only = None;
    let mut files = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--only" => only = args.next(),
            "--timings" => timings = true,
            "--profile" => profile = true,
            "-h" | "--help" => {
                println!("{USAGE}");
                return ExitCode::SUCCESS;
            }
            s if s.starts_with("--") => {
                eprintln!("unknown option {s}\n{USAGE}");
                return ExitCode::from(2);
            }
            _ => files.push(arg),
        }
    }
    if files.is_empty() {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    }
    if profile {
        return run_profile(&files, only.as_deref());
    }
    let mut all_ok = true;
    for file in &files {
        let img = match image::open(file) {
            Ok(img) => img,
            Err(e) => {
                eprintln!("{file}: {e}");
                println!("{file}\tNONE");
                all_ok = false;
                continue;
            }
        };
        let start = Instant::now();
        let result = decode(&img);
        let ms = start.elapsed().as_secs_f64() * 1000.0;
        match &result.ours {
            Some(text) => println!("{file}\tOK\t{text}"),
            None => {
                println!("{file}\tNONE");
                all_ok = false;
            }
        }
        if timings {
            eprintln!("{file}\t{ms:.1}\t{}", result.attempts);
        }
    }
    if all_ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// Per file and candidate: read ours?, milliseconds (each attempt alone, nothing shared).
fn run_profile(files: &[String], only: Option<&str>) -> ExitCode {
    // `--only Stretch,Region` limits the run to candidates whose name contains one of these.
    let candidates: Vec<Step> = CANDIDATES
        .iter()
        .filter(|s| only.is_none_or(|o| o.split(',').any(|part| name(s).contains(part))))
        .copied()
        .collect();
    let mut hits: Vec<Vec<bool>> = Vec::new();
    let mut costs: Vec<Vec<f64>> = Vec::new();
    for file in files {
        let Ok(img) = image::open(file) else {
            eprintln!("{file}: unreadable, skipped");
            continue;
        };
        let Some(grey) = zizhi_scan::to_grey(&img) else {
            continue;
        };
        let (mut hit, mut cost) = (Vec::new(), Vec::new());
        for step in &candidates {
            let start = Instant::now();
            let texts = Work::new(&grey).run(step);
            cost.push(start.elapsed().as_secs_f64() * 1000.0);
            hit.push(texts.iter().any(|t| zizhi_shared::QrText::is_ours(t)));
        }
        // The per-file detail, for trying other orders offline.
        eprintln!(
            "{file}\t{}\t{}",
            hit.iter()
                .map(|&b| if b { '+' } else { '.' })
                .collect::<String>(),
            cost.iter()
                .map(|c| format!("{c:.1}"))
                .collect::<Vec<_>>()
                .join(" ")
        );
        hits.push(hit);
        costs.push(cost);
    }
    let n = hits.len();
    if n == 0 {
        return ExitCode::FAILURE;
    }
    println!("attempt\talone\tmedian_ms\tmean_ms");
    for (i, step) in candidates.iter().enumerate() {
        let alone = hits.iter().filter(|h| h[i]).count();
        let mut c: Vec<f64> = costs.iter().map(|c| c[i]).collect();
        c.sort_by(f64::total_cmp);
        let mean = c.iter().sum::<f64>() / n as f64;
        println!(
            "{}\t{:.1}%\t{:.1}\t{:.1}",
            name(step),
            100.0 * alone as f64 / n as f64,
            c[n / 2],
            mean
        );
    }
    // Greedy: next is the attempt with the most new reads per millisecond spent on the photos
    // still unread.
    println!("\ngreedy order\tnew\tcumulative\tmean_ms_on_unread");
    let mut unread: Vec<usize> = (0..n).collect();
    let mut used = vec![false; candidates.len()];
    loop {
        let best = (0..candidates.len())
            .filter(|&i| !used[i])
            .map(|i| {
                let gain = unread.iter().filter(|&&f| hits[f][i]).count();
                let cost =
                    unread.iter().map(|&f| costs[f][i]).sum::<f64>() / unread.len().max(1) as f64;
                (i, gain, cost)
            })
            .filter(|&(_, gain, _)| gain > 0)
            .max_by(|a, b| (a.1 as f64 / a.2).total_cmp(&(b.1 as f64 / b.2)));
        let Some((i, gain, cost)) = best else { break };
        used[i] = true;
        unread.retain(|&f| !hits[f][i]);
        println!(
            "{}\t{gain}\t{:.1}%\t{cost:.1}",
            name(&candidates[i]),
            100.0 * (n - unread.len()) as f64 / n as f64
        );
    }
    println!("unread by every attempt: {} of {n}", unread.len());
    ExitCode::SUCCESS
}
