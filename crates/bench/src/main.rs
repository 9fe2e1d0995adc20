//! `cargo run --release -p tapegrad-bench` — every standard workload (W1–W8) in tapegrad and,
//! when a Python with them is found, in PyTorch, JAX (jit) and micrograd, in one sitting:
//! each side in its own process, round after round (peers between tapegrad's runs), the same
//! statistic for every side. Writes `out/bench/report.md` (the README's table) and
//! `out/bench/ratios.svg`.
//!
//! ```text
//! cargo run --release -p tapegrad-bench -- [--python PATH] [--rounds N] [--repeats N] [--only W2,W7] [--quick]
//! ```
//!
//! Peers run `benches/peers/peer.py` (see `benches/peers/README.md` for the environment); a
//! peer that is missing is listed as skipped, with the reason.

mod measure;
mod report;
mod workloads;

use indicatif::{ProgressBar, ProgressStyle};
use measure::Sample;
use report::{Outcome, Row};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use workloads::{Workload, WORKLOADS};

struct Options {
    python: Option<String>,
    rounds: usize,
    repeats: usize,
    only: Option<Vec<String>>,
    quick: bool,
}

fn value<'a>(args: &'a [String], flag: &str) -> Option<&'a str> {
    args.iter().position(|a| a == flag).and_then(|i| args.get(i + 1)).map(String::as_str)
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// `taskset -c 1` in front of one-thread runs where the machine has a second core to pin to.
fn command(program: &str, threads: usize) -> Command {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let taskset = Command::new("taskset").arg("-V").output().is_ok();
    if threads == 1 && cores > 1 && taskset {
        let mut c = Command::new("taskset");
        c.args(["-c", "1", program]);
        c
    } else {
        Command::new(program)
    }
}

/// Runs one measuring process and reads its `RESULT` (or `SKIP`) line.
fn run(mut cmd: Command) -> Outcome {
    match cmd.output() {
        Err(e) => Outcome::Skipped(format!("could not start: {e}")),
        Ok(out) => {
            let stdout = String::from_utf8_lossy(&out.stdout);
            if let Some(sample) = stdout.lines().find_map(Sample::parse) {
                return Outcome::Measured(vec![sample]);
            }
            if let Some(why) = stdout.lines().find_map(|l| l.strip_prefix("SKIP ")) {
                return Outcome::Skipped(why.to_string());
            }
            let stderr = String::from_utf8_lossy(&out.stderr);
            let last = stderr.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("no output");
            Outcome::Skipped(format!("failed: {last}"))
        }
    }
}

/// The worker: time one workload in this process and print its line.
fn worker(w: &Workload, threads: usize, repeats: usize, quick: bool) {
    tapegrad::graph::set_num_threads(threads);
    let steps = if quick { (w.steps / 5).max(1) } else { w.steps };
    let id = w.id.to_string();
    // W5 runs in a 256 KiB stack (the workload's point: no recursion); the rest on the main
    // thread, as a program would run them (a spawned thread allocates from another malloc
    // arena, which returns large blocks to the OS sooner and so page-faults more).
    let sample = if id == "W5" {
        std::thread::Builder::new()
            .stack_size(256 * 1024)
            .spawn(move || measure::time(workloads::step(&id), steps, repeats))
            .expect("a measuring thread")
            .join()
            .expect("the workload ran")
    } else {
        measure::time(workloads::step(&id), steps, repeats)
    };
    println!("{}", sample.line());
}

const USAGE: &str =
    "usage: tapegrad-bench [--python PATH] [--rounds N] [--repeats N] [--only W2,W7] [--quick] | --profile W3r
  --python PATH   the Python with torch, jax and micrograd (default: python3 if found)
  --rounds N      rounds of the whole comparison, each side once per round (default 3; --quick 1)
  --repeats N     timed repeats per run; a run's figure is their median (default 7; --quick 3)
  --only IDS      only these workloads, comma-separated (W1 W1r W2 W3 W3r W4 W5 W6 W7 W8)
  --quick         fewer steps, repeats and rounds: a smoke run, not figures to quote
  --profile W3r   only print where W3r's replayed step spends its time, step by step
writes out/bench/report.md and out/bench/ratios.svg";

/// The flags that take a value, and those that do not.
const VALUE_FLAGS: &[&str] = &["--python", "--rounds", "--repeats", "--only", "--worker", "--threads", "--profile"];
const SWITCHES: &[&str] = &["--quick"];
/// The workloads `--profile` takes: the replayed ones whose steps are few enough to list.
const PROFILED: &[&str] = &["W3r"];

