"""Golden values of VUS-PR and VUS-ROC from TSB-AD's own code (PyPI `tsb-ad`),
for telltale-core's test `vus_matches_tsb_ad`.

    python -m venv /tmp/vus && /tmp/vus/bin/pip install numpy scikit-learn && \
        /tmp/vus/bin/pip install --no-deps tsb-ad==1.5
    /tmp/vus/bin/python tools/reference/vus_golden.py > crates/telltale-core/tests/golden/tsb_ad_vus.json
"""
import json

import numpy as np
from TSB_AD.evaluation.basic_metrics import generate_curve

rng = np.random.default_rng(7)
cases = []
for n, ranges, window, kind in [
    (300, [(40, 59), (200, 204)], 20, "noise+bump"),
    (500, [(0, 9), (100, 150), (160, 170), (490, 499)], 30, "edges, close ranges"),
    (400, [(120, 180)], 100, "one long range"),
    (250, [(50, 50), (52, 60)], 10, "ties"),
]:
    labels = np.zeros(n, dtype=int)
    for a, b in ranges:
        labels[a : b + 1] = 1
    score = rng.normal(size=n)
    score += 1.5 * labels * rng.uniform(0.5, 1.5, size=n)
    if kind == "ties":
        score = np.round(score, 0)
    # A flag slightly before and after a range: the buffer matters.
    score[max(ranges[0][0] - 3, 0)] += 2.0
    for thre in (250, 20):
        _, _, _, _, _, _, vus_roc, vus_pr = generate_curve(labels, score, window, "opt", thre)
        cases.append({
            "case": kind, "window": window, "thresholds": thre,
            "labels": labels.tolist(), "scores": score.tolist(),
            "vus_pr": float(vus_pr), "vus_roc": float(vus_roc),
        })
print(json.dumps({"source": "tsb-ad 1.5, TSB_AD.evaluation.basic_metrics.generate_curve(version='opt')", "cases": cases}))
