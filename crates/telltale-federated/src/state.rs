//! What the coordinator keeps on disk after each completed round, so that a restart resumes there:
//! `state.json` (rounds done, sites, scaler, history) and `global-NNNN.f32` (that round's weights,
//! little-endian), each written to a temporary file and renamed into place, the weights first: a stop between
//! the two leaves the previous round's state whole.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use telltale_core::Scaler;

use crate::error::{Error, Result};
use crate::message::Join;

/// Updates a round did not use, by reason.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Refused {
    /// For an earlier round (arrived after its deadline).
    pub late: u64,
    /// A second update of the same site for the round.
    pub duplicate: u64,
    /// For a round that is not the current one, or another run.
    pub wrong_round: u64,
    /// Computed from another base model (hash mismatch).
    pub wrong_base: u64,
    /// From a site not asked this round, or whose topic and header disagree.
    pub not_asked: u64,
    /// A body or header that cannot be read, or of another codec.
    pub malformed: u64,
    /// NaN or infinite values.
    pub not_finite: u64,
    /// A norm far above the round's median.
    pub outlier: u64,
    /// Scaled down to the clip norm (used, not refused).
    pub clipped: u64,
}

impl Refused {
    /// Updates refused (clipped ones are used).
    pub fn total(&self) -> u64 {
        self.late
            + self.duplicate
            + self.wrong_round
            + self.wrong_base
            + self.not_asked
            + self.malformed
            + self.not_finite
            + self.outlier
    }
}

/// One completed round.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RoundRecord {
    /// The round, from 1.
    pub round: usize,
    /// Sites asked.
    pub asked: usize,
    /// Updates aggregated.
    pub used: usize,
    /// Updates not used, by reason.
    pub refused: Refused,
    /// The sites' mean local training loss, weighted by windows.
    pub train_loss: Option<f64>,
    /// The global model's validation loss after the round.
    pub val_loss: f64,
    /// Its validation accuracy (classifiers).
    pub val_accuracy: Option<f64>,
    /// Its test accuracy.
    pub test_accuracy: Option<f64>,
    /// Its test ROC-AUC.
    pub test_roc_auc: Option<f64>,
    /// Its test F1.
    pub test_f1: Option<f64>,
    /// Update bytes that reached the coordinator this round (topic and payload).
    pub bytes_up: u64,
    /// Global-model bytes the broker sent the sites this round (topic and payload, once per joined site).
    pub bytes_down: u64,
    /// Update bytes per site.
    pub bytes_up_by_site: BTreeMap<String, u64>,
    /// Seconds from publishing the global model to the aggregate's figures.
    pub seconds: f64,
}

/// The coordinator's state between rounds.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct State {
    /// The run.
    pub run: String,
    /// Names this state: made new for a fresh run, kept across restarts.
    #[serde(default)]
    pub instance: String,
    /// Rounds completed.
    pub round: usize,
    /// The scaler formed from the sites' moments, once they joined.
    pub scaler: Option<Scaler>,
    /// The sites that joined.
    pub joined: BTreeMap<String, Join>,
    /// Every completed round.
    pub history: Vec<RoundRecord>,
    /// True when the weights' file also holds the server's momentum.
    #[serde(default)]
    pub momentum: bool,
    /// Times the coordinator started on this state (1 on a fresh run).
    pub starts: u64,
    /// The weights (in `global-NNNN.f32`, not in the JSON).
    #[serde(skip)]
    pub weights: Vec<f32>,
    /// The server's momentum (FedAvgM) or first moment (FedAdam), as many values as weights or none (after the
    /// weights in the same file).
    #[serde(skip)]
    pub velocity: Vec<f32>,
    /// True when the weights' file also holds FedAdam's second moment (after the momentum).
    #[serde(default)]
    pub second_moment: bool,
    /// FedAdam's second moment, as many values as weights or none.
    #[serde(skip)]
    pub second: Vec<f32>,
    /// Steps the server optimizer took (FedAdam's bias correction counts them).
    #[serde(default)]
    pub server_steps: u64,
}

fn weights_path(out: &Path, round: usize) -> PathBuf {
    out.join(format!("global-{round:04}.f32"))
}

impl State {
    /// The state stored under `out`, if any.
    pub fn load(out: &Path) -> Result<Option<State>> {
        let json = out.join("state.json");
        if !json.exists() {
            return Ok(None);
        }
        let text = std::fs::read_to_string(&json).map_err(Error::io(&json))?;
        let mut state: State =
            serde_json::from_str(&text).map_err(|e| Error::State { path: json.clone(), message: e.to_string() })?;
        let weights = weights_path(out, state.round);
        let bytes = std::fs::read(&weights).map_err(Error::io(&weights))?;
        if bytes.len() % 4 != 0 {
            return Err(Error::State { path: weights, message: format!("{} bytes is not whole f32s", bytes.len()) });
        }
        let mut values: Vec<f32> =
            bytes.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect();
        let parts = 1 + usize::from(state.momentum) + usize::from(state.second_moment);
        if !values.len().is_multiple_of(parts) {
            return Err(Error::State {
                path: weights,
                message: format!("{} values do not split into {parts} equal parts (weights and moments)", values.len()),
            });
        }
        let n = values.len() / parts;
        if state.second_moment {
            state.second = values.split_off(values.len() - n);
        }
        if state.momentum {
            state.velocity = values.split_off(n);
        }
        state.weights = values;
        Ok(Some(state))
    }

    /// Writes the state under `out` (weights first; each file whole or not at all).
    pub fn save(&self, out: &Path) -> Result<()> {
        std::fs::create_dir_all(out).map_err(Error::io(out))?;
        let json = out.join("state.json");
        let weights = weights_path(out, self.round);
        let bytes: Vec<u8> =
            self.weights.iter().chain(&self.velocity).chain(&self.second).flat_map(|v| v.to_le_bytes()).collect();
        write_whole(&weights, &bytes)?;
        let text =
            serde_json::to_vec_pretty(self).map_err(|e| Error::State { path: json.clone(), message: e.to_string() })?;
        write_whole(&json, &text)?;
        if self.round > 0 {
            let _ = std::fs::remove_file(weights_path(out, self.round - 1));
        }
        Ok(())
    }
}

fn write_whole(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, bytes).map_err(Error::io(&tmp))?;
    std::fs::rename(&tmp, path).map_err(Error::io(path))
}
