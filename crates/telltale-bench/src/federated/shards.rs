//! A fleet's data from one file: each site's rows are those whose `shard_by` value is in its list (whole
//! operating points per site, non-IID as plants are). Rows of validation and test values are never given to a
//! site; a value named for two sites, or for a site and the holdout, is refused.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// Writes `site-1.csv` … under `dir` from `source` (header kept); gives the files and their row counts.
pub fn write_shards(
    source: &Path,
    column: &str,
    sites: &[Vec<String>],
    holdout: &BTreeSet<String>,
    dir: &Path,
) -> Result<Vec<(PathBuf, usize)>> {
    let mut seen = BTreeSet::new();
    for (i, list) in sites.iter().enumerate() {
        for v in list {
            if holdout.contains(v) {
                return Err(Error::Config {
                    field: format!("federated.sites[{i}]"),
                    message: format!("'{v}' is in the validation or test part"),
                });
            }
            if !seen.insert(v.clone()) {
                return Err(Error::Config {
                    field: format!("federated.sites[{i}]"),
                    message: format!("'{v}' is named twice"),
                });
            }
        }
    }
    let mut reader = csv::ReaderBuilder::new().flexible(false).from_path(source).map_err(|e| csv_error(source, e))?;
    let header = reader.headers().map_err(|e| csv_error(source, e))?.clone();
    let col = header.iter().position(|h| h == column).ok_or_else(|| Error::Config {
        field: "federated.shard_by".into(),
        message: format!("{} has no column '{column}'", source.display()),
    })?;
    std::fs::create_dir_all(dir)?;
    let mut writers = Vec::new();
    let mut out = Vec::new();
    for i in 0..sites.len() {
        let path = dir.join(format!("site-{}.csv", i + 1));
        let mut w = csv::Writer::from_path(&path).map_err(|e| csv_error(&path, e))?;
        w.write_record(&header).map_err(|e| csv_error(&path, e))?;
        writers.push(w);
        out.push((path, 0usize));
    }
    for (line, record) in reader.records().enumerate() {
        let record = record.map_err(|e| csv_error(source, e))?;
        let Some(value) = record.get(col) else { continue };
        if let Some(site) = sites.iter().position(|l| l.iter().any(|v| v == value.trim())) {
            writers[site]
                .write_record(&record)
                .map_err(|e| Error::Failed(format!("{}: line {}: {e}", out[site].0.display(), line + 2)))?;
            out[site].1 += 1;
        }
    }
    for (w, (path, rows)) in writers.iter_mut().zip(&out) {
        w.flush()?;
        if *rows == 0 {
            return Err(Error::Data(format!("{}: no row of {source:?} has its values of '{column}'", path.display())));
        }
    }
    Ok(out)
}

fn csv_error(path: &Path, e: csv::Error) -> Error {
    Error::Failed(format!("{}: {e}", path.display()))
}
