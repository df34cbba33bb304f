"""ONNX Runtime's one-window latency on an ONNX model, as a `telltale bench latency --reference` peer.

    python3 tools/onnx/ort_latency.py MODEL.onnx [CALLS]

One thread, one window of the input's shape (an open batch axis is 1), random inputs, 50 warm-up calls, the
median of CALLS (default 5000). Prints `onnxruntime_batch1_us X`. Needs onnxruntime and numpy.
"""
import sys
import time

import numpy as np
import onnxruntime as ort

path = sys.argv[1]
calls = int(sys.argv[2]) if len(sys.argv) > 2 else 5000
so = ort.SessionOptions()
so.intra_op_num_threads = 1
so.inter_op_num_threads = 1
s = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
inp = s.get_inputs()[0]
shape = [d if isinstance(d, int) and d > 0 else 1 for d in inp.shape]
x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
for _ in range(50):
    s.run(None, {inp.name: x})
times = []
for _ in range(calls):
    t0 = time.perf_counter()
    s.run(None, {inp.name: x})
    times.append(time.perf_counter() - t0)
print("onnxruntime_batch1_us", round(float(np.median(times)) * 1e6, 2))
