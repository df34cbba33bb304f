//! Forecast errors.

use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::metrics::classification::check_lengths;

/// Root mean squared error.
pub fn rmse(actual: &[f64], predicted: &[f64]) -> Result<f64> {
    check_lengths(actual.len(), predicted.len(), "predictions")?;
    let n = actual.len().max(1) as f64;
    Ok((actual.iter().zip(predicted).map(|(a, p)| (a - p) * (a - p)).sum::<f64>() / n).sqrt())
}

/// Mean absolute error.
pub fn mae(actual: &[f64], predicted: &[f64]) -> Result<f64> {
    check_lengths(actual.len(), predicted.len(), "predictions")?;
    let n = actual.len().max(1) as f64;
    Ok(actual.iter().zip(predicted).map(|(a, p)| (a - p).abs()).sum::<f64>() / n)
}

/// RMSE and MAE per channel and over all channels of a multichannel forecast.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ForecastErrors {
    /// RMSE per channel.
    pub rmse: Vec<f64>,
    /// MAE per channel.
    pub mae: Vec<f64>,
    /// RMSE over every value.
    pub rmse_all: f64,
    /// MAE over every value.
    pub mae_all: f64,
}

impl ForecastErrors {
    /// Errors of row-major `predicted` against `actual`, `channels` columns.
    pub fn new(actual: &[f64], predicted: &[f64], channels: usize) -> Result<ForecastErrors> {
        check_lengths(actual.len(), predicted.len(), "predictions")?;
        let column = |v: &[f64], c: usize| -> Vec<f64> { v.iter().skip(c).step_by(channels.max(1)).copied().collect() };
        let mut rmse_c = Vec::with_capacity(channels);
        let mut mae_c = Vec::with_capacity(channels);
        for c in 0..channels {
            let (a, p) = (column(actual, c), column(predicted, c));
            rmse_c.push(rmse(&a, &p)?);
            mae_c.push(mae(&a, &p)?);
        }
        Ok(ForecastErrors {
            rmse: rmse_c,
            mae: mae_c,
            rmse_all: rmse(actual, predicted)?,
            mae_all: mae(actual, predicted)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_channel() {
        let e = ForecastErrors::new(&[1.0, 10.0, 2.0, 20.0], &[1.0, 13.0, 4.0, 24.0], 2).unwrap();
        assert_eq!(e.rmse[0], 2f64.sqrt());
        assert_eq!(e.rmse[1], 12.5f64.sqrt());
        assert_eq!(e.mae, vec![1.0, 3.5]);
        assert_eq!(e.mae_all, 2.25);
    }
}
