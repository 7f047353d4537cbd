#!/usr/bin/env python3
"""Download the wheels a GPU worker installs, on the control host (the nodes have no internet).

    wheelhouse.py --dest DIR --python-version 3.11 --glibc 2.36 --arch x86_64 PACKAGE...

Runs `pip download --only-binary=:all:` for the node's Python version and platform (every manylinux
tag the node's glibc accepts: manylinux_2_17 .. manylinux_2_<N>, manylinux2014/2010/1), then writes
DIR/index.html linking each wheel with its
`#sha256=` so that `pip install --no-index --find-links DIR-or-URL` checks every file it installs,
and DIR/requirements.txt (the packages asked for). Standard library only. Exit 0 when done.
"""

from __future__ import annotations

import argparse
import hashlib
import html
import os
import subprocess
import sys
import tempfile
from pathlib import Path


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def platforms(glibc: str, arch: str) -> list[str]:
    """Platform tags a node with this glibc (e.g. "2.36") and machine (x86_64, aarch64) runs."""
    major, minor = (int(v) for v in glibc.split(".")[:2])
    if major != 2:
        raise ValueError(f"unexpected glibc version {glibc}")
    tags = [f"manylinux_2_{m}_{arch}" for m in range(minor, 16, -1)]
    return [*tags, f"manylinux2014_{arch}", f"manylinux2010_{arch}", f"manylinux1_{arch}", "linux_" + arch]


def write_index(dest: Path) -> int:
    wheels = sorted(p for p in dest.iterdir() if p.name.endswith(".whl"))
    links = "\n".join(f'<a href="{html.escape(p.name)}#sha256={sha256(p)}">{html.escape(p.name)}</a><br>'
                      for p in wheels)
    tmp = dest / ".index.html.tmp"
    tmp.write_text(f"<!DOCTYPE html>\n<html><body>\n{links}\n</body></html>\n")
    os.replace(tmp, dest / "index.html")
    return len(wheels)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--dest", type=Path, required=True)
    p.add_argument("--python-version", required=True, help="the node's Python, e.g. 3.11")
    p.add_argument("--glibc", required=True, help="the node's glibc, e.g. 2.36")
    p.add_argument("--arch", required=True, help="the node's machine, e.g. x86_64")
    p.add_argument("--index-url", default=None)
    p.add_argument("packages", nargs="+")
    a = p.parse_args(argv)
    a.dest.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, "-m", "pip", "download", "--disable-pip-version-check", "--only-binary=:all:",
           "--python-version", a.python_version, "--implementation", "cp", "-d", str(a.dest)]
    for plat in platforms(a.glibc, a.arch):
        cmd += ["--platform", plat]
    if a.index_url:
        cmd += ["--index-url", a.index_url]
    # Only the index: no local wheel directories, extra indexes or constraints from this machine.
    env = {k: v for k, v in os.environ.items()
           if k not in ("PIP_FIND_LINKS", "PIP_EXTRA_INDEX_URL", "PIP_CONSTRAINT", "PIP_NO_INDEX")}
    env["PIP_CONFIG_FILE"] = os.devnull
    with tempfile.TemporaryDirectory() as tmp:
        env["TMPDIR"] = tmp
        done = subprocess.run([*cmd, *a.packages], env=env, check=False)
    if done.returncode != 0:
        print(f"pip download failed (exit {done.returncode}) for {' '.join(a.packages)}; this needs PyPI "
              "(or --index-url of a mirror) from the control host", file=sys.stderr)
        return done.returncode
    (a.dest / "requirements.txt").write_text("".join(f"{pkg}\n" for pkg in a.packages))
    print(f"{write_index(a.dest)} wheels in {a.dest}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
