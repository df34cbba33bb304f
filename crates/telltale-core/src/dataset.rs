//! A cleaned, labelled multivariate series ready for windowing.
//!
//! [`DataSpec`] says which columns are features, where the timestamp and the
//! label come from, which columns delimit groups, and what to do with missing
//! values; [`Dataset::load`] applies it and reports what cleaning did.

use std::ops::Range;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::intervals::Intervals;
use crate::label::{Cell, LabelRule};
use crate::table::{ColumnData, CsvOptions, Table};
use crate::timestamp::{self, EpochUnit};

/// What to do with a missing cell in a column the dataset uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MissingPolicy {
    /// Stop with an error naming file, line and column.
    #[default]
    Error,
    /// Drop the row.
    Drop,
    /// Use the column's last value; rows before any value are dropped.
    Ffill,
}

impl std::str::FromStr for MissingPolicy {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "error" => Ok(MissingPolicy::Error),
            "drop" => Ok(MissingPolicy::Drop),
            "ffill" | "forward-fill" => Ok(MissingPolicy::Ffill),
            _ => Err(Error::invalid("missing", format!("'{s}' (expected error, drop or ffill)"))),
        }
    }
}

/// Where the label comes from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum LabelSource {
    /// A rule over columns, e.g. `wconfid != 1` or `anomaly == 1`.
    Rule(String),
    /// A JSON file of labelled time intervals (needs a timestamp column).
    Intervals {
        /// The JSON file.
        intervals: PathBuf,
        /// The series key in the file; by default the one matching the data file name.
        #[serde(default)]
        key: Option<String>,
    },
}

/// Which column holds timestamps.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TimestampColumn {
    /// The first column named like a timestamp (see [`timestamp::TIMESTAMP_NAMES`]), if any.
    #[default]
    Auto,
    /// No timestamp column.
    None,
    /// This column.
    #[serde(untagged)]
    Named(String),
}

/// How to turn a CSV file into a [`Dataset`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DataSpec {
    /// Feature columns; empty means every numeric column not used as
    /// timestamp, label source, group or in `exclude`.
    pub features: Vec<String>,
    /// Columns never used as features.
    pub exclude: Vec<String>,
    /// The timestamp column.
    pub timestamp: TimestampColumn,
    /// Unit of numeric timestamps.
    pub epoch_unit: EpochUnit,
    /// The label.
    pub label: Option<LabelSource>,
    /// Columns whose change starts a new group: windows never cross one.
    pub groups: Vec<String>,
    /// Columns kept as factors for reports and hold-out splits, without
    /// splitting windows (e.g. the fan speed of seed 000's windows).
    pub factors: Vec<String>,
    /// Missing-value policy for every column used.
    pub missing: MissingPolicy,
    /// Field separator; detected when absent.
    pub separator: Option<char>,
}

/// What cleaning did, for the user to see.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CleaningReport {
    /// Data rows in the file.
    pub rows_read: usize,
    /// Rows kept.
    pub rows_kept: usize,
    /// Rows dropped for a missing value (policy `drop`, or `ffill` before the first value).
    pub rows_dropped: usize,
    /// Cells filled forward (policy `ffill`).
    pub cells_filled: usize,
    /// Missing cells per used column, where any.
    pub missing_by_column: Vec<(String, usize)>,
}

/// A categorical column, dictionary-encoded: `levels[codes[row]]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Factor {
    /// Column name.
    pub name: String,
    /// Distinct values, sorted (numerically for numeric columns).
    pub levels: Vec<String>,
    /// Level index per row.
    pub codes: Vec<u32>,
}

/// A cleaned multivariate series: row-major `f32` features, optional
/// timestamps, labels (0 normal, 1 anomalous) and group factors.
#[derive(Debug, Clone)]
pub struct Dataset {
    path: PathBuf,
    features: Vec<String>,
    values: Vec<f32>,
    timestamps: Option<Vec<i64>>,
    labels: Option<Vec<u8>>,
    groups: Vec<Factor>,
    factors: Vec<Factor>,
    lines: Vec<u64>,
    report: CleaningReport,
}

impl Dataset {
    /// Reads and cleans `path` according to `spec`.
    pub fn load(path: impl AsRef<Path>, spec: &DataSpec) -> Result<Dataset> {
        let options = CsvOptions { separator: spec.separator.map(|c| c as u8) };
        let table = Table::read(path, &options)?;
        Dataset::from_table(&table, spec)
    }

