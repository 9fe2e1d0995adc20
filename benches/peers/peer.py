"""One workload in one peer engine, for `cargo run --release -p tapegrad-bench`: builds the
step, warms up for a second, times it like tapegrad's side (the median over REPEATS of the
mean of STEPS calls, with the fastest and slowest repeat as the spread), and prints one line

    RESULT median=<s> min=<s> max=<s> rss_kb=<peak resident set, KiB>

or `SKIP <reason>` when the engine is not installed or has no such workload.

    python3 benches/peers/peer.py W2 torch --threads 1 --repeats 11

Engines: torch, jax (each step one jax.jit-compiled function: forward, jax.grad, update),
micrograd. Workloads: W1-W8 as in the README's benchmark table.
"""
import argparse
import os
import resource
import statistics
import sys
import time

parser = argparse.ArgumentParser()
parser.add_argument("workload")
parser.add_argument("engine", choices=["torch", "jax", "micrograd"])
parser.add_argument("--threads", type=int, default=1)
parser.add_argument("--repeats", type=int, default=11)
parser.add_argument("--quick", action="store_true", help="fewer steps per repeat")
args = parser.parse_args()

if args.engine == "jax":
    # Before jax is imported: XLA's CPU thread pool size.
    flags = "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1" if args.threads == 1 else ""
    os.environ["XLA_FLAGS"] = flags
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

STEPS = {"W1": 20, "W2": 100, "W3": 500, "W4": 10, "W5": 1, "W6": 100_000, "W7": 20, "W8": 20}


def skip(reason):
    print(f"SKIP {reason}")
    sys.exit(0)


def torch_steps(w):
    import torch

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    if w == "W1":
        from w1_model import make_step
        return make_step(torch.float64, lr=0.5)
    if w == "W3":
        from w1_model import make_step
        return make_step(torch.float32, lr=0.1)
    if w == "W2":
        model = torch.nn.Sequential(torch.nn.Linear(784, 256), torch.nn.ReLU(), torch.nn.Linear(256, 128),
                                    torch.nn.ReLU(), torch.nn.Linear(128, 10))
        opt = torch.optim.SGD(model.parameters(), lr=0.01)
        x, y = torch.rand(128, 784), torch.randint(0, 10, (128,))
        return train_step(torch, model, opt, x, y)
    if w == "W4":
        a, b = torch.randn(1024, 1024), torch.randn(1024, 1024)
        return lambda: torch.mm(a, b)
    if w == "W6":
        x = torch.tensor([1.5], requires_grad=True)
        v = torch.tensor([0.5], requires_grad=True)
        return lambda: x * v
    if w == "W7":
        from models_torch import gpt
        model = gpt(torch, vocab=64, context=16, width=64, heads=4, layers=2)
        opt = torch.optim.Adam(model.parameters(), lr=1e-3)
        x, y = torch.randint(0, 64, (32, 16)), torch.randint(0, 64, (32, 16))
        return train_step(torch, model, opt, x, y, flatten=True)
    if w == "W8":
        from models_torch import cnn
        model = cnn(torch)
        opt = torch.optim.Adam(model.parameters(), lr=1e-3)
        x, y = torch.rand(64, 1, 8, 8), torch.randint(0, 10, (64,))
        return train_step(torch, model, opt, x, y)
    skip(f"no PyTorch {w}")


def train_step(torch, model, opt, x, y, flatten=False):
    def step():
        out = model(x)
        loss = torch.nn.functional.cross_entropy(out.reshape(-1, out.shape[-1]) if flatten else out,
                                                 y.reshape(-1) if flatten else y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return step


def jax_steps(w):
    import jax
    import jax.numpy as jnp
    from models_jax import adam, cnn, gpt, hinge_mlp, mlp, sgd

    key = jax.random.PRNGKey(0)
    if w in ("W1", "W3"):
        from common import moons
        points, labels = moons()
        dtype = jnp.float64 if w == "W1" else jnp.float32
        if w == "W1":
            jax.config.update("jax_enable_x64", True)
        x, y = jnp.array(points, dtype), jnp.array(labels, dtype).reshape(-1, 1)
        params, loss = hinge_mlp(key, dtype)
        return jitted(jax, sgd(loss, 0.5 if w == "W1" else 0.1), params, x, y)
    if w == "W2":
        params, loss = mlp(key, [784, 256, 128, 10])
        x = jax.random.uniform(key, (128, 784))
        y = jax.random.randint(key, (128,), 0, 10)
        return jitted(jax, sgd(loss, 0.01), params, x, y)
    if w == "W4":
        a = jax.random.normal(key, (1024, 1024))
        b = jax.random.normal(jax.random.PRNGKey(1), (1024, 1024))
        mm = jax.jit(jnp.matmul)
        return lambda: mm(a, b).block_until_ready()
    if w == "W7":
        params, loss = gpt(key, vocab=64, context=16, width=64, heads=4, layers=2)
        x = jax.random.randint(key, (32, 16), 0, 64)
        y = jax.random.randint(jax.random.PRNGKey(1), (32, 16), 0, 64)
        return jitted(jax, adam(loss, 1e-3), params, x, y, stateful=True)
    if w == "W8":
        params, loss = cnn(key)
        x = jax.random.uniform(key, (64, 1, 8, 8))
        y = jax.random.randint(key, (64,), 0, 10)
        return jitted(jax, adam(loss, 1e-3), params, x, y, stateful=True)
    skip(f"no JAX {w}")


def jitted(jax, update, params, x, y, stateful=False):
    """A step closure around one jit-compiled update, keeping the parameters (and optimizer
    state) between calls."""
    step = jax.jit(update)
    state = {"p": update.init(params) if stateful else params}

    def run():
        state["p"] = step(state["p"], x, y)
        jax.block_until_ready(state["p"])
    return run


def micrograd_steps(w):
    if w != "W1":
        skip(f"no micrograd {w}")
    import gc
    import random
    from micrograd.engine import Value
    from micrograd.nn import MLP
    from common import moons
    random.seed(1337)
    X, y = moons()
    model = MLP(2, [16, 16, 1])
    gc.disable()

    def step():
        inputs = [list(map(Value, row)) for row in X]
        scores = list(map(model, inputs))
        losses = [(1 + -yi * si).relu() for yi, si in zip(y, scores)]
        total = sum(losses) * (1.0 / len(losses)) + 1e-4 * sum((p * p for p in model.parameters()))
        model.zero_grad()
        total.backward()
        for p in model.parameters():
            p.data -= 0.5 * p.grad
    return step


try:
    factory = {"torch": torch_steps, "jax": jax_steps, "micrograd": micrograd_steps}[args.engine]
    step = factory(args.workload)
except ImportError as e:
    skip(f"{args.engine} is not installed ({e.name})")

steps = STEPS.get(args.workload, 10)
if args.engine == "micrograd":
    steps, repeats = 2, min(args.repeats, 3)
else:
    repeats = args.repeats
if args.quick:
    steps = max(1, steps // 5)
warm = time.perf_counter()
step()  # warm-up (and jit compilation), then as long as tapegrad-bench warms up
while time.perf_counter() - warm < 1.0:
    step()
from common import repeat_means  # noqa: E402  (after the engine's own imports and settings)

means = repeat_means(step, steps, repeats)
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(f"RESULT median={statistics.median(means)!r} min={min(means)!r} max={max(means)!r} rss_kb={rss}")
