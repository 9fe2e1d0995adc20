"""The micrograd demo's model and loss in PyTorch, shared by torch_w1.py (float64) and
torch_w3.py (float32): MLP 2-16-16-1 (ReLU) on the 100 moons in one batch, SVM max-margin loss
+ 1e-4 L2, one SGD step."""
import torch

from common import moons


def make_step(dtype, lr):
    """A function doing one forward + backward + SGD step of the demo in `dtype`."""
    points, labels = moons()
    x = torch.tensor(points, dtype=dtype)
    y = torch.tensor(labels, dtype=dtype).reshape(-1, 1)
    torch.manual_seed(1337)
    model = torch.nn.Sequential(
        torch.nn.Linear(2, 16), torch.nn.ReLU(), torch.nn.Linear(16, 16), torch.nn.ReLU(), torch.nn.Linear(16, 1)
    ).to(dtype)
    opt = torch.optim.SGD(model.parameters(), lr=lr)

    def step():
        scores = model(x)
        loss = torch.relu(1 - y * scores).mean() + 1e-4 * sum((p * p).sum() for p in model.parameters())
        opt.zero_grad()
        loss.backward()
        opt.step()

    return step