/// Refuses flags it does not know and workloads that do not exist, so a typo is not a
/// 12-minute run of something else.
fn check_args(args: &[String]) -> Result<(), String> {
    let mut rest = args.iter().skip(1);
    while let Some(arg) = rest.next() {
        if VALUE_FLAGS.contains(&arg.as_str()) {
            let value = rest.next().ok_or_else(|| format!("{arg} needs a value\n{USAGE}"))?;
            if arg == "--profile" && !PROFILED.contains(&value.as_str()) {
                return Err(format!("--profile takes {}, not {value}\n{USAGE}", PROFILED.join(", ")));
            }
            if arg == "--only" || arg == "--worker" {
                for id in value.split(',') {
                    if !WORKLOADS.iter().any(|w| w.id == id) {
                        return Err(format!("no workload {id}\n{USAGE}"));
                    }
                }
            }
        } else if !SWITCHES.contains(&arg.as_str()) {
            return Err(format!("unknown argument {arg}\n{USAGE}"));
        }
    }
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    if args.iter().any(|a| a == "--help" || a == "-h") {
        println!("{USAGE}");
        return Ok(());
    }
    if let Err(message) = check_args(&args) {
        eprintln!("{message}");
        std::process::exit(2);
    }
    let quick = args.iter().any(|a| a == "--quick");
    let repeats: usize = value(&args, "--repeats").map_or(Ok(if quick { 3 } else { 7 }), str::parse)?;
    if value(&args, "--profile").is_some() {
        tapegrad::graph::set_num_threads(1);
        println!("W3r, one replayed training step (forward and backward; SGD's update not included):");
        println!("{}", workloads::w3r_profile(if quick { 2_000 } else { 20_000 }));
        return Ok(());
    }
    if let Some(id) = value(&args, "--worker") {
        let threads = value(&args, "--threads").map_or(Ok(1), str::parse)?;
        let w = WORKLOADS.iter().find(|w| w.id == id).ok_or_else(|| format!("no workload {id}"))?;
        worker(w, threads, repeats, quick);
        return Ok(());
    }
    let options = Options {
        python: value(&args, "--python")
            .map(str::to_string)
            .or_else(|| Command::new("python3").arg("--version").output().ok().map(|_| "python3".to_string())),
        rounds: value(&args, "--rounds").map_or(Ok(if quick { 1 } else { 3 }), str::parse)?,
        repeats,
        only: value(&args, "--only").map(|s| s.split(',').map(str::to_string).collect()),
        quick,
    };
    let exe = std::env::current_exe()?.display().to_string();
    let peer_script = root().join("benches/peers/peer.py");
    let chosen: Vec<_> =
        WORKLOADS.iter().filter(|w| options.only.as_ref().is_none_or(|only| only.iter().any(|o| o == w.id))).collect();
    let mut rows: Vec<Row<'_>> = chosen
        .iter()
        .flat_map(|w| w.threads.iter().map(move |&t| Row { workload: w, threads: t, sides: BTreeMap::new() }))
        .collect();
    let runs: usize = rows.iter().map(|r| 1 + r.workload.peers.len()).sum::<usize>() * options.rounds;
    let bar = ProgressBar::new(runs as u64);
    bar.set_style(ProgressStyle::with_template("{bar:40} {pos}/{len} {msg} [{elapsed}]")?);
    for round in 0..options.rounds {
        for row in rows.iter_mut() {
            let (id, threads) = (row.workload.id, row.threads);
            let mut sides: Vec<(&'static str, Command)> = Vec::new();
            let mut ours = command(&exe, threads);
            ours.args(["--worker", id, "--threads", &threads.to_string(), "--repeats", &options.repeats.to_string()]);
            if options.quick {
                ours.arg("--quick");
            }
            sides.push(("tapegrad", ours));
            for &peer in row.workload.peers {
                let Some(python) = &options.python else {
                    row.sides.insert(peer, Outcome::Skipped("no Python found (pass --python PATH)".into()));
                    bar.inc(1);
                    continue;
                };
                let mut cmd = command(python, threads);
                cmd.arg(&peer_script).args([row.workload.peer_workload, peer, "--threads", &threads.to_string()]);
                cmd.args(["--repeats", &options.repeats.to_string()]);
                if options.quick {
                    cmd.arg("--quick");
                }
                sides.push((peer, cmd));
            }
            for (side, cmd) in sides {
                bar.set_message(format!("round {} {id} ×{threads} {side}", round + 1));
                let outcome = run(cmd);
                match (row.sides.get_mut(side), outcome) {
                    (Some(Outcome::Measured(all)), Outcome::Measured(new)) => all.extend(new),
                    (_, outcome) => {
                        row.sides.insert(side, outcome);
                    }
                }
                bar.inc(1);
            }
        }
    }
    bar.finish_with_message("done");

    let out = root().join("out/bench");
    std::fs::create_dir_all(&out)?;
    let machine = format!(
        "{} ({} cores)",
        std::fs::read_to_string("/proc/cpuinfo")
            .ok()
            .and_then(|s| s
                .lines()
                .find_map(|l| l.strip_prefix("model name").map(|m| m.trim_start_matches([' ', '\t', ':']).to_string())))
            .unwrap_or_else(|| "this machine".into()),
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    let when = Command::new("date").arg("-u").arg("+%Y-%m-%d %H:%M UTC").output().ok().map_or_else(
        || "One sitting".into(),
        |o| format!("One sitting, {}", String::from_utf8_lossy(&o.stdout).trim()),
    );
    let text = report::markdown(&rows, options.rounds, &when, &machine);
    std::fs::write(out.join("report.md"), &text)?;
    report::chart(&out.join("ratios.svg"), &report::ratios(&rows))?;
    println!("{text}");
    println!("wrote {} and {}", out.join("report.md").display(), out.join("ratios.svg").display());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::check_args;

    fn args(list: &[&str]) -> Vec<String> {
        std::iter::once("tapegrad-bench").chain(list.iter().copied()).map(str::to_string).collect()
    }

    #[test]
    fn known_flags_pass_and_typos_are_refused() {
        assert_eq!(check_args(&args(&["--only", "W2,W7", "--quick", "--rounds", "2"])), Ok(()));
        assert!(check_args(&args(&["--onyl", "W3"])).unwrap_err().starts_with("unknown argument --onyl"));
        assert!(check_args(&args(&["--only", "W3,W9"])).unwrap_err().starts_with("no workload W9"));
        assert!(check_args(&args(&["--rounds"])).unwrap_err().starts_with("--rounds needs a value"));
    }
}