    /// Builds a dataset from an already read table.
    pub fn from_table(table: &Table, spec: &DataSpec) -> Result<Dataset> {
        let path = table.path().to_owned();
        let ts_col = resolve_timestamp(table, &spec.timestamp)?;
        let rule = match &spec.label {
            Some(LabelSource::Rule(text)) => Some(LabelRule::parse(text)?),
            _ => None,
        };
        let rule_cols: Vec<usize> = match &rule {
            Some(r) => r.columns().iter().map(|c| table.index_of(c)).collect::<Result<_>>()?,
            None => Vec::new(),
        };
        let group_cols: Vec<usize> = spec.groups.iter().map(|c| table.index_of(c)).collect::<Result<_>>()?;
        let factor_cols: Vec<usize> = spec.factors.iter().map(|c| table.index_of(c)).collect::<Result<_>>()?;
        for name in &spec.exclude {
            table.index_of(name)?;
        }
        let feature_cols: Vec<usize> = if spec.features.is_empty() {
            table
                .columns()
                .iter()
                .enumerate()
                .filter(|(i, c)| {
                    c.is_numeric()
                        && Some(*i) != ts_col
                        && !rule_cols.contains(i)
                        && !group_cols.contains(i)
                        && !factor_cols.contains(i)
                        && !spec.exclude.iter().any(|e| e == c.name())
                })
                .map(|(i, _)| i)
                .collect()
        } else {
            spec.features.iter().map(|c| table.index_of(c)).collect::<Result<_>>()?
        };
        if feature_cols.is_empty() {
            return Err(Error::invalid("features", format!("{}: no numeric feature columns", path.display())));
        }
        let feature_values: Vec<&[f64]> = feature_cols.iter().map(|&c| table.numeric_at(c)).collect::<Result<_>>()?;

        // Missing values: rows outer, columns inner, so an error names the first line.
        let mut checked: Vec<usize> = feature_cols.clone();
        for &c in rule_cols.iter().chain(&group_cols).chain(&factor_cols).chain(ts_col.iter()) {
            if !checked.contains(&c) {
                checked.push(c);
            }
        }
        let n = table.n_rows();
        let mut keep = vec![true; n];
        let mut fill_from: Vec<Option<usize>> = vec![None; table.columns().len()];
        let mut filled: Vec<(usize, usize, usize)> = Vec::new(); // (column, row, source row)
        let mut missing_counts = vec![0usize; table.columns().len()];
        for row in 0..n {
            for &c in &checked {
                let column = &table.columns()[c];
                let missing = match column.data() {
                    ColumnData::Numeric(v) => v[row].is_nan(),
                    ColumnData::Text(t) => t[row].is_empty(),
                };
                if !missing {
                    fill_from[c] = Some(row);
                    continue;
                }
                missing_counts[c] += 1;
                let fillable = Some(c) != ts_col;
                match (spec.missing, fill_from[c]) {
                    (MissingPolicy::Error, _) => {
                        return Err(Error::MissingValue {
                            path,
                            line: table.line(row),
                            column: column.name().to_owned(),
                            hint: " (the missing-value policy is 'error'; choose 'drop' or 'ffill' to accept gaps)",
                        });
                    }
                    (MissingPolicy::Ffill, Some(src)) if fillable => filled.push((c, row, src)),
                    _ => keep[row] = false,
                }
            }
        }
        let rows: Vec<usize> = (0..n).filter(|&r| keep[r]).collect();
        if rows.is_empty() {
            let detail = if n == 0 { String::new() } else { format!(" (all {n} rows dropped for missing values)") };
            return Err(Error::NoRows { path, detail });
        }
        let cells_filled = filled.iter().filter(|(_, row, _)| keep[*row]).count();
        // `filled` is in (row, column-visit) order; sort by (row, column) for lookups.
        filled.sort_by_key(|&(c, r, _)| (r, c));
        let source_row = |c: usize, row: usize| -> usize {
            filled.binary_search_by(|&(fc, fr, _)| (fr, fc).cmp(&(row, c))).map_or(row, |i| filled[i].2)
        };

        let mut values = Vec::with_capacity(rows.len() * feature_cols.len());
        for &row in &rows {
            for (&c, column) in feature_cols.iter().zip(&feature_values) {
                values.push(column[source_row(c, row)] as f32);
            }
        }

        let timestamps = match ts_col {
            Some(c) => Some(read_timestamps(table, c, &rows, spec.epoch_unit)?),
            None => None,
        };

        let labels = match (&spec.label, &rule) {
            (_, Some(rule)) => {
                let cell = |col: usize, row: usize| -> Option<Cell> {
                    let src = source_row(col, row);
                    match table.columns()[col].data() {
                        ColumnData::Numeric(v) => (!v[src].is_nan()).then(|| Cell::Number(v[src])),
                        ColumnData::Text(t) => (!t[src].is_empty()).then(|| Cell::Text(t[src].clone())),
                    }
                };
                Some(rule.evaluate(table, &rows, &cell)?)
            }
            (Some(LabelSource::Intervals { intervals, key }), None) => {
                let ts = timestamps.as_ref().ok_or_else(|| Error::Intervals {
                    path: intervals.clone(),
                    message: format!("labelling by intervals needs a timestamp column in {}", path.display()),
                })?;
                Some(Intervals::read(intervals, key.as_deref(), &path)?.label(ts))
            }
            _ => None,
        };

        let groups = group_cols.iter().map(|&c| factor(table, c, &rows, &source_row)).collect();
        let factors = factor_cols.iter().map(|&c| factor(table, c, &rows, &source_row)).collect();

        let report = CleaningReport {
            rows_read: n,
            rows_kept: rows.len(),
            rows_dropped: n - rows.len(),
            cells_filled,
            missing_by_column: checked
                .iter()
                .filter(|&&c| missing_counts[c] > 0)
                .map(|&c| (table.columns()[c].name().to_owned(), missing_counts[c]))
                .collect(),
        };
        Ok(Dataset {
            path,
            features: feature_cols.iter().map(|&c| table.columns()[c].name().to_owned()).collect(),
            values,
            timestamps,
            labels,
            groups,
            factors,
            lines: rows.iter().map(|&r| table.line(r)).collect(),
            report,
        })
    }

