"""W3 in PyTorch: the W1 model as tensors — MLP 2-16-16-1 on a batch of 100 moons, hinge loss +
1e-4 L2, one SGD step, float32, on 1 thread.

    python3 benches/peers/torch_w3.py
"""
import torch

from common import time_steps
from w1_model import make_step

step = make_step(torch.float32, lr=0.1)
torch.set_num_threads(1)
print(f"W3 torch f32 threads=1: {time_steps(step, 500) * 1e6:.1f} us/step")
