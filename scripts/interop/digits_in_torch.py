"""Loads the weights the digits example saved (out/digits.safetensors, written by tapegrad) into
a PyTorch model of the same shape and reports its test accuracy on data/digits.csv — the file
format round trip the other way.

    cargo run --release --example digits
    python3 scripts/interop/digits_in_torch.py [out/digits.safetensors]

PyTorch sees the same parameter names (`layers.0.weight`, `layers.2.bias`, …) because
tapegrad's `mlp` names its Linear layers like an `nn.Sequential` stored as `layers`. Accuracy
is on all 1,797 images, standardized with their own statistics (close to, not exactly, the
example's train-set statistics).
"""
import sys

import numpy as np
import torch
from safetensors.torch import load_file

path = sys.argv[1] if len(sys.argv) > 1 else "out/digits.safetensors"
state = load_file(path)
print("tensors in", path, {k: tuple(v.shape) for k, v in state.items()})


class Net(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.layers = torch.nn.Sequential(torch.nn.Linear(64, 256), torch.nn.ReLU(), torch.nn.Linear(256, 10))

    def forward(self, x):
        return self.layers(x)


net = Net()
net.load_state_dict(state)
data = np.loadtxt("data/digits.csv", delimiter=",", skiprows=1, dtype=np.float32)
x, y = data[:, :64], data[:, 64].astype(np.int64)
std = x.std(0)
std[std == 0] = 1
x = (x - x.mean(0)) / std
with torch.no_grad():
    predicted = net(torch.from_numpy(x)).argmax(1).numpy()
print(f"PyTorch with tapegrad's weights: accuracy {100 * (predicted == y).mean():.2f}% on all {len(y)} images")
