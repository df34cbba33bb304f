//! Whole-run figures: losses per epoch, ROC and PR curves, the confusion
//! matrix and the score histogram.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use telltale_core::metrics::Confusion;

use crate::draw::{Chart, DrawResult, FONT, legend, padded, palette, quantile, score_ceiling, text};
use crate::record::Epoch;
use crate::series::short;

fn line_legend(color: RGBColor) -> impl Fn((i32, i32)) -> PathElement<(i32, i32)> {
    move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], color.stroke_width(2))
}

/// Training and validation loss per epoch, the epoch of lowest validation loss marked.
pub(crate) struct LossChart<'a> {
    pub(crate) history: &'a [Epoch],
}

impl Chart for LossChart<'_> {
    fn size(&self) -> (u32, u32) {
        (640, 420)
    }

    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> DrawResult {
        let values = self.history.iter().flat_map(|e| [Some(e.train_loss), e.val_loss]).flatten();
        let (lo, hi) = values
            .filter(|v| v.is_finite())
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| (lo.min(v), hi.max(v)));
        let (lo, hi) = padded(lo.min(0.0), hi);
        let last = self.history.last().map_or(1, |e| e.epoch) as f64;
        let best =
            self.history.iter().filter_map(|e| e.val_loss.map(|v| (e.epoch, v))).min_by(|a, b| a.1.total_cmp(&b.1));
        let mut chart = ChartBuilder::on(area)
            .caption("Loss per epoch", (FONT, 18))
            .margin(10)
            .x_label_area_size(35)
            .y_label_area_size(60)
            .build_cartesian_2d(0.5..last + 0.5, lo..hi)
            .map_err(text)?;
        chart
            .configure_mesh()
            .light_line_style(TRANSPARENT)
            .bold_line_style(BLACK.mix(0.08))
            .x_desc("epoch")
            .y_desc("loss")
            .x_label_formatter(&|x| format!("{x:.0}"))
            .label_style((FONT, 13))
            .draw()
            .map_err(text)?;
        let train: Vec<(f64, f64)> = self.history.iter().map(|e| (e.epoch as f64, e.train_loss)).collect();
        chart
            .draw_series(LineSeries::new(train.iter().copied(), palette::SCORE.stroke_width(2)))
            .map_err(text)?
            .label("training")
            .legend(line_legend(palette::SCORE));
        chart.draw_series(train.iter().map(|&p| Circle::new(p, 3, palette::SCORE.filled()))).map_err(text)?;
        let val: Vec<(f64, f64)> =
            self.history.iter().filter_map(|e| e.val_loss.map(|v| (e.epoch as f64, v))).collect();
        if !val.is_empty() {
            chart
                .draw_series(LineSeries::new(val.iter().copied(), palette::THRESHOLD.stroke_width(2)))
                .map_err(text)?
                .label("validation")
                .legend(line_legend(palette::THRESHOLD));
            chart.draw_series(val.iter().map(|&p| Circle::new(p, 3, palette::THRESHOLD.filled()))).map_err(text)?;
        }
        if let Some((epoch, _)) = best {
            let style = BLACK.mix(0.6).stroke_width(2);
            chart
                .draw_series(DashedLineSeries::new([(epoch as f64, lo), (epoch as f64, hi)], 6, 4, style))
                .map_err(text)?
                .label(format!("lowest validation loss: epoch {epoch}"))
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], style));
        }
        legend(&mut chart, SeriesLabelPosition::UpperRight)
    }
}

/// A ranking curve (ROC or PR) with the detector's operating point.
pub(crate) struct CurveChart {
    /// Caption.
    pub(crate) title: String,
    /// Axis names (x, y).
    pub(crate) axes: (&'static str, &'static str),
    /// The curve's points.
    pub(crate) points: Vec<(f64, f64)>,
    /// What chance looks like: a line from the first to the second point.
    pub(crate) chance: ((f64, f64), (f64, f64)),
    /// The detector's own threshold, as a point.
    pub(crate) operating: Option<(f64, f64)>,
    /// Where the legend goes.
    pub(crate) legend: SeriesLabelPosition,
}

