"""W2 in PyTorch: MLP 784-256-128-10, batch 128, ReLU, softmax cross-entropy, one SGD step,
float32, on 1 and 2 threads.

    python3 benches/peers/torch_w2.py
"""
import torch

from common import time_steps

torch.manual_seed(2)
model = torch.nn.Sequential(
    torch.nn.Linear(784, 256), torch.nn.ReLU(), torch.nn.Linear(256, 128), torch.nn.ReLU(), torch.nn.Linear(128, 10)
)
opt = torch.optim.SGD(model.parameters(), lr=0.01)
x = torch.rand(128, 784)
labels = torch.randint(0, 10, (128,))


def step():
    loss = torch.nn.functional.cross_entropy(model(x), labels)
    opt.zero_grad()
    loss.backward()
    opt.step()


for threads in (1, 2):
    torch.set_num_threads(threads)
    print(f"W2 torch threads={threads}: {time_steps(step, 200) * 1e3:.3f} ms/step")
