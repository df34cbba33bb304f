//! telltale-core against values computed by scikit-learn, numpy and pandas.
//! The values and the script that made them: `tests/golden/sklearn.json`,
//! `tools/golden/make_golden.py`.

use serde_json::Value;
use telltale_core::metrics::{
    ClassificationReport, Confusion, ForecastErrors, average_precision, pr_curve, roc_auc, roc_curve,
};
use telltale_core::split::{kfold_stratified, stratified};
use telltale_core::threshold::percentile;
use telltale_core::{Dataset, Scaler, ScalerKind, WindowSpec, Windows};

fn golden() -> Value {
    let text = include_str!("golden/sklearn.json");
    serde_json::from_str(text).expect("golden file is JSON")
}

fn f64s(v: &Value) -> Vec<f64> {
    v.as_array().expect("array").iter().map(|x| x.as_f64().expect("number")).collect()
}

fn u8s(v: &Value) -> Vec<u8> {
    v.as_array().expect("array").iter().map(|x| x.as_u64().expect("int") as u8).collect()
}

fn usizes(v: &Value) -> Vec<usize> {
    v.as_array().expect("array").iter().map(|x| x.as_u64().expect("int") as usize).collect()
}

fn close(a: f64, b: f64, tol: f64, what: &str) {
    assert!((a - b).abs() <= tol * (1.0 + b.abs()), "{what}: {a} != {b}");
}

fn all_close(a: &[f64], b: &[f64], tol: f64, what: &str) {
    assert_eq!(a.len(), b.len(), "{what}: lengths");
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        close(*x, *y, tol, &format!("{what}[{i}]"));
    }
}

#[test]
fn classification_metrics_match_sklearn() {
    let g = golden();
    let cases = g["classification"].as_array().expect("cases");
    assert!(cases.len() >= 7);
    for case in cases {
        let name = case["name"].as_str().expect("name");
        let labels = u8s(&case["labels"]);
        let scores = f64s(&case["scores"]);
        let c = Confusion::from_scores(&labels, &scores, case["threshold"].as_f64().expect("t")).expect("confusion");
        let counts = [c.tp, c.fp, c.tn, c.fn_];
        let expected = ["tp", "fp", "tn", "fn"].map(|k| case[k].as_u64().expect("count") as usize);
        assert_eq!(counts, expected, "{name}: confusion");
        let r = ClassificationReport::new(&c);
        close(r.accuracy, case["accuracy"].as_f64().expect("acc"), 1e-12, name);
        for (key, m) in
            [("0", r.normal), ("1", r.anomalous), ("macro avg", r.macro_avg), ("weighted avg", r.weighted_avg)]
        {
            let e = &case["report"][key];
            close(m.precision, e["precision"].as_f64().expect("p"), 1e-12, &format!("{name} {key} precision"));
            close(m.recall, e["recall"].as_f64().expect("r"), 1e-12, &format!("{name} {key} recall"));
            close(m.f1, e["f1-score"].as_f64().expect("f1"), 1e-12, &format!("{name} {key} f1"));
            assert_eq!(m.support as f64, e["support"].as_f64().expect("support"), "{name} {key} support");
        }
        if let Some(auc) = case.get("roc_auc") {
            close(
                roc_auc(&labels, &scores).expect("auc"),
                auc.as_f64().expect("auc"),
                1e-12,
                &format!("{name} roc_auc"),
            );
            let (fpr, tpr, _) = roc_curve(&labels, &scores).expect("roc");
            all_close(&fpr, &f64s(&case["roc_fpr"]), 1e-12, &format!("{name} fpr"));
            all_close(&tpr, &f64s(&case["roc_tpr"]), 1e-12, &format!("{name} tpr"));
            let ap = average_precision(&labels, &scores).expect("ap");
            close(ap, case["average_precision"].as_f64().expect("ap"), 1e-12, &format!("{name} AP"));
            let (p, r, _) = pr_curve(&labels, &scores).expect("pr");
            all_close(&p, &f64s(&case["pr_precision"]), 1e-12, &format!("{name} precision curve"));
            all_close(&r, &f64s(&case["pr_recall"]), 1e-12, &format!("{name} recall curve"));
        }
    }
}

#[test]
fn percentiles_match_numpy() {
    for case in golden()["percentile"].as_array().expect("cases") {
        let values = f64s(&case["values"]);
        for (q, e) in f64s(&case["q"]).iter().zip(f64s(&case["expected"])) {
            close(percentile(&values, *q).expect("percentile"), e, 1e-14, &format!("q={q} n={}", values.len()));
        }
    }
}

fn transformed(scaler: &Scaler, values: &[f32]) -> Vec<f64> {
    let mut scaled = values.to_vec();
    scaler.transform(&mut scaled);
    scaled.iter().map(|&v| f64::from(v)).collect()
}

