//! # telltale-core
//!
//! The data path of telltale up to labelled windows, and the yardsticks that
//! judge every detector. No deep-learning framework and no async here.
//!
//! The stages, in the order data flows through them:
//!
//! 1. [`table`]: a CSV sensor log read into typed columns (separator
//!    detected, every row's source line kept for error messages).
//! 2. [`dataset`]: features chosen, timestamps read ([`timestamp`]), labels
//!    from a rule ([`label`]) or from time intervals ([`intervals`]), groups, missing values
//!    handled by an explicit policy.
//! 3. [`window`]: sliding windows (classification or forecasting) that never
//!    cross a group border and never copy the series.
//! 4. [`split`]: train / validation / test, reproducible from a seed, with
//!    the rows shared across parts counted.
//! 5. [`scaler`]: standard / min-max scaling fitted on training rows only.
//! 6. [`metrics`] and [`threshold`]: scores into flags, flags into figures
//!    ([`stats`]: the means, deviations and percentiles they share).
//!
//! ```
//! use telltale_core::{DataSpec, Dataset, LabelSource, WindowSpec, Windows};
//!
//! let csv = "wconfid,pctid,x,y,z\n1,20,1.0,0.1,-0.1\n1,20,0.9,0.0,-0.2\n2,20,1.1,0.2,0.0\n2,20,1.0,0.1,0.1\n2,20,0.8,0.0,0.0\n";
//! let table = telltale_core::Table::from_reader(std::path::Path::new("acc.csv"), b',', csv.as_bytes())?;
//! let spec = DataSpec {
//!     label: Some(LabelSource::Rule("wconfid != 1".into())),
//!     groups: vec!["pctid".into()],
//!     ..Default::default()
//! };
//! let data = Dataset::from_table(&table, &spec)?;
//! assert_eq!(data.features(), &["x", "y", "z"]);
//! // Windows of 2 rows, step 1; the window over rows 1-2 is a tie: normal.
//! let windows = Windows::classify(&data, &WindowSpec::new(2, 1))?;
//! assert_eq!(windows.labels(), Some(&[0u8, 0, 1][..]));
//! # Ok::<(), telltale_core::Error>(())
//! ```

pub mod dataset;
pub mod error;
pub mod evt;
pub mod intervals;
pub mod label;
pub mod metrics;
pub mod npy;
pub mod scaler;
pub mod split;
pub mod stats;
pub mod synthetic;
pub mod table;
pub mod telemanom;
pub mod threshold;
pub mod timestamp;
pub mod window;

pub use dataset::{CleaningReport, DataSpec, Dataset, Factor, LabelSource, MissingPolicy, TimestampColumn};
pub use error::{Error, Result};
pub use intervals::Intervals;
pub use label::LabelRule;
pub use scaler::{Scaler, ScalerKind};
pub use split::{Fold, GroupPick, Leakage, Split, SplitSpec};
pub use table::{CsvOptions, Table};
pub use threshold::{SlidingKSigma, Threshold, ThresholdSpec};
pub use window::{ForecastSpec, WindowKind, WindowLabel, WindowPlan, WindowSettings, WindowSpec, Windows};
