"""The cnn_digits example's training epoch in PyTorch: the same conv net (conv 1→16, BN, ReLU,
conv 16→32, BN, ReLU, maxpool 2, conv 32→64, BN, ReLU, global average, linear 64→10), the
same 1,437 training images of data/digits.csv in shuffled batches of 64, Adam, float32.
Prints the median epoch time over 11 epochs after one warm-up epoch, the statistic the
example prints (`cargo run --release --example cnn_digits`).

    python3 benches/peers/torch_cnn_digits.py [--threads N]
"""
import argparse
import os
import statistics
import time

import torch
import torch.nn.functional as F

from models_torch import cnn

parser = argparse.ArgumentParser()
parser.add_argument("--threads", type=int, default=torch.get_num_threads())
args = parser.parse_args()
torch.set_num_threads(args.threads)
torch.manual_seed(0)

root = os.path.join(os.path.dirname(__file__), "..", "..")
rows = open(os.path.join(root, "data", "digits.csv")).read().splitlines()[1:]
data = torch.tensor([[float(v) for v in r.split(",")] for r in rows])
x_all, y_all = data[:, :64] / 16.0, data[:, 64].long()
perm = torch.randperm(len(rows))
train = perm[: len(rows) - len(rows) // 5]  # 1,438 (tapegrad: 1,437) images
x, y = x_all[train].reshape(-1, 1, 8, 8), y_all[train]


model = cnn(torch)
opt = torch.optim.Adam(model.parameters(), lr=3e-3)


def epoch():
    model.train()
    order = torch.randperm(len(x))
    for i in range(0, len(x), 64):
        idx = order[i:i + 64]
        opt.zero_grad()
        loss = F.cross_entropy(model(x[idx]), y[idx])
        loss.backward()
        opt.step()


epoch()
times = []
for _ in range(11):
    start = time.perf_counter()
    epoch()
    times.append(time.perf_counter() - start)
print(f"cnn_digits torch f32 threads={args.threads}: {statistics.median(times) * 1e3:.1f} ms/epoch (median of 11)")
