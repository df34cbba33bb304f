"""Scores of the published Keras CNN-LSTM (seed 000) on its own test split,
for `telltale metrics` to judge, together with scikit-learn's figures for the
same scores so the two can be compared.

The pipeline is the seed's, as in ../shared/reference/keras_cnn_lstm.py:
label wconfid != 1, StandardScaler fitted on all rows (the seed's leak, kept
to reproduce it), windows 60 / step 30 with the majority label, stratified
70/15/15 split with random_state 42, Conv1D 64/k3 + MaxPool 2 + Dropout 0.2 +
LSTM 50 + Dropout 0.2 + Dense sigmoid, Adam, batch 64, <= 20 epochs, early
stopping on val_loss with patience 3.

Run:
    python3 -m venv /tmp/ref-env && /tmp/ref-env/bin/pip install tensorflow-cpu scikit-learn pandas
    TF_CPP_MIN_LOG_LEVEL=2 /tmp/ref-env/bin/python tools/reference/keras_scores.py data/accelerometer.csv data/examples
Writes keras-cnn-lstm-test-scores.csv (window, start_row, label, score) and
keras-cnn-lstm-test-scores.json (scikit-learn's figures, versions).
"""
import json
import os
import sys

import numpy as np
import pandas as pd
import sklearn
import tensorflow as tf
from sklearn.metrics import (accuracy_score, average_precision_score, f1_score, precision_score, recall_score,
                             roc_auc_score)
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler
from tensorflow.keras.layers import LSTM, Conv1D, Dense, Dropout, Input, MaxPooling1D
from tensorflow.keras.models import Sequential

csv_path, out_dir = sys.argv[1], sys.argv[2]
tf.random.set_seed(42)
np.random.seed(42)
df = pd.read_csv(csv_path)
df["label"] = (df["wconfid"] != 1).astype(int)
df[["x", "y", "z"]] = StandardScaler().fit_transform(df[["x", "y", "z"]])


def windows(X, y, size=60, step=30):
    xs, ys, starts = [], [], []
    for i in range(0, len(X) - size, step):
        xs.append(X[i:i + size])
        ys.append(np.bincount(y[i:i + size]).argmax())
        starts.append(i)
    return np.array(xs, dtype="float32"), np.array(ys), np.array(starts)


Xw, yw, sw = windows(df[["x", "y", "z"]].values, df["label"].values)
idx = np.arange(len(yw))
itr, it, ytr, yt = train_test_split(idx, yw, test_size=0.3, random_state=42, stratify=yw)
iv, ite, yv, yte = train_test_split(it, yt, test_size=0.5, random_state=42, stratify=yt)

model = Sequential([Input((60, 3)), Conv1D(64, 3, activation="relu"), MaxPooling1D(2), Dropout(0.2), LSTM(50),
                    Dropout(0.2), Dense(1, activation="sigmoid")])
model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
stop = tf.keras.callbacks.EarlyStopping(monitor="val_loss", patience=3, restore_best_weights=True)
history = model.fit(Xw[itr], ytr, epochs=20, batch_size=64, validation_data=(Xw[iv], yv), callbacks=[stop], verbose=0)
p = model.predict(Xw[ite], verbose=0).ravel().astype(np.float64)

os.makedirs(out_dir, exist_ok=True)
base = os.path.join(out_dir, "keras-cnn-lstm-test-scores")
pd.DataFrame({"window": ite, "start_row": sw[ite], "label": yte, "score": p}).to_csv(
    base + ".csv", index=False, float_format="%.9g")
# Figures from the scores as written (rounded to 9 significant digits).
q = pd.read_csv(base + ".csv")["score"].to_numpy()
pred = (q >= 0.5).astype(int)
figures = {
    "generator": "tools/reference/keras_scores.py",
    "versions": {"tensorflow": tf.__version__, "scikit-learn": sklearn.__version__, "numpy": np.__version__},
    "params": int(model.count_params()),
    "epochs": len(history.history["loss"]),
    "windows": int(len(yw)),
    "split": [int(len(itr)), int(len(iv)), int(len(ite))],
    "threshold": 0.5,
    "accuracy": accuracy_score(yte, pred),
    "precision": precision_score(yte, pred),
    "recall": recall_score(yte, pred),
    "f1": f1_score(yte, pred),
    "roc_auc": roc_auc_score(yte, q),
    "pr_auc": average_precision_score(yte, q),
}
with open(base + ".json", "w") as f:
    json.dump(figures, f, indent=1)
    f.write("\n")
print(json.dumps(figures))
