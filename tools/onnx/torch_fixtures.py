"""PyTorch models exported to ONNX as test fixtures for `telltale import`, with ONNX Runtime's outputs.

    python tools/onnx/torch_fixtures.py OUT_DIR [ACCELEROMETER_CSV]

Needs torch, onnx, onnxruntime, numpy (a venv outside the project: `pip install torch onnx onnxruntime numpy`).
Writes, per model, NAME.onnx and NAME.ort.f32: ONNX Runtime's outputs on 8 fixed windows (the inputs of
telltale's runtime tests: `((i * 2654435761 mod 2^32) >> 8) / 4194304 - 2`), little-endian f32.

- torch-cnn-lstm: the CNN-LSTM of ../shared/reference/torch_cnn_lstm.py (Conv1d 3→64 k3, ReLU, MaxPool 2,
  dropout, LSTM 50, Linear 1; a logit out), trained two epochs on the accelerometer data when the CSV is given
  (seeded weights otherwise), exported as that script does (batch 1, `dynamo=False`).
- torch-gru: a model of the same layer kinds in other sizes, a GRU instead of the LSTM (Conv1d 3→32 k5,
  padding 2, ReLU, MaxPool 3, GRU 24, Linear 16, ReLU, Linear 1), batch axis open.
- torch-lstm-seq: an LSTM over the raw steps returning every step, the last one taken as `out[:, -1, :]`,
  then a two-class Linear and a softmax.
"""
import os
import sys

import numpy as np
import onnxruntime as ort
import torch
import torch.nn as nn

torch.manual_seed(42)
np.random.seed(42)
out_dir = sys.argv[1]
os.makedirs(out_dir, exist_ok=True)


def inputs(b, t, c):
    i = np.arange(b * t * c, dtype=np.uint64)
    v = ((i * 2654435761) % (1 << 32)) >> 8
    return (v.astype(np.float32) / 4194304.0 - 2.0).reshape(b, t, c)


class CnnLstm(nn.Module):
    def __init__(s):
        super().__init__()
        s.conv = nn.Conv1d(3, 64, 3)
        s.pool = nn.MaxPool1d(2)
        s.drop = nn.Dropout(0.2)
        s.lstm = nn.LSTM(64, 50, batch_first=True)
        s.out = nn.Linear(50, 1)

    def forward(s, x):  # [B, 60, 3] -> logit [B, 1]
        h = s.drop(s.pool(torch.relu(s.conv(x.transpose(1, 2))))).transpose(1, 2)
        _, (hn, _) = s.lstm(h)
        return s.out(s.drop(hn[-1]))


class ConvGru(nn.Module):
    def __init__(s):
        super().__init__()
        s.conv = nn.Conv1d(3, 32, 5, padding=2)
        s.pool = nn.MaxPool1d(3)
        s.gru = nn.GRU(32, 24, batch_first=True)
        s.hidden = nn.Linear(24, 16)
        s.out = nn.Linear(16, 1)

    def forward(s, x):  # [B, 48, 3] -> logit [B, 1]
        h = s.pool(torch.relu(s.conv(x.transpose(1, 2)))).transpose(1, 2)
        _, hn = s.gru(h)
        return s.out(torch.relu(s.hidden(hn[-1])))


class LstmSeq(nn.Module):
    def __init__(s):
        super().__init__()
        s.lstm = nn.LSTM(3, 20, batch_first=True)
        s.out = nn.Linear(20, 2)

    def forward(s, x):  # [B, 30, 3] -> class probabilities [B, 2]
        y, _ = s.lstm(x)
        return torch.softmax(s.out(y[:, -1, :]), dim=-1)


def train_on_accelerometer(m, path):
    """Two epochs of the reference script's rule (windows 60 / step 30, label wconfid != 1, Adam 1e-3)."""
    import csv

    rows = list(csv.DictReader(open(path)))
    X = np.array([[float(r["x"]), float(r["y"]), float(r["z"])] for r in rows], dtype=np.float32)
    y = np.array([int(float(r["wconfid"]) != 1) for r in rows])
    X = (X - X.mean(0)) / X.std(0)
    idx = range(0, len(X) - 60, 30)
    Xw = torch.from_numpy(np.stack([X[i:i + 60] for i in idx]))
    yw = torch.tensor([float(np.bincount(y[i:i + 60]).argmax()) for i in idx])[:, None]
    opt, lossf = torch.optim.Adam(m.parameters(), 1e-3), nn.BCEWithLogitsLoss()
    m.train()
    for _ in range(2):
        perm = torch.randperm(len(Xw))
        for i in range(0, len(perm), 64):
            b = perm[i:i + 64]
            opt.zero_grad()
            lossf(m(Xw[b]), yw[b]).backward()
            opt.step()


def export(name, m, steps, dynamic):
    m.eval()
    path = os.path.join(out_dir, name + ".onnx")
    x1 = torch.from_numpy(inputs(1, steps, 3))
    axes = {"x": {0: "batch"}, "y": {0: "batch"}} if dynamic else None
    torch.onnx.export(m, x1, path, input_names=["x"], output_names=["y"], dynamic_axes=axes, dynamo=False)
    s = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    x = inputs(8, steps, 3)
    y = np.concatenate([s.run(None, {"x": x[i:i + 1]})[0] for i in range(8)])
    with torch.no_grad():
        t = m(torch.from_numpy(x)).numpy()
    print(name, "bytes", os.path.getsize(path), "ort vs torch", float(np.abs(y - t).max()))
    y.astype("<f4").tofile(os.path.join(out_dir, name + ".ort.f32"))


cnn = CnnLstm()
if len(sys.argv) > 2:
    train_on_accelerometer(cnn, sys.argv[2])
export("torch-cnn-lstm", cnn, 60, dynamic=False)
export("torch-gru", ConvGru(), 48, dynamic=True)
export("torch-lstm-seq", LstmSeq(), 30, dynamic=True)
