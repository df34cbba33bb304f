//! Cross-validated SKAB figures. SKAB's protocol fits each file's scaler,
//! model and threshold on that file's first rows, so a single detector's
//! figures use nothing from other files; what a run does choose across files
//! is which detector is best. Here the files are dealt into K folds by name
//! ([`crate::folds`]); for each fold the detector with the best pooled F1 on
//! the other folds is chosen and the fold is scored with it, and the held-out
//! folds are pooled into the procedure's figures.

use serde::Serialize;

use crate::error::Result;
use crate::folds;
use crate::skab::corpus::SkabFile;
use crate::skab::protocol::{FileResult, SkabFigures, pool};

/// The cross-validated figures of a run (`cv` in the JSON).
#[derive(Debug, Clone, Serialize)]
pub struct SkabCv {
    /// Folds.
    pub k: usize,
    /// How the figures were made, in words.
    pub protocol: String,
    /// The procedure "choose the detector with the best F1 on the other folds", pooled over the held-out folds.
    pub f1: f64,
    /// Its false-alarm rate, percent.
    pub far: f64,
    /// Its missed-alarm rate, percent.
    pub mar: f64,
    /// The detector chosen for each fold, in fold order.
    pub chosen: Vec<String>,
    /// Every detector alone, pooled over held-out folds: the same as in-sample, as SKAB's protocol fits per file.
    pub detectors: Vec<CvRow>,
}

/// One detector's cross-validated figures.
#[derive(Debug, Clone, Serialize)]
pub struct CvRow {
    /// The detector.
    pub name: String,
    /// Its pooled figures.
    #[serde(flatten)]
    pub figures: SkabFigures,
}

const PROTOCOL: &str = "files dealt into K folds by name; for each fold the detector with the best pooled F1 on the \
                        other folds is chosen and the fold scored with it; held-out folds pooled";

/// Cross-validates the choice among `detectors` (`(name, one result per file)`, files in `files` order).
pub fn cross_validate<'a>(
    files: &'a [SkabFile],
    detectors: &'a [(String, Vec<FileResult>)],
    k: usize,
) -> Result<SkabCv> {
    let names: Vec<String> = files.iter().map(|f| f.name.clone()).collect();
    let fold = folds::assign(&names, k)?;
    let (picked, chosen) = folds::choose(files, &fold, k, detectors, |pairs| Ok(pool(pairs)?.f1))?;
    let procedure = pool(picked)?;
    let detectors = detectors
        .iter()
        .map(|(name, results)| Ok(CvRow { name: name.clone(), figures: pool(files.iter().zip(results))? }))
        .collect::<Result<Vec<_>>>()?;
    Ok(SkabCv {
        k,
        protocol: PROTOCOL.into(),
        f1: procedure.f1,
        far: procedure.far,
        mar: procedure.mar,
        chosen,
        detectors,
    })
}