impl Chart for CurveChart {
    fn size(&self) -> (u32, u32) {
        (520, 480)
    }

    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> DrawResult {
        let mut chart = ChartBuilder::on(area)
            .caption(&self.title, (FONT, 18))
            .margin(10)
            .x_label_area_size(40)
            .y_label_area_size(50)
            .build_cartesian_2d(0.0..1.0, 0.0..1.02)
            .map_err(text)?;
        chart
            .configure_mesh()
            .light_line_style(TRANSPARENT)
            .bold_line_style(BLACK.mix(0.08))
            .x_desc(self.axes.0)
            .y_desc(self.axes.1)
            .label_style((FONT, 13))
            .draw()
            .map_err(text)?;
        let (a, b) = self.chance;
        chart
            .draw_series(DashedLineSeries::new([a, b], 6, 4, palette::REFERENCE.stroke_width(1)))
            .map_err(text)?
            .label("chance")
            .legend(line_legend(palette::REFERENCE));
        chart
            .draw_series(LineSeries::new(self.points.iter().copied(), palette::SCORE.stroke_width(2)))
            .map_err(text)?
            .label("detector's score")
            .legend(line_legend(palette::SCORE));
        if let Some(p) = self.operating {
            let mark = palette::ANOMALY.filled();
            chart
                .draw_series(std::iter::once(Circle::new(p, 5, mark)))
                .map_err(text)?
                .label("its threshold")
                .legend(move |(x, y)| Circle::new((x + 9, y), 4, mark));
        }
        legend(&mut chart, self.legend.clone())
    }
}

/// The 2 × 2 confusion matrix, counts and row shares.
pub(crate) struct ConfusionChart {
    pub(crate) confusion: Confusion,
}

impl Chart for ConfusionChart {
    fn size(&self) -> (u32, u32) {
        (480, 420)
    }

    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> DrawResult {
        let c = &self.confusion;
        let area = area.titled("Confusion matrix", (FONT, 18)).map_err(text)?;
        let (w, h) = area.dim_in_pixel();
        let (left, top) = (130_i32, 40_i32);
        let cell_w = (w as i32 - left - 20) / 2;
        let cell_h = (h as i32 - top - 20) / 2;
        let cells = [[(c.tn, "true normal"), (c.fp, "false alarm")], [(c.fn_, "missed"), (c.tp, "caught")]];
        let center = Pos::new(HPos::Center, VPos::Center);
        let heading = (FONT, 14).into_font().color(&BLACK).pos(center);
        for (k, name) in ["predicted normal", "flagged"].iter().enumerate() {
            let x = left + cell_w * k as i32 + cell_w / 2;
            area.draw(&Text::new(*name, (x, top / 2), heading.clone())).map_err(text)?;
        }
        for (row, name) in ["actually normal", "actually anomalous"].iter().enumerate() {
            let y = top + cell_h * row as i32 + cell_h / 2;
            let style = (FONT, 14).into_font().color(&BLACK).pos(Pos::new(HPos::Right, VPos::Center));
            area.draw(&Text::new(*name, (left - 8, y), style)).map_err(text)?;
            let total: usize = cells[row].iter().map(|c| c.0).sum();
            for (col, &(count, what)) in cells[row].iter().enumerate() {
                let share = if total == 0 { 0.0 } else { count as f64 / total as f64 };
                let good = row == col;
                let base = if good { palette::SCORE } else { palette::ANOMALY };
                let (x, y) = (left + cell_w * col as i32, top + cell_h * row as i32);
                let rect = Rectangle::new([(x, y), (x + cell_w, y + cell_h)], base.mix(0.1 + 0.6 * share).filled());
                area.draw(&rect).map_err(text)?;
                area.draw(&Rectangle::new([(x, y), (x + cell_w, y + cell_h)], WHITE.stroke_width(2))).map_err(text)?;
                let ink = if share > 0.6 { &WHITE } else { &BLACK };
                let (cx, cy) = (x + cell_w / 2, y + cell_h / 2);
                let big = (FONT, 26).into_font().color(ink).pos(center);
                let small = (FONT, 13).into_font().color(ink).pos(center);
                area.draw(&Text::new(count.to_string(), (cx, cy - 14), big)).map_err(text)?;
                let note = format!("{what}, {:.1} % of row", 100.0 * share);
                area.draw(&Text::new(note, (cx, cy + 16), small)).map_err(text)?;
            }
        }
        Ok(())
    }
}

/// Score histogram per class, with the threshold.
pub(crate) struct HistogramChart<'a> {
    pub(crate) scores: &'a [f64],
    /// Labels per score (`None` without labels: one histogram of all scores).
    pub(crate) labels: Option<Vec<u8>>,
    pub(crate) threshold: Option<f64>,
}

const BINS: usize = 40;

