//! Metrics that judge every detector, each computed as scikit-learn (or the
//! benchmark that defines it) computes it.
//!
//! - [`classification`]: confusion counts, accuracy, precision / recall / F1
//!   per class, macro and weighted, TPR / FPR; a score is anomalous when it
//!   is `>=` the threshold.
//! - [`ranking`]: ROC-AUC and PR-AUC (average precision), ties handled as
//!   scikit-learn handles them, and the curves for plots.
//! - [`regression`]: RMSE and MAE of forecasts, per channel and overall.
//! - [`events`]: anomalies as contiguous segments, event-level P / R / F1, and
//!   SKAB's false- and missed-alarm rates.
//! - [`nab`]: the Numenta Anomaly Benchmark score, its profiles, threshold
//!   optimisation and normalisation.
//! - [`mod@vus`]: VUS-PR and VUS-ROC, TSB-AD's range-aware threshold-free measures.

pub mod classification;
pub mod events;
pub mod nab;
pub mod ranking;
pub mod regression;
pub mod vus;

pub use classification::{ClassMetrics, ClassificationReport, Confusion};
pub use events::{EventMetrics, segments};
pub use ranking::{average_precision, pr_curve, roc_auc, roc_curve};
pub use regression::{ForecastErrors, mae, rmse};
pub use vus::{Vus, vus, vus_pr};
