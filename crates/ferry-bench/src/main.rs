//! Benchmarks for `ferry assess`, printed as figures for BENCHMARKS.md.
//!
//! `ferry-bench assess [SIZES...]` generates synthetic corpora of SIZES objects
//! (default 10000 and 100000), then measures, each in its own process so that
//! peak memory is measured per run:
//! - the baseline: reading the same files and running the same YAML parser
//!   (granit-parser) over every document, building nothing;
//! - `ferry assess DIR -o json` on the same files.
//!
//! It prints wall time, objects/s, peak RSS, and the ratios the targets are
//! stated in: assess / parse-only time, peak RSS / input size, and growth from
//! the smallest to the largest size.
//!
//! `ferry-bench live [OBJECTS]` measures reading a live cluster (see `live.rs`).
//! `ferry-bench move [OBJECTS]` measures export and apply (see `moving.rs`).
//! `ferry-bench nodes [RUNS]` measures test clusters with a real node (see `nodes.rs`).
//! `ferry-bench cutover [TRIALS]` measures rollback time and requests lost (see `cutover.rs`).
//! `ferry-bench verify [OBJECTS]` measures verifying a migration (see `verify.rs`).
//! `ferry-bench images [ROUNDS]` measures copying images against skopeo (see `images.rs`).
//! `ferry-bench volumes [SIZE_MB]` measures volume data through the clusters' Jobs (see `volumes.rs`).

mod corpus;
mod cutover;
mod delay;
mod images;
mod live;
mod moving;
mod nodes;
mod verify;
mod volumes;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("parse-only") => parse_only(Path::new(&args[1]), args.get(2).and_then(|t| t.parse().ok()).unwrap_or(1)),
        Some("assess") => bench_assess(&args[1..]),
        Some("live") => live::bench_live(&args[1..]),
        Some("move") => moving::bench_move(&args[1..]),
        Some("nodes") => nodes::bench_nodes(&args[1..]),
        Some("cutover") => cutover::bench_cutover(&args[1..]),
        Some("verify") => verify::bench_verify(&args[1..]),
        Some("images") => images::bench_images(&args[1..]),
        Some("volumes") => volumes::bench_volumes(&args[1..]),
        Some("raw-lists") => moving::raw_lists_process(&args[1]),
        Some("measured") => measured(Path::new(&args[1]), &args[2..]),
        _ => {
            eprintln!("usage: ferry-bench assess [OBJECTS...]   (e.g. ferry-bench assess 10000 100000)");
            eprintln!("       ferry-bench live [OBJECTS]        (e.g. ferry-bench live 20000; needs scripts/install-k8s.sh)");
            eprintln!("       ferry-bench move [OBJECTS]        (e.g. ferry-bench move 10000; export and apply against kubectl)");
            eprintln!("       ferry-bench nodes [RUNS]          (e.g. ferry-bench nodes 3; test clusters with a real node)");
            eprintln!("       ferry-bench cutover [TRIALS]      (e.g. ferry-bench cutover 5; rollback time per driver, requests lost in a shift)");
            eprintln!("       ferry-bench verify [OBJECTS]      (e.g. ferry-bench verify 10000; against kubectl diff and raw LISTs)");
            eprintln!("       ferry-bench images [ROUNDS]       (e.g. ferry-bench images 3; registry to registry against skopeo)");
            eprintln!(
                "       ferry-bench volumes [SIZE_MB]     (e.g. ferry-bench volumes 2000; volume data through the clusters' Jobs against the local mover)"
            );
            std::process::exit(2);
        }
    }
}

/// One measured run of a child process.
struct Run {
    seconds: f64,
    /// Peak resident memory in MB of 10^6 bytes.
    peak_rss_mb: f64,
}

