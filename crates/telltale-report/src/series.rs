//! The series figure: readings on top with labelled windows shaded and
//! detections marked, the score below with its threshold.

use plotters::coord::Shift;
use plotters::prelude::*;

use crate::draw::{Chart, DrawResult, FONT, legend, padded, palette, score_ceiling, text};
use crate::record::ScoreRow;

/// Channels drawn at most (the rest are named in the caption).
pub(crate) const MAX_CHANNELS: usize = 4;
/// Points per drawn line at most; longer lines keep each bucket's minimum and maximum.
const MAX_POINTS: usize = 2000;

/// One series of a run.
pub(crate) struct SeriesChart<'a> {
    pub(crate) name: &'a str,
    /// The series' items, sorted by row.
    pub(crate) rows: Vec<&'a ScoreRow>,
    pub(crate) channels: &'a [String],
    pub(crate) threshold: Option<f64>,
}

impl SeriesChart<'_> {
    /// Runs of consecutive items (in row order, no gap) for which `pick` holds, as row ranges.
    fn runs(&self, pick: impl Fn(&ScoreRow) -> bool) -> Vec<(f64, f64)> {
        let gap = self.gap();
        let mut out: Vec<(f64, f64)> = Vec::new();
        let mut prev: Option<usize> = None;
        for r in &self.rows {
            let joined = prev.is_some_and(|p| r.row.saturating_sub(p) <= gap);
            if pick(r) {
                match out.last_mut() {
                    Some(last) if joined && last.1 == prev.map_or(-1.0, |p| p as f64 + 1.0) => {
                        last.1 = r.row as f64 + 1.0
                    }
                    _ => out.push((r.row as f64, r.row as f64 + 1.0)),
                }
            }
            prev = Some(r.row);
        }
        out
    }

    /// The largest row step that still joins two items (5 × the median step).
    fn gap(&self) -> usize {
        let mut steps: Vec<usize> = self.rows.windows(2).map(|w| w[1].row.saturating_sub(w[0].row)).collect();
        if steps.is_empty() {
            return 1;
        }
        steps.sort_unstable();
        (steps[steps.len() / 2] * 5).max(1)
    }

    /// The line through `value` of each item, broken at gaps and thinned.
    fn lines(&self, value: impl Fn(&ScoreRow) -> f64) -> Vec<Vec<(f64, f64)>> {
        let gap = self.gap();
        let mut lines: Vec<Vec<(f64, f64)>> = Vec::new();
        let mut prev: Option<usize> = None;
        for r in &self.rows {
            if prev.is_none_or(|p| r.row.saturating_sub(p) > gap) {
                lines.push(Vec::new());
            }
            if let Some(line) = lines.last_mut() {
                line.push((r.row as f64, value(r)));
            }
            prev = Some(r.row);
        }
        lines.into_iter().map(thin).collect()
    }

    /// The channels drawn, in their order: all when they fit, else the [`MAX_CHANNELS`] whose
    /// z-scored mean differs most between flagged and unflagged items (the first ones when nothing,
    /// or everything, is flagged).
    fn picked(&self) -> Vec<usize> {
        let n = self.channels.len();
        if n <= MAX_CHANNELS {
            return (0..n).collect();
        }
        let moved = |c: usize| {
            let (mean, std) = moments(&self.rows, c);
            let side = |flag: bool| {
                let v: Vec<f64> = self
                    .rows
                    .iter()
                    .filter(|r| r.flag == flag && r.values[c].is_finite())
                    .map(|r| (r.values[c] - mean) / std)
                    .collect();
                (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
            };
            match (side(true), side(false)) {
                (Some(a), Some(b)) => (a - b).abs(),
                _ => 0.0,
            }
        };
        let mut order: Vec<(usize, f64)> = (0..n).map(|c| (c, moved(c))).collect();
        order.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        let mut picked: Vec<usize> = order.into_iter().take(MAX_CHANNELS).map(|(c, _)| c).collect();
        picked.sort_unstable();
        picked
    }

    fn caption(&self) -> String {
        let labelled = self.runs(|r| r.label == Some(1)).len();
        let flagged = self.rows.iter().filter(|r| r.flag).count();
        let labels = if self.rows.iter().any(|r| r.label.is_some()) {
            format!(", {labelled} labelled anomal{}", if labelled == 1 { "y" } else { "ies" })
        } else {
            String::new()
        };
        format!("{}: {} scored{labels}, {flagged} flagged", self.name, self.rows.len())
    }
}

