"""Writes data/names.txt: the first names of the 1990 US Census name lists as shipped in the
`names` package on PyPI (names 0.3.0, MIT licence; the lists themselves are a US Government
work), lower-cased, letters only, one per line, each once, in the lists' order (female names
by frequency, then male names by frequency).

Run from the repository root:  python3 scripts/data/names.py
(it downloads the package's source archive with pip; nothing at build or test time does).
"""
import io
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

VERSION = "0.3.0"
with tempfile.TemporaryDirectory() as tmp:
    subprocess.run([sys.executable, "-m", "pip", "download", f"names=={VERSION}", "--no-deps",
                    "--no-binary", ":all:", "-d", tmp], check=True, capture_output=True)
    archive = next(Path(tmp).glob("names-*.tar.gz"))
    with tarfile.open(archive) as tar:
        def lines(name):
            member = tar.getmember(f"names-{VERSION}/names/{name}")
            return io.TextIOWrapper(tar.extractfile(member), encoding="ascii").read().splitlines()
        seen, out = set(), []
        for source in ("dist.female.first", "dist.male.first"):
            for line in lines(source):
                name = line.split()[0].lower()
                if name.isalpha() and name not in seen:
                    seen.add(name)
                    out.append(name)
Path("data/names.txt").write_text("\n".join(out) + "\n")
print(f"wrote {len(out)} names to data/names.txt")