fn bench_assess(sizes: &[String]) {
    let sizes: Vec<usize> = if sizes.is_empty() { vec![10_000, 100_000] } else { sizes.iter().map(|s| s.parse().expect("size")).collect() };
    let ferry = sibling_binary("ferry");
    let me = std::env::current_exe().expect("own path");
    let root = std::env::var_os("FERRY_BENCH_DIR").map(PathBuf::from).unwrap_or_else(|| PathBuf::from(".bench"));
    println!("machine: {} cores, {}", cores(), cpu_model());
    println!(
        "| objects | input MB | parse-only 1 thread s | parse-only 2 threads s | ferry assess s | objects/s | assess / parse-only (2 threads) | assess / parse-only (1 thread) | peak RSS parse-only MB | peak RSS assess MB | assess RSS / input |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|");
    let mut per_object = Vec::new();
    for size in sizes {
        let dir = root.join(format!("corpus-{size}"));
        let bytes = corpus::generate(&dir, size);
        let mb = bytes as f64 / 1e6;
        let dir_arg = dir.to_str().expect("utf-8 path");
        let parse1 = best_of(3, || measure(&me, &["parse-only", dir_arg, "1"]));
        let parse2 = best_of(3, || measure(&me, &["parse-only", dir_arg, "2"]));
        let assess = best_of(3, || measure(&ferry, &["assess", dir_arg, "-o", "json", "--out", "/dev/null", "--fail-on", "never"]));
        per_object.push((size, assess.seconds / size as f64));
        println!(
            "| {size} | {mb:.1} | {:.3} | {:.3} | {:.3} | {:.0} | {:.2} | {:.2} | {:.0} | {:.0} | {:.2} |",
            parse1.seconds,
            parse2.seconds,
            assess.seconds,
            size as f64 / assess.seconds,
            assess.seconds / parse2.seconds,
            assess.seconds / parse1.seconds,
            parse2.peak_rss_mb,
            assess.peak_rss_mb,
            assess.peak_rss_mb / mb,
        );
    }
    if let (Some(first), Some(last)) = (per_object.first(), per_object.last())
        && first.0 != last.0
    {
        println!(
            "\ngrowth: {}x more objects took {:.2}x the time ({:.2}x the time per object; 1.00 = linear)",
            last.0 / first.0,
            last.1 * last.0 as f64 / (first.1 * first.0 as f64),
            last.1 / first.1
        );
    }
}

fn best_of(n: usize, mut run: impl FnMut() -> Run) -> Run {
    (0..n).map(|_| run()).min_by(|a, b| a.seconds.total_cmp(&b.seconds)).expect("n > 0")
}

/// Runs a command, returning its wall time and peak RSS.
///
/// Linux starts a child's peak RSS at its parent's resident size when it forks (and keeps it
/// across `exec`), so a command started straight from this process would report at least this
/// process's own peak (~60 MB during `move`). The command is started by a small copy of this
/// binary instead (`ferry-bench measured`), which times it and reads its peak from `wait4`.
fn measure(program: &Path, args: &[&str]) -> Run {
    let me = std::env::current_exe().expect("own path");
    let output = Command::new(me).arg("measured").arg(program).args(args).stderr(std::process::Stdio::inherit()).output().expect("spawn");
    assert!(output.status.success(), "{} {args:?} failed", program.display());
    let text = String::from_utf8_lossy(&output.stdout);
    let mut fields = text.split_whitespace().map(|f| f.parse::<f64>().expect("measured prints numbers"));
    let (seconds, peak_kib) = (fields.next().expect("seconds"), fields.next().expect("peak"));
    // ru_maxrss is in KiB; MB here are 10^6 bytes, the unit the input sizes are given in.
    Run { seconds, peak_rss_mb: peak_kib * 1024.0 / 1e6 }
}

/// `ferry-bench measured PROGRAM ARGS...`: runs the program (its output discarded) and prints
/// its wall time in seconds and its peak RSS in KiB; exits 1 if it failed.
#[allow(clippy::zombie_processes)] // reaped by `wait4` below, which also yields the child's peak RSS
fn measured(program: &Path, args: &[String]) {
    let start = Instant::now();
    let child = Command::new(program).args(args).stdout(std::process::Stdio::null()).spawn().expect("spawn");
    let mut status = 0;
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: wait4 on our own child with valid pointers.
    let pid = unsafe { libc::wait4(child.id() as libc::pid_t, &mut status, 0, &mut usage) };
    let seconds = start.elapsed().as_secs_f64();
    if !(pid > 0 && libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0) {
        std::process::exit(1);
    }
    println!("{seconds} {}", usage.ru_maxrss);
}

pub(crate) fn sibling_binary(name: &str) -> PathBuf {
    let me = std::env::current_exe().expect("own path");
    let path = me.with_file_name(name);
    assert!(path.exists(), "build it first: cargo build --release -p ferry-cli ({} missing)", path.display());
    path
}

/// The baseline: read every file and run the YAML parser over it, building nothing.
fn parse_only(dir: &Path, threads: usize) {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir).expect("corpus dir").map(|e| e.expect("entry").path()).collect();
    files.sort();
    let events: usize = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let files = &files;
                scope.spawn(move || files.iter().skip(t).step_by(threads).map(|f| count_events(f)).sum::<usize>())
            })
            .collect();
        handles.into_iter().map(|h| h.join().expect("worker")).sum()
    });
    println!("{events} events");
}

fn count_events(path: &Path) -> usize {
    let text = std::fs::read_to_string(path).expect("read");
    granit_parser::Parser::new_from_str(&text).fold(0, |n, event| {
        event.expect("valid YAML");
        n + 1
    })
}

pub(crate) fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

pub(crate) fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("model name")).map(|l| l.split(':').nth(1).unwrap_or("").trim().to_owned()))
        .unwrap_or_else(|| "unknown CPU".into())
}

/// The async runtime of the live benchmarks: two workers, like the machine's two cores.
pub(crate) fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime")
}
