"""Golden values for telltale-core's metrics, scalers, splits, windows and
percentiles, computed by scikit-learn, numpy and pandas.

Run (any recent scikit-learn; the versions used are recorded in the output):
    python3 -m venv /tmp/golden-env && /tmp/golden-env/bin/pip install scikit-learn pandas
    /tmp/golden-env/bin/python tools/golden/make_golden.py core > crates/telltale-core/tests/golden/sklearn.json
    /tmp/golden-env/bin/python tools/golden/make_golden.py models > crates/telltale-models/tests/golden/baselines.json

The Rust side is crates/telltale-core/tests/golden.rs and crates/telltale-models/tests/golden.rs.
"""
import json
import sys

import numpy as np
import pandas as pd
import sklearn
from sklearn.metrics import (accuracy_score, average_precision_score, classification_report, confusion_matrix,
                             mean_absolute_error, mean_squared_error, precision_recall_curve, roc_auc_score,
                             roc_curve)
from sklearn.model_selection import StratifiedKFold, train_test_split
from sklearn.preprocessing import MinMaxScaler, StandardScaler

rng = np.random.default_rng(20261122)


def classification_case(name, labels, scores, threshold):
    labels = np.asarray(labels, dtype=int)
    scores = np.asarray(scores, dtype=float)
    pred = (scores >= threshold).astype(int)
    tn, fp, fn, tp = confusion_matrix(labels, pred, labels=[0, 1]).ravel()
    rep = classification_report(labels, pred, labels=[0, 1], output_dict=True, zero_division=0)
    out = {
        "name": name,
        "labels": labels.tolist(),
        "scores": scores.tolist(),
        "threshold": threshold,
        "tp": int(tp), "fp": int(fp), "tn": int(tn), "fn": int(fn),
        "accuracy": accuracy_score(labels, pred),
        "report": {k: {m: float(v) for m, v in rep[k].items()} for k in ["0", "1", "macro avg", "weighted avg"]},
    }
    if 0 < labels.sum() < len(labels):
        out["roc_auc"] = roc_auc_score(labels, scores)
        fpr, tpr, _ = roc_curve(labels, scores, drop_intermediate=False)
        out["roc_fpr"], out["roc_tpr"] = fpr.tolist(), tpr.tolist()
        out["average_precision"] = average_precision_score(labels, scores)
        p, r, _ = precision_recall_curve(labels, scores, drop_intermediate=False)
        # scikit-learn appends the (1, 0) end point and lists thresholds ascending; drop the end point.
        out["pr_precision"], out["pr_recall"] = p[:-1][::-1].tolist(), r[:-1][::-1].tolist()
    return out


def classification_cases():
    cases = []
    y = (rng.random(200) < 0.3).astype(int)
    s = np.round(np.clip(0.35 + 0.3 * y + rng.normal(0, 0.2, 200), 0, 1), 1)
    cases.append(classification_case("ties_rounded", y, s, 0.5))
    y = (rng.random(500) < 0.4).astype(int)
    s = rng.normal(0, 1, 500) + 1.2 * y
    cases.append(classification_case("continuous", y, s, 0.6))
    y = np.zeros(300, dtype=int)
    y[rng.choice(300, 3, replace=False)] = 1
    s = rng.random(300) + 0.5 * y
    cases.append(classification_case("imbalanced", y, s, 0.9))
    y = np.array([0, 1, 0, 1, 1, 0, 0, 1])
    cases.append(classification_case("all_tied", y, np.full(8, 0.3), 0.5))
    cases.append(classification_case("perfect", y, y * 0.8 + 0.1, 0.5))
    cases.append(classification_case("nothing_flagged", y, np.linspace(0, 0.4, 8), 0.5))
    cases.append(classification_case("inverted", y, 1 - y * 0.8, 0.5))
    return cases


def percentile_cases():
    out = []
    for n in [1, 2, 5, 17, 100]:
        v = rng.normal(0, 3, n)
        qs = [0, 1, 5, 25, 33.3, 50, 90, 95, 99, 99.9, 100]
        out.append({"values": v.tolist(), "q": qs, "expected": [float(np.percentile(v, q)) for q in qs]})
    return out


def scaler_case():
    x = rng.normal(5, 2, (60, 3)).astype(np.float32)
    x[:, 2] = 1.5
    mask = rng.random(60) < 0.7
    std = StandardScaler().fit(x[mask].astype(np.float64))
    mm = MinMaxScaler().fit(x[mask].astype(np.float64))
    return {
        "values": x.ravel().tolist(), "n_features": 3, "mask": mask.tolist(),
        "standard_mean": std.mean_.tolist(), "standard_scale": std.scale_.tolist(),
        "standard_transformed": std.transform(x.astype(np.float64)).ravel().tolist(),
        "minmax_min": mm.data_min_.tolist(), "minmax_range": np.where(mm.data_range_ == 0, 1, mm.data_range_).tolist(),
        "minmax_transformed": mm.transform(x.astype(np.float64)).ravel().tolist(),
    }


def class_counts(y, idx):
    return [int((y[idx] == 0).sum()), int((y[idx] == 1).sum())]


