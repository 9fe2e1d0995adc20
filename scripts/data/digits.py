"""Writes data/digits.csv: the UCI ML hand-written digits as scikit-learn ships them
(sklearn.datasets.load_digits: 1,797 images of 8x8 pixels, values 0-16, classes 0-9).

Run from the repository root:  python3 scripts/data/digits.py
"""
from sklearn.datasets import load_digits

digits = load_digits()
with open("data/digits.csv", "w") as f:
    f.write(",".join(f"pixel{i}" for i in range(64)) + ",label\n")
    for row, label in zip(digits.data, digits.target):
        f.write(",".join(str(int(v)) for v in row) + f",{int(label)}\n")
print(f"wrote {len(digits.target)} rows to data/digits.csv")
