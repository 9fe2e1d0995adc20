"""W1 as PyTorch does it with tensors: the micrograd demo's model (MLP 2-16-16-1, ReLU) on the
100 moons in one batch, SVM max-margin loss + 1e-4 L2, forward + backward + SGD, float64,
on 1 and 2 threads.

    python3 benches/peers/torch_w1.py
"""
import torch

from common import moons, time_steps

X, y = moons()
X = torch.tensor(X, dtype=torch.float64)
y = torch.tensor(y, dtype=torch.float64).reshape(-1, 1)
torch.manual_seed(1337)
model = torch.nn.Sequential(
    torch.nn.Linear(2, 16), torch.nn.ReLU(), torch.nn.Linear(16, 16), torch.nn.ReLU(), torch.nn.Linear(16, 1)
).double()
opt = torch.optim.SGD(model.parameters(), lr=0.5)


def step():
    scores = model(X)
    loss = torch.relu(1 - y * scores).mean() + 1e-4 * sum((p * p).sum() for p in model.parameters())
    opt.zero_grad()
    loss.backward()
    opt.step()


for threads in (1, 2):
    torch.set_num_threads(threads)
    print(f"W1 torch tensors f64 threads={threads}: {time_steps(step, 200) * 1e3:.3f} ms/step")
