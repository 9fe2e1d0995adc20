"""Runs the models `cargo run --release --example onnx_export` wrote (MLP, conv net,
transformer) in ONNX Runtime and compares each output with tapegrad's to 1e-5.

    python3 scripts/onnx/check_onnxruntime.py [DIR]    # DIR defaults to out/onnx

Needs onnxruntime and numpy (`.ci/run` installs them in a virtual environment). Exits with
status 1 if a model does not load or an output differs.
"""
import sys
from pathlib import Path

import numpy as np
import onnxruntime as ort

TOLERANCE = 1e-5
directory = Path(sys.argv[1] if len(sys.argv) > 1 else "out/onnx")
failed = False
for name in ["mlp", "cnn", "transformer"]:
    session = ort.InferenceSession(str(directory / f"{name}.onnx"), providers=["CPUExecutionProvider"])
    x = np.load(directory / f"{name}_input.npy")
    want = np.load(directory / f"{name}_output.npy")
    got = session.run(None, {"input": x})[0]
    worst = float(np.max(np.abs(got - want) / (1.0 + np.abs(want)))) if got.shape == want.shape else float("inf")
    ok = got.shape == want.shape and worst <= TOLERANCE
    failed |= not ok
    print(f"{name:<12} onnxruntime {ort.__version__}: output {got.shape}, largest difference {worst:.2e} "
          f"{'ok' if ok else 'FAILED'}")
sys.exit(1 if failed else 0)