impl Chart for HistogramChart<'_> {
    fn size(&self) -> (u32, u32) {
        (640, 420)
    }

    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> DrawResult {
        let raw: Vec<f64> = self.scores.iter().copied().filter(|x| x.is_finite()).collect();
        // Heavy-tailed non-negative scores (most near zero, a few in the hundreds) read on a log axis.
        let median = quantile(&raw, 0.5);
        let log = raw.iter().all(|&x| x >= 0.0) && median > 0.0 && quantile(&raw, 0.99) > 20.0 * median;
        let positive: Vec<f64> = raw.iter().copied().filter(|&x| x > 0.0).collect();
        let floor = quantile(&positive, 0.001);
        let tx = |x: f64| if log { x.max(floor).log10() } else { x };
        let finite: Vec<f64> = raw.iter().map(|&x| tx(x)).collect();
        let threshold = self.threshold.filter(|t| t.is_finite()).map(tx);
        let lo = quantile(&finite, 0.0).min(threshold.unwrap_or(f64::INFINITY));
        let hi = if log { quantile(&finite, 1.0) } else { score_ceiling(&finite, threshold) }.max(lo + f64::EPSILON);
        let width = (hi - lo) / BINS as f64;
        let bin = |x: f64| (((x - lo) / width).floor().max(0.0) as usize).min(BINS - 1);
        let classes: Vec<(String, RGBColor, Vec<f64>)> = match &self.labels {
            Some(labels) => [(0_u8, "normal", palette::SCORE), (1, "anomalous", palette::ANOMALY)]
                .iter()
                .map(|&(class, name, color)| {
                    let mine: Vec<f64> = self
                        .scores
                        .iter()
                        .zip(labels)
                        .filter(|&(s, &l)| l == class && s.is_finite())
                        .map(|(&s, _)| tx(s))
                        .collect();
                    (format!("{name} ({})", mine.len()), color, mine)
                })
                .collect(),
            None => vec![(format!("all ({})", finite.len()), palette::SCORE, finite.clone())],
        };
        let shares: Vec<Vec<f64>> = classes
            .iter()
            .map(|(_, _, v)| {
                let mut counts = vec![0.0; BINS];
                for &x in v {
                    counts[bin(x)] += 1.0;
                }
                let n = v.len().max(1) as f64;
                counts.into_iter().map(|c| c / n).collect()
            })
            .collect();
        let top = shares.iter().flatten().copied().fold(0.0, f64::max).max(0.01) * 1.1;
        let mut chart = ChartBuilder::on(area)
            .caption("Scores by class", (FONT, 18))
            .margin(10)
            .x_label_area_size(40)
            .y_label_area_size(55)
            .build_cartesian_2d(lo..hi, 0.0..top)
            .map_err(text)?;
        chart
            .configure_mesh()
            .light_line_style(TRANSPARENT)
            .bold_line_style(BLACK.mix(0.08))
            .x_desc(if log {
                "anomaly score, log scale (the last bin holds everything above it)"
            } else {
                "anomaly score (the last bin holds everything above it)"
            })
            .x_label_formatter(&|x| if log { tick(10f64.powf(*x)) } else { short(*x) })
            .y_desc("share of the class")
            .label_style((FONT, 13))
            .draw()
            .map_err(text)?;
        for ((name, color, _), share) in classes.iter().zip(&shares) {
            let color = *color;
            chart
                .draw_series(share.iter().enumerate().filter(|(_, s)| **s > 0.0).map(|(k, &s)| {
                    let x = lo + width * k as f64;
                    Rectangle::new([(x, 0.0), (x + width, s)], color.mix(0.45).filled())
                }))
                .map_err(text)?
                .label(name.clone())
                .legend(move |(x, y)| Rectangle::new([(x, y - 6), (x + 18, y + 6)], color.mix(0.45).filled()));
        }
        if let Some(t) = threshold {
            let style = palette::THRESHOLD.stroke_width(2);
            let shown = if log { 10f64.powf(t) } else { t };
            chart
                .draw_series(DashedLineSeries::new([(t, 0.0), (t, top)], 8, 5, style))
                .map_err(text)?
                .label(format!("threshold {}", short(shown)))
                .legend(line_legend(palette::THRESHOLD));
        }
        legend(&mut chart, SeriesLabelPosition::UpperRight)
    }
}

/// A log-axis tick: three significant digits, trailing zeros dropped.
fn tick(x: f64) -> String {
    let s = short(x);
    if s.contains('.') && !s.contains('e') { s.trim_end_matches('0').trim_end_matches('.').to_owned() } else { s }
}