    /// Builds a dataset from memory (tests, generated data, streams).
    pub fn from_parts(
        features: Vec<String>,
        values: Vec<f32>,
        timestamps: Option<Vec<i64>>,
        labels: Option<Vec<u8>>,
    ) -> Result<Dataset> {
        let f = features.len();
        if f == 0 || !values.len().is_multiple_of(f) {
            return Err(Error::invalid("values", format!("{} values do not fill rows of {f} features", values.len())));
        }
        let n = values.len() / f;
        if timestamps.as_ref().is_some_and(|t| t.len() != n) || labels.as_ref().is_some_and(|l| l.len() != n) {
            return Err(Error::invalid("values", "timestamps or labels do not match the row count"));
        }
        Ok(Dataset {
            path: PathBuf::from("<memory>"),
            features,
            values,
            timestamps,
            labels,
            groups: Vec::new(),
            factors: Vec::new(),
            lines: (2..n as u64 + 2).collect(),
            report: CleaningReport { rows_read: n, rows_kept: n, ..Default::default() },
        })
    }

    /// The source file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Feature names, in column order.
    pub fn features(&self) -> &[String] {
        &self.features
    }

    /// Number of features.
    pub fn n_features(&self) -> usize {
        self.features.len()
    }

    /// Number of rows.
    pub fn n_rows(&self) -> usize {
        self.values.len() / self.features.len()
    }

    /// Row-major feature values.
    pub fn values(&self) -> &[f32] {
        &self.values
    }

    /// Mutable row-major feature values (for in-place scaling).
    pub fn values_mut(&mut self) -> &mut [f32] {
        &mut self.values
    }

    /// The features of rows `range`, row-major, without copying.
    pub fn rows(&self, range: Range<usize>) -> &[f32] {
        let f = self.features.len();
        &self.values[range.start * f..range.end * f]
    }

    /// Timestamps in epoch milliseconds, if the data has them.
    pub fn timestamps(&self) -> Option<&[i64]> {
        self.timestamps.as_deref()
    }

    /// Labels (0 normal, 1 anomalous), if a label source was given.
    pub fn labels(&self) -> Option<&[u8]> {
        self.labels.as_deref()
    }

    /// Group factors, in the order of [`DataSpec::groups`].
    pub fn groups(&self) -> &[Factor] {
        &self.groups
    }

    /// The factor of column `name`, among the groups and the other factors.
    pub fn group(&self, name: &str) -> Option<&Factor> {
        self.groups.iter().chain(&self.factors).find(|g| g.name == name)
    }

    /// Source line of every row (for messages and outputs that point back).
    pub fn lines(&self) -> &[u64] {
        &self.lines
    }

    /// What cleaning did.
    pub fn report(&self) -> &CleaningReport {
        &self.report
    }

    /// Contiguous runs of rows over which no group column changes; the whole
    /// series when there are no groups.
    pub fn segments(&self) -> Vec<Range<usize>> {
        let n = self.n_rows();
        let mut out = Vec::new();
        let mut start = 0;
        for row in 1..n {
            if self.groups.iter().any(|g| g.codes[row] != g.codes[row - 1]) {
                out.push(start..row);
                start = row;
            }
        }
        if n > 0 {
            out.push(start..n);
        }
        out
    }

