"""LiteRT's (TFLite's interpreter) one-window latency on a TFLite file, as a `telltale bench latency --reference` peer.

    python3 tools/tflite/latency.py MODEL.tflite [CALLS]

One thread (XNNPACK as LiteRT applies it by default), random inputs, 50 warm-up calls, the median of CALLS
(default 5000). Prints `litert_batch1_us X` and `litert_bytes N` (the file's size).
"""
import os
import sys
import time

import numpy as np

try:
    from ai_edge_litert.interpreter import Interpreter
except ImportError:
    from tensorflow.lite.python.interpreter import Interpreter

path = sys.argv[1]
calls = int(sys.argv[2]) if len(sys.argv) > 2 else 5000
it = Interpreter(model_path=path, num_threads=1)
it.allocate_tensors()
d = it.get_input_details()[0]
i_in, i_out = d["index"], it.get_output_details()[0]["index"]
x = np.random.default_rng(0).standard_normal(d["shape"]).astype(np.float32)
for _ in range(50):
    it.set_tensor(i_in, x)
    it.invoke()
times = []
for _ in range(calls):
    t0 = time.perf_counter()
    it.set_tensor(i_in, x)
    it.invoke()
    it.get_tensor(i_out)
    times.append(time.perf_counter() - t0)
print("litert_batch1_us", round(float(np.median(times)) * 1e6, 2))
print("litert_bytes", os.path.getsize(path))
