"""W1 in micrograd itself (pip install micrograd): the moons step of micrograd's demo on its
scalar engine — MLP(2, [16, 16, 1]), SVM max-margin loss + 1e-4 L2, forward + backward + SGD.
Timed with Python's garbage collector off and on.

    python3 benches/peers/micrograd_w1.py
"""
import gc
import random

from micrograd.engine import Value
from micrograd.nn import MLP

from common import moons, time_steps

random.seed(1337)
X, y = moons()
model = MLP(2, [16, 16, 1])


def step():
    inputs = [list(map(Value, row)) for row in X]
    scores = list(map(model, inputs))
    losses = [(1 + -yi * si).relu() for yi, si in zip(y, scores)]
    data_loss = sum(losses) * (1.0 / len(losses))
    reg_loss = 1e-4 * sum((p * p for p in model.parameters()))
    total = data_loss + reg_loss
    model.zero_grad()
    total.backward()
    for p in model.parameters():
        p.data -= 0.5 * p.grad


gc.disable()
print(f"W1 micrograd (gc off): {time_steps(step, 3, repeats=3) * 1e3:.1f} ms/step")
gc.enable()
print(f"W1 micrograd (gc on): {time_steps(step, 3, repeats=3) * 1e3:.1f} ms/step")
