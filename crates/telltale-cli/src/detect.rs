//! `telltale detect`: every window of a data file scored, thresholded and
//! explained (its time span, source lines, score and the sensors behind it).

use std::fmt::Write as _;

use anyhow::{Context, Result};
use serde::Serialize;
use telltale_core::timestamp::format_millis;
use telltale_models::artifact::Model;
use telltale_models::eval::flags;

use crate::cli::DetectArgs;
use crate::device::device;
use crate::output::{emit, print_json, thousands};

/// One scored window.
#[derive(Debug, Serialize)]
pub(crate) struct Detection {
    window: usize,
    first_line: u64,
    last_line: u64,
    start: Option<String>,
    end: Option<String>,
    score: f64,
    flagged: bool,
    label: Option<u8>,
    /// The sensors contributing most, with their share of the window's error.
    top_sensors: Vec<SensorShare>,
}

/// A sensor's share of a window's error.
#[derive(Debug, Serialize)]
pub(crate) struct SensorShare {
    sensor: String,
    share: f64,
}

impl std::fmt::Display for SensorShare {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {:.0}%", self.sensor, 100.0 * self.share)
    }
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) { format!("\"{}\"", s.replace('"', "\"\"")) } else { s.to_owned() }
}

/// Runs the command.
pub(crate) fn run_detect(args: &DetectArgs) -> Result<()> {
    let dev = device(args.device)?;
    let model = Model::load(&args.model, &dev)?;
    let (data, windows) = model.read_data(&args.data)?;
    let idx: Vec<usize> = (0..windows.len()).collect();
    let scores = model.score(&data, &windows, &idx, &dev)?;
    let threshold = model.manifest.decision.threshold;
    let flagged = flags(&scores.score, &threshold);
    let names = data.features();
    let ts = data.timestamps();
    let detections: Vec<Detection> = idx
        .iter()
        .map(|&i| {
            let rows = windows.rows(i);
            Detection {
                window: i,
                first_line: data.lines()[rows.start],
                last_line: data.lines()[rows.end - 1],
                start: ts.map(|t| format_millis(t[rows.start])),
                end: ts.map(|t| format_millis(t[rows.end - 1])),
                score: scores.score[i],
                flagged: flagged[i],
                label: windows.labels().map(|l| l[i]),
                top_sensors: scores
                    .top_shares(i, 3)
                    .into_iter()
                    .map(|(c, share)| SensorShare { sensor: names[c].clone(), share })
                    .collect(),
            }
        })
        .collect();
    let threshold_value = match threshold {
        telltale_core::Threshold::Static { value } => Some(value),
        _ => None,
    };
    if let Some(out) = &args.out {
        let mut csv = String::from("window,first_line,last_line,start,end,score,threshold,flag,label,top_sensors\n");
        for d in &detections {
            let _ = writeln!(
                csv,
                "{},{},{},{},{},{},{},{},{},{}",
                d.window,
                d.first_line,
                d.last_line,
                d.start.as_deref().unwrap_or(""),
                d.end.as_deref().unwrap_or(""),
                d.score,
                threshold_value.map(|v| v.to_string()).unwrap_or_else(|| "sliding".into()),
                u8::from(d.flagged),
                d.label.map(|l| l.to_string()).unwrap_or_default(),
                csv_field(
                    &d.top_sensors.iter().map(|t| format!("{}:{:.4}", t.sensor, t.share)).collect::<Vec<_>>().join(";")
                )
            );
        }
        std::fs::write(out, csv).with_context(|| format!("writing {}", out.display()))?;
    }
    let hits: Vec<&Detection> = detections.iter().filter(|d| d.flagged).collect();
    if args.json {
        return print_json(&serde_json::json!({
            "data": args.data, "model": args.model, "windows": detections.len(), "flagged": hits.len(),
            "threshold": threshold, "anomalies": hits,
        }));
    }
    let mut s = format!(
        "{}: {} windows scored by {}, {} flagged (score >= {})\n",
        args.data.display(),
        thousands(detections.len()),
        model.manifest.report.name,
        thousands(hits.len()),
        threshold_value.map_or_else(|| "its sliding band".to_owned(), |v| format!("{v:.4}"))
    );
    for d in hits.iter().take(50) {
        let span = match (&d.start, &d.end) {
            (Some(a), Some(b)) => format!("{a} .. {b}"),
            _ => format!("lines {}..{}", d.first_line, d.last_line),
        };
        let sensors = if d.top_sensors.is_empty() {
            String::new()
        } else {
            format!("  sensors: {}", d.top_sensors.iter().map(ToString::to_string).collect::<Vec<_>>().join(", "))
        };
        s += &format!("  window {:>6}  {span}  score {:.4}{sensors}\n", d.window, d.score);
    }
    if hits.len() > 50 {
        s += &format!("  ... and {} more (--out FILE writes every window)\n", hits.len() - 50);
    }
    emit(&s)
}
