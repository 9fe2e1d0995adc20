"""W5 in micrograd: a chain of 10^6 scalar multiplies and its backward pass. micrograd's
recursive topological sort fails with a RecursionError long before that; this prints the
depth at which it fails.

    python3 benches/peers/micrograd_w5.py
"""
from micrograd.engine import Value

for depth in (1_000, 10_000, 100_000, 1_000_000):
    x = Value(1.0)
    w = Value(1.0000001)
    y = x
    for _ in range(depth):
        y = y * w
    try:
        y.backward()
        print(f"W5 micrograd: chain of {depth} ops: ok")
    except RecursionError:
        print(f"W5 micrograd: chain of {depth} ops: RecursionError")
        break
