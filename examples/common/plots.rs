//! SVG pictures shared by the examples: a decision boundary over 2-d points and a training
//! curve. Drawn with plotters' SVG backend (no fonts or system libraries needed).

#![allow(dead_code)]

use plotters::prelude::*;
use std::path::{Path, PathBuf};

/// Where the examples write their pictures: `out/` under the current directory.
pub fn out_dir() -> PathBuf {
    let dir = PathBuf::from("out");
    std::fs::create_dir_all(&dir).expect("cannot create the out/ directory");
    dir
}

/// The decision boundary of `score` (positive = class 1) over the points' range, with the
/// points on top, as an SVG.
pub fn decision_boundary(
    path: &Path,
    title: &str,
    points: &[[f64; 2]],
    classes: &[usize],
    score: impl Fn(f64, f64) -> f64,
) -> Result<(), Box<dyn std::error::Error>> {
    let (mut x0, mut x1, mut y0, mut y1) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
    for p in points {
        x0 = x0.min(p[0]);
        x1 = x1.max(p[0]);
        y0 = y0.min(p[1]);
        y1 = y1.max(p[1]);
    }
    let (x0, x1, y0, y1) = (x0 - 0.5, x1 + 0.5, y0 - 0.5, y1 + 0.5);
    let root = SVGBackend::new(path, (640, 560)).into_drawing_area();
    root.fill(&WHITE)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 20))
        .margin(10)
        .x_label_area_size(30)
        .y_label_area_size(40)
        .build_cartesian_2d(x0..x1, y0..y1)?;
    chart.configure_mesh().disable_mesh().draw()?;
    let steps = 60;
    let (dx, dy) = ((x1 - x0) / steps as f64, (y1 - y0) / steps as f64);
    let cells = (0..steps).flat_map(|i| (0..steps).map(move |j| (i, j)));
    chart.draw_series(cells.map(|(i, j)| {
        let (x, y) = (x0 + i as f64 * dx, y0 + j as f64 * dy);
        let color =
            if score(x + dx / 2.0, y + dy / 2.0) > 0.0 { RGBColor(255, 214, 170) } else { RGBColor(180, 205, 240) };
        Rectangle::new([(x, y), (x + dx, y + dy)], color.filled())
    }))?;
    chart.draw_series(points.iter().zip(classes).map(|(p, &c)| {
        let color = if c == 1 { RGBColor(220, 100, 0) } else { RGBColor(20, 70, 170) };
        Circle::new((p[0], p[1]), 4, color.filled())
    }))?;
    root.present()?;
    Ok(())
}

/// Loss (left axis) and accuracy in percent (right axis) per step or epoch, as an SVG.
pub fn training_curve(
    path: &Path,
    title: &str,
    x_label: &str,
    losses: &[f64],
    accuracies: &[f64],
) -> Result<(), Box<dyn std::error::Error>> {
    let root = SVGBackend::new(path, (640, 400)).into_drawing_area();
    root.fill(&WHITE)?;
    let max_loss = losses.iter().cloned().fold(0.0, f64::max) * 1.05;
    let steps = losses.len().max(1) as f64;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 20))
        .margin(10)
        .x_label_area_size(30)
        .y_label_area_size(50)
        .right_y_label_area_size(50)
        .build_cartesian_2d(0.0..steps, 0.0..max_loss)?
        .set_secondary_coord(0.0..steps, 0.0..100.0);
    chart.configure_mesh().x_desc(x_label).y_desc("loss").draw()?;
    chart.configure_secondary_axes().y_desc("accuracy %").draw()?;
    chart
        .draw_series(LineSeries::new(losses.iter().enumerate().map(|(i, &l)| (i as f64, l)), &RED))?
        .label("loss")
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], RED));
    chart
        .draw_secondary_series(LineSeries::new(
            accuracies.iter().enumerate().map(|(i, &a)| (i as f64, a * 100.0)),
            &BLUE,
        ))?
        .label("accuracy")
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], BLUE));
    chart.configure_series_labels().background_style(WHITE.mix(0.8)).border_style(BLACK).draw()?;
    root.present()?;
    Ok(())
}

/// A loss surface over two parameters as a heatmap (log scale, dark = low), with the path
/// gradient descent took on top (a line, its start marked), as an SVG.
pub fn loss_surface(
    path: &Path,
    title: &str,
    (x_label, x_range): (&str, std::ops::Range<f64>),
    (y_label, y_range): (&str, std::ops::Range<f64>),
    loss: impl Fn(f64, f64) -> f64,
    steps_taken: &[(f64, f64)],
) -> Result<(), Box<dyn std::error::Error>> {
    let root = SVGBackend::new(path, (640, 560)).into_drawing_area();
    root.fill(&WHITE)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 20))
        .margin(10)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(x_range.clone(), y_range.clone())?;
    let cells = 80;
    let (dx, dy) = ((x_range.end - x_range.start) / cells as f64, (y_range.end - y_range.start) / cells as f64);
    let grid: Vec<(f64, f64, f64)> = (0..cells)
        .flat_map(|i| (0..cells).map(move |j| (i, j)))
        .map(|(i, j)| {
            let (x, y) = (x_range.start + i as f64 * dx, y_range.start + j as f64 * dy);
            (x, y, loss(x + dx / 2.0, y + dy / 2.0).max(1e-12).ln())
        })
        .collect();
    let (lo, hi) = grid.iter().fold((f64::MAX, f64::MIN), |(lo, hi), c| (lo.min(c.2), hi.max(c.2)));
    chart.draw_series(grid.iter().map(|&(x, y, l)| {
        let t = ((l - lo) / (hi - lo).max(1e-12)).clamp(0.0, 1.0);
        let shade = |dark: f64, light: f64| (dark + (light - dark) * t) as u8;
        let color = RGBColor(shade(20.0, 250.0), shade(60.0, 245.0), shade(120.0, 235.0));
        Rectangle::new([(x, y), (x + dx, y + dy)], color.filled())
    }))?;
    chart.configure_mesh().disable_mesh().x_desc(x_label).y_desc(y_label).draw()?;
    chart.draw_series(LineSeries::new(steps_taken.iter().copied(), RGBColor(230, 90, 20).stroke_width(2)))?;
    if let (Some(&first), Some(&last)) = (steps_taken.first(), steps_taken.last()) {
        chart.draw_series([Circle::new(first, 5, RGBColor(230, 90, 20).filled())])?;
        chart.draw_series([Cross::new(last, 7, BLACK.stroke_width(2))])?;
    }
    root.present()?;
    Ok(())
}
