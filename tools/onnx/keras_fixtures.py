"""Keras models converted to ONNX with tf2onnx as test fixtures for `telltale import`, with ONNX Runtime's outputs.

    TF_CPP_MIN_LOG_LEVEL=2 python tools/onnx/keras_fixtures.py OUT_DIR [ACCELEROMETER_CSV]

Needs tensorflow-cpu, tf_keras, tf2onnx, onnxruntime, numpy (a venv outside the project). It runs Keras 2
(`tf_keras`, TF_USE_LEGACY_KERAS=1): tf2onnx 1.17 rewrites its LSTM and GRU into ONNX's LSTM and GRU ops, while
Keras 3's recurrent layers come out as a `Loop` over the steps, which telltale's runtime does not map. Writes NAME.onnx and
NAME.ort.f32 (ONNX Runtime's outputs on the 8 fixed windows of telltale's runtime tests, little-endian f32).

- keras-cnn-lstm: the CNN-LSTM of ../shared/reference/keras_cnn_lstm.py (Conv1D 64/k3 ReLU, MaxPooling1D 2,
  Dropout, LSTM 50, Dropout, Dense 1 sigmoid), trained two epochs on the accelerometer data when the CSV is
  given (seeded weights otherwise), batch 1 as the reference's TFLite model.
- keras-gru: the same kinds in other sizes with a GRU (reset_after, Keras' default): Conv1D 16/k4 'same' ReLU,
  MaxPooling1D 4, GRU 12, Dense 8 ReLU, Dense 1 sigmoid; batch axis open.
"""
import os
import sys

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
import numpy as np
import tensorflow as tf
import tf2onnx
import onnxruntime as ort
from tensorflow.keras import Sequential
from tensorflow.keras.layers import GRU, LSTM, Conv1D, Dense, Dropout, Input, MaxPooling1D

tf.random.set_seed(42)
np.random.seed(42)
out_dir = sys.argv[1]
os.makedirs(out_dir, exist_ok=True)


def inputs(b, t, c):
    i = np.arange(b * t * c, dtype=np.uint64)
    v = ((i * 2654435761) % (1 << 32)) >> 8
    return (v.astype(np.float32) / 4194304.0 - 2.0).reshape(b, t, c)


def cnn_lstm(batch=None):
    return Sequential([Input((60, 3), batch_size=batch), Conv1D(64, 3, activation="relu"), MaxPooling1D(2),
                       Dropout(0.2), LSTM(50), Dropout(0.2), Dense(1, activation="sigmoid")])


def conv_gru(batch=None):
    return Sequential([Input((48, 3), batch_size=batch), Conv1D(16, 4, padding="same", activation="relu"),
                       MaxPooling1D(4), GRU(12), Dense(8, activation="relu"), Dense(1, activation="sigmoid")])


def train_on_accelerometer(model, path):
    import csv

    rows = list(csv.DictReader(open(path)))
    X = np.array([[float(r["x"]), float(r["y"]), float(r["z"])] for r in rows], dtype=np.float32)
    y = np.array([int(float(r["wconfid"]) != 1) for r in rows])
    X = (X - X.mean(0)) / X.std(0)
    idx = range(0, len(X) - 60, 30)
    Xw = np.stack([X[i:i + 60] for i in idx])
    yw = np.array([np.bincount(y[i:i + 60]).argmax() for i in idx])
    model.compile(optimizer="adam", loss="binary_crossentropy")
    model.fit(Xw, yw, epochs=2, batch_size=64, verbose=0)


def export(name, model, steps, batch):
    path = os.path.join(out_dir, name + ".onnx")
    spec = (tf.TensorSpec((batch, steps, 3), tf.float32, name="x"),)
    fn = tf.function(lambda x: model(x, training=False))
    tf2onnx.convert.from_function(fn, input_signature=spec, opset=17, output_path=path)
    s = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    x = inputs(8, steps, 3)
    name_in = s.get_inputs()[0].name
    y = np.concatenate([s.run(None, {name_in: x[i:i + 1]})[0] for i in range(8)])
    k = model(x, training=False).numpy()
    print(name, "bytes", os.path.getsize(path), "ort vs keras", float(np.abs(y - k).max()))
    y.astype("<f4").tofile(os.path.join(out_dir, name + ".ort.f32"))


trained = cnn_lstm()
if len(sys.argv) > 2:
    train_on_accelerometer(trained, sys.argv[2])
edge = cnn_lstm(batch=1)
edge.set_weights(trained.get_weights())
export("keras-cnn-lstm", edge, 60, 1)
export("keras-gru", conv_gru(), 48, None)
