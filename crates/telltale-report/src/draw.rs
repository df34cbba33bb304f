//! Rendering a chart to both PNG and SVG, with the bundled font.

use std::path::{Path, PathBuf};
use std::sync::Once;

use plotters::coord::Shift;
use plotters::prelude::*;

use crate::error::{Error, Result};

/// Font family every chart uses (DejaVu Sans, bundled, so PNGs need no system fonts).
pub(crate) const FONT: &str = "sans-serif";

/// Colours with fixed meanings across every figure.
pub(crate) mod palette {
    use plotters::style::RGBColor;
    /// Labelled anomalies (shading) and detections (markers).
    pub(crate) const ANOMALY: RGBColor = RGBColor(214, 39, 40);
    /// The threshold.
    pub(crate) const THRESHOLD: RGBColor = RGBColor(255, 127, 14);
    /// The score, and normal items.
    pub(crate) const SCORE: RGBColor = RGBColor(31, 119, 180);
    /// Grey for references (chance lines).
    pub(crate) const REFERENCE: RGBColor = RGBColor(150, 150, 150);
    /// Channel colours, in order.
    pub(crate) const CHANNELS: [RGBColor; 4] =
        [RGBColor(31, 119, 180), RGBColor(44, 160, 44), RGBColor(148, 103, 189), RGBColor(140, 86, 75)];
}

static FONT_ONCE: Once = Once::new();

fn register_font() {
    FONT_ONCE.call_once(|| {
        // The bytes are a valid TrueType font shipped in this crate; a failure leaves plotters
        // without text, which the first drawn label then reports as an error.
        let _ = plotters::style::register_font(FONT, FontStyle::Normal, include_bytes!("../fonts/DejaVuSans.ttf"));
    });
}

/// Drawing errors carried as text (the backends' error types differ).
pub(crate) type DrawResult = std::result::Result<(), String>;

/// Converts any backend error to text.
pub(crate) fn text<E: std::fmt::Display>(e: E) -> String {
    e.to_string()
}

/// A figure that can be drawn on any backend.
pub(crate) trait Chart {
    /// Pixel size.
    fn size(&self) -> (u32, u32);
    /// Draws on `area` (already white).
    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> DrawResult;
}

/// Draws `chart` to `dir/stem.png` and `dir/stem.svg`; returns the PNG's path.
pub(crate) fn save(dir: &Path, stem: &str, chart: &impl Chart) -> Result<PathBuf> {
    register_font();
    let png = dir.join(format!("{stem}.png"));
    let svg = dir.join(format!("{stem}.svg"));
    let fail = |path: &Path| {
        let path = path.to_path_buf();
        move |message: String| Error::Draw { path, message }
    };
    {
        let area = BitMapBackend::new(&png, chart.size()).into_drawing_area();
        area.fill(&WHITE).map_err(text).map_err(fail(&png))?;
        chart.draw(&area).map_err(fail(&png))?;
        area.present().map_err(text).map_err(fail(&png))?;
    }
    {
        let area = SVGBackend::new(&svg, chart.size()).into_drawing_area();
        area.fill(&WHITE).map_err(text).map_err(fail(&svg))?;
        chart.draw(&area).map_err(fail(&svg))?;
        area.present().map_err(text).map_err(fail(&svg))?;
    }
    Ok(png)
}

/// `[lo, hi]` widened by 5 % on each side (and to a unit span when flat).
pub(crate) fn padded(lo: f64, hi: f64) -> (f64, f64) {
    if !lo.is_finite() || !hi.is_finite() {
        return (0.0, 1.0);
    }
    let span = hi - lo;
    if span <= f64::EPSILON * hi.abs().max(1.0) {
        return (lo - 0.5, hi + 0.5);
    }
    (lo - 0.05 * span, hi + 0.05 * span)
}

/// The `q`-quantile (0..=1) of the finite values (0 when none).
pub(crate) fn quantile(values: &[f64], q: f64) -> f64 {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return 0.0;
    }
    v.sort_by(f64::total_cmp);
    v[((v.len() - 1) as f64 * q).round() as usize]
}

/// The top of a score axis: the largest finite score, unless a few outliers
/// would flatten the rest, then 1.5 × the 99.5th percentile (never below the threshold).
pub(crate) fn score_ceiling(scores: &[f64], threshold: Option<f64>) -> f64 {
    let max = scores.iter().copied().filter(|x| x.is_finite()).fold(f64::NEG_INFINITY, f64::max);
    let robust = 1.5 * quantile(scores, 0.995);
    let floor = threshold.filter(|t| t.is_finite()).map_or(f64::NEG_INFINITY, |t| t * 1.2);
    if max > robust && robust > 0.0 { robust.max(floor) } else { max.max(floor) }
}

/// Draws the chart's legend at `position`.
pub(crate) fn legend<'a, DB: DrawingBackend + 'a, CT: CoordTranslate>(
    chart: &mut ChartContext<'a, DB, CT>,
    position: SeriesLabelPosition,
) -> DrawResult {
    chart
        .configure_series_labels()
        .position(position)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK.mix(0.3))
        .label_font((FONT, 13))
        .draw()
        .map_err(text)
}
