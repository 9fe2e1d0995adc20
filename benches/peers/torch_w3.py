"""W3 in PyTorch: the W1 model as tensors — MLP 2-16-16-1 on a batch of 100 moons, hinge loss +
1e-4 L2, one SGD step, float32, on 1 thread.

    python3 benches/peers/torch_w3.py
"""
import torch

from common import moons, time_steps

X, y = moons()
X = torch.tensor(X, dtype=torch.float32)
y = torch.tensor(y, dtype=torch.float32).reshape(-1, 1)
torch.manual_seed(1337)
model = torch.nn.Sequential(
    torch.nn.Linear(2, 16), torch.nn.ReLU(), torch.nn.Linear(16, 16), torch.nn.ReLU(), torch.nn.Linear(16, 1)
)
opt = torch.optim.SGD(model.parameters(), lr=0.1)


def step():
    scores = model(X)
    loss = torch.relu(1 - y * scores).mean() + 1e-4 * sum((p * p).sum() for p in model.parameters())
    opt.zero_grad()
    loss.backward()
    opt.step()


torch.set_num_threads(1)
print(f"W3 torch f32 threads=1: {time_steps(step, 500) * 1e6:.1f} us/step")
