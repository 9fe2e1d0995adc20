"""Shared timing helpers for the peer scripts: the median over several repeats of the mean
step time (the statistic the README quotes for tapegrad too: criterion's median), and the W1
data set."""
import math
import random
import statistics
import time


def repeat_means(step, steps, repeats):
    """The mean seconds per call of `steps` calls, for each of `repeats` repeats."""
    means = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(steps):
            step()
        means.append((time.perf_counter() - start) / steps)
    return means


def time_steps(step, steps, repeats=11):
    """Seconds per step: the median over `repeats` runs of the mean of `steps` calls."""
    step()  # warm-up
    return statistics.median(repeat_means(step, steps, repeats))


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
