//! The classic baselines written here, against scikit-learn's values
//! (`tests/golden/baselines.json`, made by `tools/golden/make_golden.py models`).

use ndarray::Array2;
use serde_json::Value;
use telltale_models::baselines::iforest::average_path_length;
use telltale_models::baselines::pca::PcaMonitor;

fn golden() -> Value {
    serde_json::from_str(include_str!("golden/baselines.json")).expect("golden JSON")
}

fn matrix(v: &Value) -> Array2<f64> {
    let rows: Vec<Vec<f64>> = v
        .as_array()
        .expect("rows")
        .iter()
        .map(|r| r.as_array().expect("row").iter().map(|x| x.as_f64().expect("number")).collect())
        .collect();
    let (n, d) = (rows.len(), rows[0].len());
    Array2::from_shape_vec((n, d), rows.into_iter().flatten().collect()).expect("shape")
}

fn f64s(v: &Value) -> Vec<f64> {
    v.as_array().expect("array").iter().map(|x| x.as_f64().expect("number")).collect()
}

#[test]
fn isolation_forest_path_length_matches_sklearn() {
    let g = golden();
    let ns = g["average_path_length"]["n"].as_array().expect("n");
    for (n, want) in ns.iter().zip(f64s(&g["average_path_length"]["expected"])) {
        let n = n.as_u64().expect("n") as usize;
        let got = average_path_length(n);
        assert!((got - want).abs() < 1e-12, "c({n}) = {got}, scikit-learn {want}");
    }
}

#[test]
fn pca_t2_and_q_match_sklearn() {
    let g = golden();
    let case = &g["pca"];
    let monitor =
        PcaMonitor::fit(&matrix(&case["x"]), case["variance"].as_f64().expect("variance"), 0.99).expect("fit");
    assert_eq!(monitor.components() as u64, case["components"].as_u64().expect("k"));
    let stats = monitor.stats(&matrix(&case["y"]));
    for (got, want) in stats.t2.iter().zip(f64s(&case["t2"])) {
        assert!((got - want).abs() < 1e-8 * (1.0 + want.abs()), "T² {got} vs {want}");
    }
    for (got, want) in stats.q.iter().zip(f64s(&case["q"])) {
        assert!((got - want).abs() < 1e-8 * (1.0 + want.abs()), "Q {got} vs {want}");
    }
}
