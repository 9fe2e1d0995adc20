"""Shared timing helpers for the peer scripts: the best of several repeats of the mean step
time, like criterion's estimate of a typical step, and the W1 data set."""
import math
import random
import time


def time_steps(step, steps, repeats=5):
    """Seconds per step: the best mean over `repeats` runs of `steps` calls."""
    best = math.inf
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(steps):
            step()
        best = min(best, (time.perf_counter() - start) / steps)
    return best


def moons(n=100, noise=0.1, seed=1337):
    """scikit-learn's make_moons(n, noise=noise) without needing scikit-learn: (points, labels ±1)."""
    rng = random.Random(seed)
    n_out, n_in = n // 2, n - n // 2
    pts = [(math.cos(math.pi * i / (n_out - 1)), math.sin(math.pi * i / (n_out - 1)), -1) for i in range(n_out)]
    pts += [(1 - math.cos(math.pi * i / (n_in - 1)), 1 - math.sin(math.pi * i / (n_in - 1)) - 0.5, 1) for i in range(n_in)]
    rng.shuffle(pts)
    xs = [[x + rng.gauss(0, noise), y + rng.gauss(0, noise)] for x, y, _ in pts]
    ys = [label for _, _, label in pts]
    return xs, ys