def split_cases():
    """Per-class counts of the seed-000 protocol (two stratified draws). Only
    cases whose counts do not depend on the random state are kept: there the
    allocation is fully determined by scikit-learn's rounding."""
    out = []
    for n0, n1, val, test in [(1700, 3398, 0.15, 0.15), (50, 950, 0.15, 0.15), (333, 667, 0.2, 0.1),
                              (40, 60, 0.25, 0.25), (7, 93, 0.15, 0.15), (990, 10, 0.0, 0.3)]:
        y = np.array([0] * n0 + [1] * n1)
        results = set()
        for rs in range(8):
            idx = np.arange(len(y))
            tr, rest = train_test_split(idx, test_size=val + test, random_state=rs, stratify=y)
            if val == 0:
                parts = (class_counts(y, tr), [0, 0], class_counts(y, rest))
            else:
                va, te = train_test_split(rest, test_size=test / (val + test), random_state=rs, stratify=y[rest])
                parts = (class_counts(y, tr), class_counts(y, va), class_counts(y, te))
            results.add(json.dumps(parts))
        if len(results) == 1:
            tr, va, te = json.loads(results.pop())
            out.append({"normal": n0, "anomalous": n1, "val": val, "test": test,
                        "train_counts": tr, "val_counts": va, "test_counts": te})
    return out


def kfold_cases():
    out = []
    for n0, n1, k in [(40, 13, 5), (100, 7, 3), (3, 30, 3), (25, 25, 10)]:
        y = np.array([0] * n0 + [1] * n1)
        folds = [class_counts(y, te) for _, te in StratifiedKFold(k, shuffle=True, random_state=0).split(y, y)]
        out.append({"normal": n0, "anomalous": n1, "k": k, "test_counts": folds})
    return out


def regression_case():
    a = rng.normal(20, 5, 80)
    p = a + rng.normal(0, 1.5, 80)
    return {"actual": a.tolist(), "predicted": p.tolist(), "rmse": float(np.sqrt(mean_squared_error(a, p))),
            "mae": mean_absolute_error(a, p)}


def window_cases():
    """Seed 000's loop: starts range(0, len - size, step), label = the mode of
    the rows' labels (np.bincount().argmax() and pandas mode()[0] agree: ties
    go to the smaller label)."""
    out = []
    for n, size, step in [(500, 60, 30), (500, 7, 3), (123, 10, 10), (64, 4, 2)]:
        runs = rng.integers(1, 25, 100)
        y = np.repeat(rng.integers(0, 2, 100), runs)[:n]
        starts = list(range(0, len(y) - size, step))
        labels = [int(np.bincount(y[i:i + size], minlength=2).argmax()) for i in starts]
        assert labels == [int(pd.Series(y[i:i + size]).mode()[0]) for i in starts]
        out.append({"labels": y.tolist(), "size": size, "step": step, "starts": starts, "window_labels": labels})
    return out


def baseline_cases():
    """Isolation Forest's average path length, and PCA's T² and Q as
    scikit-learn's PCA gives them (components explaining 90 % of the
    variance, fitted on X, evaluated on Y)."""
    from sklearn.decomposition import PCA
    from sklearn.ensemble._iforest import _average_path_length
    ns = [1, 2, 3, 5, 10, 100, 256, 1000]
    x = rng.normal(0, 1, (80, 6)) @ rng.normal(0, 1, (6, 6))
    y = rng.normal(0, 1, (12, 6)) @ rng.normal(0, 1, (6, 6))
    full = PCA().fit(x)
    k = int(np.searchsorted(np.cumsum(full.explained_variance_ratio_), 0.9) + 1)
    pca = PCA(n_components=k).fit(x)
    scores = pca.transform(y)
    t2 = (scores ** 2 / pca.explained_variance_).sum(axis=1)
    q = ((y - pca.inverse_transform(scores)) ** 2).sum(axis=1)
    return {
        "generator": "tools/golden/make_golden.py models",
        "versions": {"numpy": np.__version__, "scikit-learn": sklearn.__version__},
        "average_path_length": {"n": ns, "expected": [float(_average_path_length([n])[0]) for n in ns]},
        "pca": {"x": x.tolist(), "y": y.tolist(), "variance": 0.9, "components": k, "t2": t2.tolist(), "q": q.tolist()},
    }


if len(sys.argv) > 1 and sys.argv[1] == "models":
    json.dump(baseline_cases(), sys.stdout, indent=1)
    sys.stdout.write("\n")
    sys.exit(0)

json.dump({
    "generator": "tools/golden/make_golden.py",
    "versions": {"python": sys.version.split()[0], "numpy": np.__version__, "pandas": pd.__version__,
                 "scikit-learn": sklearn.__version__},
    "classification": classification_cases(),
    "percentile": percentile_cases(),
    "scaler": scaler_case(),
    "split": split_cases(),
    "kfold": kfold_cases(),
    "regression": regression_case(),
    "windows": window_cases(),
}, sys.stdout, indent=1)
sys.stdout.write("\n")