#[test]
fn scalers_match_sklearn() {
    let g = golden();
    let case = &g["scaler"];
    let values: Vec<f32> = f64s(&case["values"]).iter().map(|&v| v as f32).collect();
    let f = case["n_features"].as_u64().expect("f") as usize;
    let mask: Vec<bool> = case["mask"].as_array().expect("mask").iter().map(|b| b.as_bool().expect("bool")).collect();
    let std = Scaler::fit(ScalerKind::Standard, &values, f, &mask).expect("fit");
    let Scaler::Standard { mean, scale } = &std else { panic!("standard scaler expected") };
    all_close(mean, &f64s(&case["standard_mean"]), 1e-12, "mean");
    all_close(scale, &f64s(&case["standard_scale"]), 1e-12, "scale");
    all_close(&transformed(&std, &values), &f64s(&case["standard_transformed"]), 1e-6, "standardised");
    let mm = Scaler::fit(ScalerKind::MinMax, &values, f, &mask).expect("fit");
    let Scaler::MinMax { min, scale } = &mm else { panic!("min-max scaler expected") };
    all_close(min, &f64s(&case["minmax_min"]), 1e-12, "min");
    all_close(scale, &f64s(&case["minmax_range"]), 1e-12, "range");
    all_close(&transformed(&mm, &values), &f64s(&case["minmax_transformed"]), 1e-6, "min-max scaled");
}

fn class_counts(labels: &[u8], idx: &[usize]) -> Vec<usize> {
    let ones = idx.iter().filter(|&&i| labels[i] == 1).count();
    vec![idx.len() - ones, ones]
}

#[test]
fn stratified_split_sizes_match_train_test_split() {
    let g = golden();
    let cases = g["split"].as_array().expect("cases");
    assert!(cases.iter().any(|c| c["normal"] == 1700 && c["anomalous"] == 3398), "the seed 000 case is kept");
    for case in cases {
        let (n0, n1) =
            (case["normal"].as_u64().expect("n0") as usize, case["anomalous"].as_u64().expect("n1") as usize);
        let labels: Vec<u8> = std::iter::repeat_n(0u8, n0).chain(std::iter::repeat_n(1u8, n1)).collect();
        let (val, test) = (case["val"].as_f64().expect("val"), case["test"].as_f64().expect("test"));
        for seed in [0, 42] {
            let s = stratified(&labels, val, test, seed).expect("split");
            assert_eq!(class_counts(&labels, &s.train), usizes(&case["train_counts"]), "{n0}/{n1} train");
            assert_eq!(class_counts(&labels, &s.val), usizes(&case["val_counts"]), "{n0}/{n1} val");
            assert_eq!(class_counts(&labels, &s.test), usizes(&case["test_counts"]), "{n0}/{n1} test");
        }
    }
}

#[test]
fn stratified_kfold_matches_sklearn_allocation() {
    for case in golden()["kfold"].as_array().expect("cases") {
        let (n0, n1) =
            (case["normal"].as_u64().expect("n0") as usize, case["anomalous"].as_u64().expect("n1") as usize);
        let labels: Vec<u8> = std::iter::repeat_n(0u8, n0).chain(std::iter::repeat_n(1u8, n1)).collect();
        let folds = kfold_stratified(&labels, case["k"].as_u64().expect("k") as usize, 0).expect("folds");
        let got: Vec<Vec<usize>> = folds.iter().map(|f| class_counts(&labels, &f.test)).collect();
        let expected: Vec<Vec<usize>> = case["test_counts"].as_array().expect("folds").iter().map(usizes).collect();
        assert_eq!(got, expected, "{n0}/{n1}");
    }
}

#[test]
fn forecast_errors_match_sklearn() {
    let g = golden();
    let case = &g["regression"];
    let e = ForecastErrors::new(&f64s(&case["actual"]), &f64s(&case["predicted"]), 1).expect("errors");
    close(e.rmse_all, case["rmse"].as_f64().expect("rmse"), 1e-12, "rmse");
    close(e.mae_all, case["mae"].as_f64().expect("mae"), 1e-12, "mae");
}

#[test]
fn windows_match_the_seed_loop_and_pandas_mode() {
    for case in golden()["windows"].as_array().expect("cases") {
        let labels = u8s(&case["labels"]);
        let n = labels.len();
        let data = Dataset::from_parts(vec!["v".into()], vec![0.0; n], None, Some(labels)).expect("dataset");
        let spec = WindowSpec::new(
            case["size"].as_u64().expect("size") as usize,
            case["step"].as_u64().expect("step") as usize,
        );
        let w = Windows::classify(&data, &spec).expect("windows");
        assert_eq!(w.starts(), usizes(&case["starts"]).as_slice());
        assert_eq!(w.labels().expect("labels"), u8s(&case["window_labels"]).as_slice());
    }
}

#[test]
fn vus_matches_tsb_ad() {
    // Values from TSB-AD's own code: tools/reference/vus_golden.py.
    let g: Value = serde_json::from_str(include_str!("golden/tsb_ad_vus.json")).expect("JSON");
    let cases = g["cases"].as_array().expect("cases");
    assert_eq!(cases.len(), 8);
    for c in cases {
        let what = format!("{} ({} thresholds)", c["case"], c["thresholds"]);
        let window = c["window"].as_u64().expect("window") as usize;
        let thresholds = c["thresholds"].as_u64().expect("thresholds") as usize;
        let v = telltale_core::metrics::vus(&u8s(&c["labels"]), &f64s(&c["scores"]), window, thresholds).expect(&what);
        close(v.pr, c["vus_pr"].as_f64().expect("pr"), 1e-9, &format!("VUS-PR {what}"));
        close(v.roc, c["vus_roc"].as_f64().expect("roc"), 1e-9, &format!("VUS-ROC {what}"));
    }
    let none = telltale_core::metrics::vus(&[0, 0, 0], &[0.1, 0.2, 0.3], 2, 250).expect_err("no anomaly");
    assert!(none.to_string().contains("no point is labelled anomalous"), "{none}");
}