    /// Fraction of rows labelled anomalous.
    pub fn label_rate(&self) -> Option<f64> {
        let labels = self.labels.as_ref()?;
        (!labels.is_empty()).then(|| labels.iter().map(|&l| f64::from(l)).sum::<f64>() / labels.len() as f64)
    }
}

fn resolve_timestamp(table: &Table, spec: &TimestampColumn) -> Result<Option<usize>> {
    match spec {
        TimestampColumn::None => Ok(None),
        TimestampColumn::Named(name) => table.index_of(name).map(Some),
        TimestampColumn::Auto => Ok(table
            .columns()
            .iter()
            .position(|c| timestamp::TIMESTAMP_NAMES.contains(&c.name().to_ascii_lowercase().as_str()))),
    }
}

/// The timestamps of `rows` in column `col`; errors name the file, line and column.
pub(crate) fn read_timestamps(table: &Table, col: usize, rows: &[usize], unit: EpochUnit) -> Result<Vec<i64>> {
    let column = &table.columns()[col];
    rows.iter()
        .map(|&row| {
            let (parsed, text) = match column.data() {
                ColumnData::Numeric(v) => (timestamp::from_epoch(v[row], unit), v[row].to_string()),
                ColumnData::Text(t) => (timestamp::parse_text(&t[row]), t[row].clone()),
            };
            parsed.ok_or_else(|| Error::BadTimestamp {
                path: table.path().to_owned(),
                line: table.line(row),
                column: column.name().to_owned(),
                value: text,
                hint: timestamp::FORMATS_HINT,
            })
        })
        .collect()
}

