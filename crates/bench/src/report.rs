//! The report: a Markdown table (tapegrad, each peer, the ratio, peak memory) and an SVG chart
//! of the ratios.

use crate::measure::Sample;
use crate::workloads::Workload;
use plotters::prelude::*;
use std::collections::BTreeMap;
use std::fmt::Write;
use std::path::Path;

/// What one side gave for one (workload, threads) row.
#[derive(Clone, Debug)]
pub enum Outcome {
    /// Figures from every round.
    Measured(Vec<Sample>),
    /// Why it did not run.
    Skipped(String),
}

/// One row: a workload at a thread count, with every side's outcome.
pub struct Row<'w> {
    /// The workload.
    pub workload: &'w Workload,
    /// Threads.
    pub threads: usize,
    /// `tapegrad`, `torch`, `jax`, `micrograd` → outcome.
    pub sides: BTreeMap<&'static str, Outcome>,
}

/// The figures over rounds: the median of the rounds' medians, the fastest and slowest repeat
/// of any round, the largest peak memory.
pub fn combine(samples: &[Sample], per_step: usize) -> Sample {
    let mut medians: Vec<f64> = samples.iter().map(|s| s.median).collect();
    medians.sort_by(f64::total_cmp);
    let unit = per_step as f64;
    Sample {
        median: medians[medians.len() / 2] / unit,
        min: samples.iter().map(|s| s.min).fold(f64::INFINITY, f64::min) / unit,
        max: samples.iter().map(|s| s.max).fold(0.0, f64::max) / unit,
        rss_kb: samples.iter().map(|s| s.rss_kb).max().unwrap_or(0),
    }
}

fn seconds(s: f64) -> String {
    if s >= 1.0 {
        format!("{s:.2} s")
    } else if s >= 1e-3 {
        format!("{:.3} ms", s * 1e3)
    } else if s >= 1e-6 {
        format!("{:.2} µs", s * 1e6)
    } else {
        format!("{:.1} ns", s * 1e9)
    }
}

fn cell(s: &Sample, workload: &str) -> String {
    let time = if workload == "W4" {
        format!("{:.1} GFLOP/s", 2.0 * 1024f64.powi(3) / s.median / 1e9)
    } else {
        seconds(s.median)
    };
    format!("{time} ({}–{}), {:.0} MiB", seconds(s.min), seconds(s.max), s.rss_kb as f64 / 1024.0)
}

/// The Markdown report.
pub fn markdown(rows: &[Row<'_>], rounds: usize, when: &str, machine: &str) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# tapegrad benchmarks\n");
    let _ = writeln!(
        out,
        "{when}, {machine}. Every side in its own process, one after the other and round by round \
         ({rounds} rounds); one-thread rows pinned to one core with `taskset`. Each cell: the median \
         over rounds of the median over repeats of the mean step time (W4: GFLOP/s), then the fastest \
         and slowest repeat, then the process's peak resident memory. Ratio: the peer's time over \
         tapegrad's (above 1, tapegrad is faster).\n"
    );
    let _ = writeln!(out, "| id | threads | workload | tapegrad | peer | peer's figure | ratio |");
    let _ = writeln!(out, "|----|--:|----------|---------:|------|-------:|------:|");
    for row in rows {
        let w = row.workload;
        let ours = match row.sides.get("tapegrad") {
            Some(Outcome::Measured(s)) => Some(combine(s, w.per_step)),
            _ => None,
        };
        let ours_text = match (&ours, row.sides.get("tapegrad")) {
            (Some(s), _) => cell(s, w.id),
            (None, Some(Outcome::Skipped(why))) => format!("skipped: {why}"),
            _ => "—".into(),
        };
        if w.peers.is_empty() {
            let _ = writeln!(out, "| {} | {} | {} | {ours_text} | — | — | — |", w.id, row.threads, w.what);
        }
        for peer in w.peers {
            let (figure, ratio) = match row.sides.get(peer) {
                Some(Outcome::Measured(s)) => {
                    let theirs = combine(s, 1);
                    let ratio = ours.map_or("—".into(), |o| format!("{:.2}×", theirs.median / o.median));
                    (cell(&theirs, w.id), ratio)
                }
                Some(Outcome::Skipped(why)) => (format!("skipped: {why}"), "—".into()),
                None => ("not run".into(), "—".into()),
            };
            let _ = writeln!(
                out,
                "| {} | {} | {} | {ours_text} | {peer} | {figure} | {ratio} |",
                w.id, row.threads, w.what
            );
        }
    }
    out
}

/// Every measured ratio: (label, peer, ratio).
pub fn ratios(rows: &[Row<'_>]) -> Vec<(String, &'static str, f64)> {
    let mut out = Vec::new();
    for row in rows {
        let Some(Outcome::Measured(ours)) = row.sides.get("tapegrad") else { continue };
        let ours = combine(ours, row.workload.per_step);
        for peer in row.workload.peers {
            if let Some(Outcome::Measured(s)) = row.sides.get(peer) {
                out.push((format!("{} ×{}", row.workload.id, row.threads), *peer, combine(s, 1).median / ours.median));
            }
        }
    }
    out
}

/// A bar per (workload, peer): how many times faster tapegrad is, on a log scale.
pub fn chart(path: &Path, ratios: &[(String, &'static str, f64)]) -> Result<(), Box<dyn std::error::Error>> {
    let height = 80 + 22 * ratios.len().max(1) as u32;
    let root = SVGBackend::new(path, (900, height)).into_drawing_area();
    root.fill(&WHITE)?;
    let top = ratios.iter().map(|r| r.2).fold(10.0, f64::max) * 2.0;
    let bottom = ratios.iter().map(|r| r.2).fold(0.5, f64::min) / 2.0;
    let labels: Vec<String> = ratios.iter().map(|(l, p, _)| format!("{l} vs {p}")).collect();
    let mut chart = ChartBuilder::on(&root)
        .caption("tapegrad's speed-up over each peer (peer time / tapegrad time; log scale)", ("sans-serif", 18))
        .margin(10)
        .x_label_area_size(30)
        .y_label_area_size(150)
        .build_cartesian_2d((bottom..top).log_scale(), 0..ratios.len())?;
    chart
        .configure_mesh()
        .y_labels(ratios.len())
        .y_label_formatter(&|i| labels.get(*i).cloned().unwrap_or_default())
        .x_desc("× faster")
        .draw()?;
    let colour = |peer: &str| match peer {
        "torch" => RGBColor(238, 76, 44),
        "jax" => RGBColor(66, 133, 244),
        _ => RGBColor(120, 120, 120),
    };
    chart.draw_series(
        ratios
            .iter()
            .enumerate()
            .map(|(i, (_, peer, r))| Rectangle::new([(bottom, i), (*r, i + 1)], colour(peer).mix(0.8).filled())),
    )?;
    chart.draw_series(std::iter::once(PathElement::new(vec![(1.0, 0), (1.0, ratios.len())], BLACK)))?;
    root.present()?;
    Ok(())
}
