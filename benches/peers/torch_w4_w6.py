"""W4 and W6 in PyTorch: a float32 1024x1024x1024 matmul on 1 and 2 threads (GFLOP/s), and
one recorded op on a 1-element tensor that requires grad.

    python3 benches/peers/torch_w4_w6.py
"""
import torch

from common import time_steps

torch.manual_seed(4)
a, b = torch.randn(1024, 1024), torch.randn(1024, 1024)
for threads in (1, 2):
    torch.set_num_threads(threads)
    seconds = time_steps(lambda: torch.mm(a, b), 20)
    print(f"W4 torch threads={threads}: {2 * 1024**3 / seconds / 1e9:.1f} GFLOP/s")

x = torch.tensor([1.5], requires_grad=True)
w = torch.tensor([0.5], requires_grad=True)
print(f"W6 torch: {time_steps(lambda: x * w, 100_000) * 1e9:.0f} ns per op")
