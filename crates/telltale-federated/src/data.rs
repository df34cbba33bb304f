//! The data each side holds: a site's training windows (all of its file's windows, never leaving it), and the
//! coordinator's validation and test windows (the experiment's split of its own file; training windows unused).

use std::path::Path;

use telltale_core::{Dataset, Scaler, Split, Windows};
use telltale_models::config::ValidExperimentConfig;
use telltale_models::samples::WindowData;
use telltale_models::{NetDims, Task};

use crate::error::{Error, Result};
use crate::moments::Moments;

/// Data loaded with the experiment's spec and windowed with its plan.
#[derive(Debug, Clone)]
pub struct Windowed {
    /// The series (scaled once [`Windowed::scale`] ran).
    pub data: Dataset,
    /// Its windows.
    pub windows: Windows,
}

impl Windowed {
    /// Loads `file` with the spec of `cfg` and cuts its windows.
    pub fn load(cfg: &ValidExperimentConfig, file: &Path) -> Result<Windowed> {
        let data = Dataset::load(file, &cfg.data.spec)?;
        let windows = cfg.window_plan().windows(&data)?;
        if windows.is_empty() {
            return Err(Error::Sites(format!(
                "{}: no windows of {} steps fit in {} rows",
                file.display(),
                cfg.window_plan().steps(),
                data.n_rows()
            )));
        }
        Ok(Windowed { data, windows })
    }

    /// The windows as batches read them.
    pub fn window_data(&self) -> WindowData<'_> {
        WindowData::of(&self.data, &self.windows)
    }

    /// The sizes a network is built for.
    pub fn dims(&self) -> NetDims {
        self.window_data().dims()
    }

    /// Every window's index.
    pub fn all(&self) -> Vec<usize> {
        (0..self.windows.len()).collect()
    }

    /// Moments of the rows windows `idx` cover.
    pub fn moments(&self, idx: &[usize]) -> Moments {
        let rows = self.windows.covered_rows(idx, self.data.n_rows());
        Moments::of(self.data.values(), self.data.n_features(), &rows)
    }

    /// Applies `scaler` (it must have as many columns as the data).
    pub fn scale(&mut self, scaler: &Scaler) -> Result<()> {
        let (cols, n) = (scaler.n_features(), self.data.n_features());
        if cols != n {
            return Err(Error::Mismatch(format!("a scaler of {cols} columns for data of {n}")));
        }
        scaler.transform(self.data.values_mut());
        Ok(())
    }
}

/// The coordinator's figures data: the experiment's file and split; only validation and test windows are used.
pub struct Holdout {
    /// The windowed file.
    pub windowed: Windowed,
    /// The split of its windows.
    pub split: Split,
    /// Validation windows the model of `task` is judged on (the clean ones for forecasters and autoencoders).
    pub val_fit: Vec<usize>,
}

impl Holdout {
    /// Loads and splits the experiment's data.
    pub fn load(cfg: &ValidExperimentConfig) -> Result<Holdout> {
        let windowed = Windowed::load(cfg, &cfg.data.path)?;
        let split = cfg.split.split(&windowed.data, &windowed.windows)?;
        if split.val.is_empty() {
            return Err(Error::config("split", "the coordinator needs validation windows to judge rounds"));
        }
        let task: Task = cfg.task();
        let val_fit = telltale_models::train::fit_windows(task, &windowed.window_data(), &split.val)?;
        Ok(Holdout { windowed, split, val_fit })
    }
}
