//! Cross-validated MSL figures. Each detector is fitted per channel, on that
//! channel's train array, so a single detector uses nothing from other
//! channels; what a run chooses across channels is which detector (which cell
//! of a roster grid) to use. Channels are dealt into K folds by name
//! ([`crate::folds`]); for each fold the detector with the best event F1 on
//! the other folds is chosen and the fold scored with it; the held-out folds'
//! counts are summed into the procedure's figures.

use serde::Serialize;

use crate::error::Result;
use crate::folds;
use crate::msl::corpus::Channel;
use crate::msl::protocol::{ChannelResult, MslFigures, figures};

/// The cross-validated figures (`cv` in the JSON).
#[derive(Debug, Clone, Serialize)]
pub struct MslCv {
    /// Folds.
    pub k: usize,
    /// How the figures were made.
    pub protocol: String,
    /// The procedure's figures over the held-out folds.
    #[serde(flatten)]
    pub figures: MslFigures,
    /// The detector chosen for each fold, in fold order.
    pub chosen: Vec<String>,
    /// Every detector alone over the held-out folds: the same as in-sample, as each is fitted per channel.
    pub detectors: Vec<CvRow>,
}

/// One detector's figures over the held-out folds.
#[derive(Debug, Clone, Serialize)]
pub struct CvRow {
    /// The detector.
    pub name: String,
    /// Its figures.
    #[serde(flatten)]
    pub figures: MslFigures,
}

const PROTOCOL: &str = "channels dealt into K folds by name; for each fold the detector with the best event F1 on \
                        the other folds is chosen and the fold scored with it; held-out counts summed";

/// Cross-validates the choice among `detectors` (`(name, one result per channel)`).
pub fn cross_validate<'a>(
    channels: &'a [Channel],
    detectors: &'a [(String, Vec<ChannelResult>)],
    k: usize,
) -> Result<MslCv> {
    let names: Vec<String> = channels.iter().map(|c| c.name.clone()).collect();
    let fold = folds::assign(&names, k)?;
    let (picked, chosen) = folds::choose(channels, &fold, k, detectors, |pairs| Ok(figures(pairs)?.f1))?;
    let detectors = detectors
        .iter()
        .map(|(name, results)| Ok(CvRow { name: name.clone(), figures: figures(channels.iter().zip(results))? }))
        .collect::<Result<Vec<_>>>()?;
    Ok(MslCv { k, protocol: PROTOCOL.into(), figures: figures(picked)?, chosen, detectors })
}