/// Keeps at most [`MAX_POINTS`] points: each bucket's minimum and maximum, in order.
fn thin(line: Vec<(f64, f64)>) -> Vec<(f64, f64)> {
    if line.len() <= MAX_POINTS {
        return line;
    }
    let per = line.len().div_ceil(MAX_POINTS / 2);
    let mut out = Vec::with_capacity(MAX_POINTS);
    for bucket in line.chunks(per) {
        let lo = bucket.iter().min_by(|a, b| a.1.total_cmp(&b.1)).copied();
        let hi = bucket.iter().max_by(|a, b| a.1.total_cmp(&b.1)).copied();
        if let (Some(lo), Some(hi)) = (lo, hi) {
            if lo.0 <= hi.0 {
                out.extend([lo, hi]);
            } else {
                out.extend([hi, lo]);
            }
        }
    }
    out
}

/// Mean and standard deviation of channel `c` over the items (std 1 when flat).
fn moments(rows: &[&ScoreRow], c: usize) -> (f64, f64) {
    let v: Vec<f64> = rows.iter().map(|r| r.values[c]).filter(|x| x.is_finite()).collect();
    let (mean, std) = telltale_core::threshold::mean_std(&v);
    (mean, if std > 0.0 { std } else { 1.0 })
}

impl Chart for SeriesChart<'_> {
    fn size(&self) -> (u32, u32) {
        (1200, 560)
    }

    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> DrawResult {
        let Some(first) = self.rows.first() else { return Ok(()) };
        let x0 = first.row as f64;
        let x1 = self.rows.last().map_or(x0 + 1.0, |r| r.row as f64 + 1.0).max(x0 + 1.0);
        let (top, bottom) = area.split_vertically((58).percent_height());
        let labelled = self.runs(|r| r.label == Some(1));
        let flagged = self.runs(|r| r.flag);

        // Readings, z-scored per channel so they share one axis.
        let picked = self.picked();
        let shown = picked.len();
        let z: Vec<(f64, f64)> = picked.iter().map(|&c| moments(&self.rows, c)).collect();
        let lines: Vec<Vec<Vec<(f64, f64)>>> =
            picked.iter().zip(&z).map(|(&c, z)| self.lines(|r| (r.values[c] - z.0) / z.1)).collect();
        let (lo, hi) = lines
            .iter()
            .flatten()
            .flatten()
            .filter(|p| p.1.is_finite())
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), p| (lo.min(p.1), hi.max(p.1)));
        let (lo, hi) = if shown == 0 { (0.0, 1.0) } else { padded(lo, hi) };
        let band = (hi - lo) * 0.06;
        let mut caption = self.caption();
        if self.channels.len() > shown {
            caption += &format!(" ({shown} of {} channels: those that moved most where flagged)", self.channels.len());
        }
        let mut chart = ChartBuilder::on(&top)
            .caption(caption, (FONT, 18))
            .margin(8)
            .x_label_area_size(0)
            .y_label_area_size(55)
            .build_cartesian_2d(x0..x1, lo..hi + band)
            .map_err(text)?;
        chart
            .configure_mesh()
            .light_line_style(TRANSPARENT)
            .bold_line_style(BLACK.mix(0.08))
            .disable_x_mesh()
            .y_desc("reading (z-score)")
            .label_style((FONT, 13))
            .draw()
            .map_err(text)?;
        let shade = palette::ANOMALY.mix(0.15).filled();
        chart
            .draw_series(labelled.iter().map(|&(a, b)| Rectangle::new([(a, lo), (b, hi + band)], shade)))
            .map_err(text)?
            .label("labelled anomaly")
            .legend(move |(x, y)| Rectangle::new([(x, y - 6), (x + 18, y + 6)], shade));
        for (c, channel_lines) in lines.iter().enumerate() {
            let color = palette::CHANNELS[c % palette::CHANNELS.len()];
            for (k, line) in channel_lines.iter().enumerate() {
                let drawn = chart.draw_series(LineSeries::new(line.iter().copied(), color)).map_err(text)?;
                if k == 0 {
                    drawn
                        .label(self.channels[picked[c]].clone())
                        .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], color.stroke_width(2)));
                }
            }
        }
        let mark = palette::ANOMALY.filled();
        chart
            .draw_series(flagged.iter().map(|&(a, b)| Rectangle::new([(a, hi), (b, hi + band)], mark)))
            .map_err(text)?
            .label("flagged by the detector")
            .legend(move |(x, y)| TriangleMarker::new((x + 9, y), 6, mark));
        chart
            .draw_series(flagged.iter().map(|&(a, _)| TriangleMarker::new((a, hi + band * 0.5), 5, mark)))
            .map_err(text)?;
        legend(&mut chart, SeriesLabelPosition::UpperLeft)?;

        // The score and its threshold.
        let scores: Vec<f64> = self.rows.iter().map(|r| r.score).collect();
        let ceiling = score_ceiling(&scores, self.threshold);
        let floor = scores.iter().copied().filter(|x| x.is_finite()).fold(f64::INFINITY, f64::min);
        let (slo, shi) = padded(floor.min(self.threshold.unwrap_or(floor)), ceiling);
        let mut chart = ChartBuilder::on(&bottom)
            .margin(8)
            .x_label_area_size(35)
            .y_label_area_size(55)
            .build_cartesian_2d(x0..x1, slo..shi)
            .map_err(text)?;
        chart
            .configure_mesh()
            .light_line_style(TRANSPARENT)
            .bold_line_style(BLACK.mix(0.08))
            .disable_x_mesh()
            .x_desc("row")
            .x_label_formatter(&|x| format!("{x:.0}"))
            .y_desc("anomaly score")
            .label_style((FONT, 13))
            .draw()
            .map_err(text)?;
        chart.draw_series(labelled.iter().map(|&(a, b)| Rectangle::new([(a, slo), (b, shi)], shade))).map_err(text)?;
        let clip = |y: f64| if y.is_finite() { y.clamp(slo, shi) } else { shi };
        for (k, line) in self.lines(|r| r.score).into_iter().enumerate() {
            let drawn = chart
                .draw_series(LineSeries::new(line.into_iter().map(|(x, y)| (x, clip(y))), palette::SCORE))
                .map_err(text)?;
            if k == 0 {
                drawn
                    .label("score")
                    .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], palette::SCORE.stroke_width(2)));
            }
        }
        if let Some(t) = self.threshold.filter(|t| t.is_finite()) {
            let style = palette::THRESHOLD.stroke_width(2);
            chart
                .draw_series(DashedLineSeries::new([(x0, t), (x1, t)], 8, 5, style))
                .map_err(text)?
                .label(format!("threshold {}", short(t)))
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], style));
        }
        chart
            .draw_series(
                self.rows.iter().filter(|r| r.flag).map(|r| Circle::new((r.row as f64, clip(r.score)), 2, mark)),
            )
            .map_err(text)?
            .label("flagged")
            .legend(move |(x, y)| Circle::new((x + 9, y), 3, mark));
        legend(&mut chart, SeriesLabelPosition::UpperLeft)?;
        Ok(())
    }
}

/// A number in four significant digits.
pub(crate) fn short(x: f64) -> String {
    if x == 0.0 || !x.is_finite() {
        return format!("{x}");
    }
    let digits = (3 - x.abs().log10().floor() as i32).clamp(0, 8) as usize;
    if x.abs() >= 1e5 || x.abs() < 1e-4 { format!("{x:.3e}") } else { format!("{x:.digits$}") }
}
