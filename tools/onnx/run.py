"""Runs an ONNX model with ONNX Runtime on raw little-endian f32 inputs; writes its outputs the same way.

    python3 tools/onnx/run.py MODEL.onnx INPUTS.f32 BATCH STEPS FEATURES OUTPUTS.f32

telltale's tests call it to check `telltale export --onnx` files against the runtime and burn. Needs
onnxruntime and numpy (scripts/test.sh installs them into target/ci-tools).
"""
import sys

import numpy as np
import onnxruntime as ort

model, inputs, batch, steps, features, outputs = sys.argv[1:7]
x = np.fromfile(inputs, dtype="<f4").reshape(int(batch), int(steps), int(features))
session = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
(y,) = session.run(["output"], {"input": x})
np.asarray(y, dtype="<f4").tofile(outputs)