fn factor(table: &Table, col: usize, rows: &[usize], source_row: &dyn Fn(usize, usize) -> usize) -> Factor {
    let column = &table.columns()[col];
    let keys: Vec<String> = rows
        .iter()
        .map(|&row| {
            let src = source_row(col, row);
            match column.data() {
                ColumnData::Numeric(v) => v[src].to_string(),
                ColumnData::Text(t) => t[src].clone(),
            }
        })
        .collect();
    let mut levels: Vec<String> = keys.clone();
    levels.sort_by(|a, b| match (a.parse::<f64>(), b.parse::<f64>()) {
        (Ok(x), Ok(y)) => x.total_cmp(&y),
        _ => a.cmp(b),
    });
    levels.dedup();
    let codes = keys.iter().map(|k| levels.iter().position(|l| l == k).unwrap_or(0) as u32).collect();
    Factor { name: column.name().to_owned(), levels, codes }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::table::detect_separator;

    fn load(text: &str, spec: &DataSpec) -> Result<Dataset> {
        let t = Table::from_reader(Path::new("log.csv"), detect_separator(text), text.as_bytes())?;
        Dataset::from_table(&t, spec)
    }

    fn rule(r: &str) -> Option<LabelSource> {
        Some(LabelSource::Rule(r.into()))
    }

    #[test]
    fn default_features_skip_label_group_and_timestamp_columns() {
        let spec = DataSpec { label: rule("wconfid != 1"), groups: vec!["pctid".into()], ..Default::default() };
        let d = load("wconfid,pctid,x,y\n1,20,0.5,1\n2,20,0.25,2\n2,25,1,3\n", &spec).unwrap();
        assert_eq!(d.features(), &["x", "y"]);
        assert_eq!(d.values(), &[0.5, 1.0, 0.25, 2.0, 1.0, 3.0]);
        assert_eq!(d.labels(), Some(&[0u8, 1, 1][..]));
        assert_eq!(d.segments(), vec![0..2, 2..3]);
        assert_eq!(d.group("pctid").unwrap().levels, vec!["20", "25"]);
        let spec = DataSpec { label: rule("wconfid != 1"), factors: vec!["pctid".into()], ..Default::default() };
        let d = load("wconfid,pctid,x,y\n1,20,0.5,1\n2,20,0.25,2\n2,25,1,3\n", &spec).unwrap();
        assert_eq!(d.segments(), vec![0..3], "factors do not split windows");
        assert_eq!(d.group("pctid").unwrap().codes, vec![0, 0, 1]);
        assert_eq!(d.features(), &["x", "y"]);
        assert_eq!(d.rows(1..2), &[0.25, 2.0]);
        assert_eq!(d.lines(), &[2, 3, 4]);
    }

    #[test]
    fn timestamps_are_auto_detected() {
        let d = load("datetime;v\n2020-03-09 10:14:33;1\n2020-03-09 10:14:34;2\n", &DataSpec::default()).unwrap();
        assert_eq!(d.timestamps(), Some(&[1_583_748_873_000, 1_583_748_874_000][..]));
        assert_eq!(d.features(), &["v"]);
        let err = load("timestamp,v\n2020-03-09 10:14:33,1\nlater,2\n", &DataSpec::default()).unwrap_err();
        assert!(err.to_string().starts_with("log.csv, line 3, column 'timestamp': cannot read 'later'"), "{err}");
    }

    #[test]
    fn epoch_timestamps_and_byte_order_mark() {
        let d = load("\u{feff}timestamp,v\n1583748873,1\n1583748874500,2\n", &DataSpec::default()).unwrap();
        assert_eq!(d.timestamps(), Some(&[1_583_748_873_000, 1_583_748_874_500][..]));
        let spec = DataSpec { epoch_unit: EpochUnit::Millis, ..Default::default() };
        let d = load("time,v\n1000,1\n2000,2\n", &spec).unwrap();
        assert_eq!(d.timestamps(), Some(&[1000, 2000][..]));
    }

    #[test]
    fn missing_policies() {
        let text = "a,b\n,1\n2,\n3,3\n,4\n";
        let err = load(text, &DataSpec::default()).unwrap_err().to_string();
        assert_eq!(
            err,
            "log.csv, line 2, column 'a': missing value (the missing-value policy is 'error'; choose 'drop' or 'ffill' to accept gaps)"
        );
        let drop = load(text, &DataSpec { missing: MissingPolicy::Drop, ..Default::default() }).unwrap();
        assert_eq!(drop.values(), &[3.0, 3.0]);
        assert_eq!(drop.report().rows_dropped, 3);
        assert_eq!(drop.report().missing_by_column, vec![("a".into(), 2), ("b".into(), 1)]);
        let ffill = load(text, &DataSpec { missing: MissingPolicy::Ffill, ..Default::default() }).unwrap();
        // Row 1 has no earlier `a`: dropped. Row 2's `b` and row 4's `a` are filled.
        assert_eq!(ffill.values(), &[2.0, 1.0, 3.0, 3.0, 3.0, 4.0]);
        assert_eq!(ffill.report().rows_dropped, 1);
        assert_eq!(ffill.report().cells_filled, 2);
        assert_eq!(ffill.lines(), &[3, 4, 5]);
    }

    #[test]
    fn ffill_applies_to_label_columns() {
        let spec = DataSpec { label: rule("anomaly == 1"), missing: MissingPolicy::Ffill, ..Default::default() };
        let d = load("x,anomaly\n1,0\n2,1\n3,\n", &spec).unwrap();
        assert_eq!(d.labels(), Some(&[0u8, 1, 1][..]));
        assert_eq!(d.features(), &["x"]);
    }

    #[test]
    fn bad_feature_and_columns() {
        let spec = DataSpec { features: vec!["x".into(), "s".into()], ..Default::default() };
        let err = load("x,s\n1,a\n", &spec).unwrap_err().to_string();
        assert_eq!(err, "log.csv, line 2, column 's': 'a' is not a number");
        let spec = DataSpec { features: vec!["nope".into()], ..Default::default() };
        let err = load("x,s\n1,a\n", &spec).unwrap_err().to_string();
        assert_eq!(err, "log.csv: no column named 'nope' (columns: x, s)");
        let err = load("s\na\n", &DataSpec::default()).unwrap_err().to_string();
        assert!(err.contains("no numeric feature columns"), "{err}");
        let err = load("x\n", &DataSpec::default()).unwrap_err().to_string();
        assert_eq!(err, "log.csv: no data rows");
        let err =
            load("x\nNA\n", &DataSpec { missing: MissingPolicy::Drop, ..Default::default() }).unwrap_err().to_string();
        assert_eq!(err, "log.csv: no data rows (all 1 rows dropped for missing values)");
    }

    #[test]
    fn spec_reads_from_json() {
        let spec: DataSpec = serde_json::from_str(
            r#"{"features": ["x"], "timestamp": "none", "label": "a == 1", "missing": "ffill", "groups": ["g"]}"#,
        )
        .unwrap();
        assert_eq!(spec.timestamp, TimestampColumn::None);
        assert_eq!(spec.label, rule("a == 1"));
        let spec: DataSpec =
            serde_json::from_str(r#"{"timestamp": "when", "label": {"intervals": "w.json"}}"#).unwrap();
        assert_eq!(spec.timestamp, TimestampColumn::Named("when".into()));
        assert!(matches!(spec.label, Some(LabelSource::Intervals { .. })));
    }
}
