//! telemanom's folder layout: `labeled_anomalies.csv` (one row per channel:
//! `chan_id`, `spacecraft`, `anomaly_sequences` as `[[start, end], …]` row
//! indices into the test array, both ends inclusive, `class`, `num_values`),
//! and `train/<chan>.npy`, `test/<chan>.npy`. Any channel names, any number of
//! channels; a channel is read when the labels list it.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::msl::npy::{self, Matrix};

/// One channel: its nominal train array, its test array and the labelled sequences of the test array.
#[derive(Debug, Clone, PartialEq)]
pub struct Channel {
    /// The channel id (`C-2`).
    pub name: String,
    /// The spacecraft column (`MSL`, `SMAP`).
    pub spacecraft: String,
    /// Nominal telemetry (no labels): column 0 the value, the rest command flags.
    pub train: Matrix,
    /// Telemetry to score, the same columns.
    pub test: Matrix,
    /// Anomalous row ranges of the test array, inclusive.
    pub sequences: Vec<(usize, usize)>,
}

/// One row of `labeled_anomalies.csv`, before its arrays are read.
#[derive(Debug, Clone, PartialEq)]
pub struct Label {
    /// The channel id.
    pub name: String,
    /// The spacecraft.
    pub spacecraft: String,
    /// Anomalous row ranges, inclusive.
    pub sequences: Vec<(usize, usize)>,
    /// Rows of the test array.
    pub num_values: usize,
}

/// `[[a, b], [c, d]]` into ranges.
fn sequences(text: &str) -> Option<Vec<(usize, usize)>> {
    let numbers: Vec<usize> = text
        .split(|c: char| !c.is_ascii_digit())
        .filter(|s| !s.is_empty())
        .map(|s| s.parse().ok())
        .collect::<Option<_>>()?;
    let shape_ok = text.trim().starts_with('[') && numbers.len().is_multiple_of(2);
    shape_ok.then(|| numbers.chunks(2).map(|p| (p[0], p[1])).collect())
}

/// Reads `labeled_anomalies.csv`; errors name the file and line.
pub fn read_labels(path: &Path) -> Result<Vec<Label>> {
    let mut rdr = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_path(path)
        .map_err(|e| Error::Data(format!("{}: cannot read: {e}", path.display())))?;
    let header = rdr.headers().map_err(|e| Error::Data(format!("{}: {e}", path.display())))?.clone();
    let col = |name: &str| {
        header
            .iter()
            .position(|h| h == name)
            .ok_or_else(|| Error::Data(format!("{}: no '{name}' column (the header is {:?})", path.display(), header)))
    };
    let (id, craft, seq, num) = (col("chan_id")?, col("spacecraft")?, col("anomaly_sequences")?, col("num_values")?);
    let mut out = Vec::new();
    for record in rdr.records() {
        let record = record.map_err(|e| Error::Data(format!("{}: {e}", path.display())))?;
        let line = record.position().map_or(0, csv::Position::line);
        let at = |what: &str| Error::Data(format!("{}, line {line}: {what}", path.display()));
        let get = |k: usize| record.get(k).map(str::to_owned).ok_or_else(|| at("too few fields"));
        let sequences = sequences(&get(seq)?).ok_or_else(|| at("anomaly_sequences is not a list of [start, end]"))?;
        let num_values = get(num)?.parse().map_err(|_| at("num_values is not a count"))?;
        if let Some(&(a, b)) = sequences.iter().find(|(a, b)| a > b || *b >= num_values) {
            return Err(at(&format!("sequence [{a}, {b}] is not inside 0..{num_values}")));
        }
        out.push(Label { name: get(id)?, spacecraft: get(craft)?, sequences, num_values });
    }
    Ok(out)
}

/// Reads every channel the labels list from `dir` (`labeled_anomalies.csv`,
/// `train/`, `test/`), in the labels' order. A missing array, or a test
/// array whose rows are not `num_values`, is an error naming the file.
pub fn read_folder(dir: &Path) -> Result<Vec<Channel>> {
    let labels_path = dir.join("labeled_anomalies.csv");
    let labels = read_labels(&labels_path)?;
    if labels.is_empty() {
        return Err(Error::Data(format!("{}: lists no channel", labels_path.display())));
    }
    let array = |part: &str, name: &str| -> Result<(PathBuf, Matrix)> {
        let path = dir.join(part).join(format!("{name}.npy"));
        if !path.is_file() {
            return Err(Error::Data(format!(
                "{}: channel '{name}' has no {part} array ({} does not exist)",
                labels_path.display(),
                path.display()
            )));
        }
        let m = npy::read(&path)?;
        Ok((path, m))
    };
    let mut out = Vec::with_capacity(labels.len());
    for l in labels {
        let (_, train) = array("train", &l.name)?;
        let (test_path, test) = array("test", &l.name)?;
        if test.rows != l.num_values {
            return Err(Error::Data(format!(
                "{}: {} rows, but {} says num_values = {}",
                test_path.display(),
                test.rows,
                labels_path.display(),
                l.num_values
            )));
        }
        if train.cols != test.cols {
            return Err(Error::Data(format!(
                "{}: {} columns, the train array {}",
                test_path.display(),
                test.cols,
                train.cols
            )));
        }
        out.push(Channel { name: l.name, spacecraft: l.spacecraft, train, test, sequences: l.sequences });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sequences_are_read_and_malformed_ones_refused() {
        assert_eq!(sequences("[[290, 390], [1540, 1575]]"), Some(vec![(290, 390), (1540, 1575)]));
        assert_eq!(sequences("[[1, 2], [3]]"), None);
        assert_eq!(sequences("[]"), Some(vec![]));
    }
}
