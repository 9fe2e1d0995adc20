"""W1 as PyTorch does it with tensors: the micrograd demo's model (MLP 2-16-16-1, ReLU) on the
100 moons in one batch, SVM max-margin loss + 1e-4 L2, forward + backward + SGD, float64,
on 1 and 2 threads.

    python3 benches/peers/torch_w1.py
"""
import torch

from common import time_steps
from w1_model import make_step

step = make_step(torch.float64, lr=0.5)
for threads in (1, 2):
    torch.set_num_threads(threads)
    print(f"W1 torch tensors f64 threads={threads}: {time_steps(step, 200) * 1e3:.3f} ms/step")
