"""Runs a TFLite model with LiteRT (TensorFlow Lite's interpreter, PyPI `ai-edge-litert`) on raw little-endian f32
inputs, one window at a time; writes its outputs the same way.

    python3 tools/tflite/run.py MODEL.tflite INPUTS.f32 BATCH STEPS FEATURES OUTPUTS.f32

telltale's tests call it to check `telltale export --tflite` files against the runtime. Falls back to
TensorFlow's `tf.lite.Interpreter` where LiteRT is not installed.
"""
import sys

import numpy as np

try:
    from ai_edge_litert.interpreter import Interpreter
except ImportError:  # TensorFlow's copy of the same interpreter
    from tensorflow.lite.python.interpreter import Interpreter

model, inputs, batch, steps, features, outputs = sys.argv[1:7]
x = np.fromfile(inputs, dtype="<f4").reshape(int(batch), int(steps), int(features))
it = Interpreter(model_path=model, num_threads=1)
it.allocate_tensors()
i_in, i_out = it.get_input_details()[0]["index"], it.get_output_details()[0]["index"]
ys = []
for w in x:
    it.reset_all_variables()
    it.set_tensor(i_in, w[None])
    it.invoke()
    ys.append(it.get_tensor(i_out).copy())
np.asarray(ys, dtype="<f4").tofile(outputs)
