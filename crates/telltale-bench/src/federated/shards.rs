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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_site_gets_the_rows_of_its_values_and_a_holdout_value_is_refused() {
        let dir = telltale_testing::Scratch::new("bench-shards");
        let source = dir.write("all.csv", "speed,x\n20,1\n25,2\n30,3\n20,4\n35,5\n");
        let sites = vec![vec!["20".to_owned()], vec!["25".to_owned(), "35".to_owned()]];
        let holdout: BTreeSet<String> = ["30".to_owned()].into();
        let out = write_shards(Path::new(&source), "speed", &sites, &holdout, &dir.dir().join("s")).expect("shards");
        assert_eq!(out.iter().map(|(_, n)| *n).collect::<Vec<_>>(), [2, 2]);
        assert_eq!(std::fs::read_to_string(&out[0].0).expect("site 1"), "speed,x\n20,1\n20,4\n");
        assert_eq!(std::fs::read_to_string(&out[1].0).expect("site 2"), "speed,x\n25,2\n35,5\n");
        let leak = vec![vec!["30".to_owned()]];
        let err =
            write_shards(Path::new(&source), "speed", &leak, &holdout, &dir.dir().join("t")).expect_err("holdout");
        assert!(err.to_string().contains("validation or test"), "{err}");
        let twice = vec![vec!["20".to_owned()], vec!["20".to_owned()]];
        assert!(write_shards(Path::new(&source), "speed", &twice, &holdout, &dir.dir().join("u")).is_err());
        let missing =
            write_shards(Path::new(&source), "rpm", &sites, &holdout, &dir.dir().join("v")).expect_err("column");
        assert!(missing.to_string().contains("no column 'rpm'"), "{missing}");
    }
}
