"""Stress test: SIGTERM ``llamo-coach analyze`` at a random moment of its first 2 s of work,
over and over, and count the runs that have not exited a few seconds later ("slow exits").

    python scripts/sigterm_stress.py --runs 600 --seed K [--py-spy /path/to/py-spy]

Run two at once to load both cores, as session 29 did (docs/issue10/session29/RULE.md §1).
With ``--py-spy`` every process of a slow run has its stack printed while it is stuck. Each
run gets its own temporary and cache folders; once every process it started has ended, the
files left there are reported.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from core.paths import REAL_DATA_DIR

ROOT = Path(__file__).resolve().parents[1]
CLIP = REAL_DATA_DIR / "pushups_side_5reps.mp4"


def _tree() -> list[str]:
    """``ps`` lines of the CLIs and the pose worker processes on this machine."""
    out = subprocess.run(["ps", "-eo", "pid,ppid,etimes,stat,cmd"], capture_output=True,
                         text=True, check=True).stdout  # fmt: skip
    return [line for line in out.splitlines() if "forkserver" in line or "app.cli" in line]


def _dump(py_spy: str) -> None:
    for line in _tree():
        print("  PS", line[:160], flush=True)
        subprocess.run([py_spy, "dump", "--pid", line.split()[0]], check=False)


def _group_gone(pgid: int, wait_s: float = 30.0) -> float:
    """When the process group ``pgid`` had no process left (``time.monotonic()``)."""
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.02)
    return time.monotonic()


def one_run(
    clip: Path, delay: float, slow_after: float, py_spy: str | None
) -> tuple[str, list[str]]:
    """(what happened, the files it left behind) for one SIGTERM ``delay`` s into the work."""
    tmp = Path(tempfile.mkdtemp(prefix="sigterm-stress-"))
    root = tmp / "tmp"
    root.mkdir()
    env = {**os.environ, "TMPDIR": str(root), "LLAMO_CACHE_DIR": str(tmp / "cache")}
    cmd = [sys.executable, "-m", "app.cli", "analyze", str(clip)]
    # its own process group: the files are counted once every process it started has ended
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)  # fmt: skip
    start = time.monotonic()
    while not any(root.iterdir()) and time.monotonic() - start < 60 and proc.poll() is None:
        time.sleep(0.05)  # its work has begun once it made its temporary folder
    time.sleep(delay)
    proc.send_signal(signal.SIGTERM)
    sent = time.monotonic()
    try:
        proc.wait(timeout=slow_after)
        what = f"rc {proc.returncode} in {time.monotonic() - sent:.1f} s"
    except subprocess.TimeoutExpired:
        if py_spy:
            _dump(py_spy)
        try:
            proc.wait(timeout=30)
            what = f"SLOW: rc {proc.returncode} after {time.monotonic() - sent:.1f} s"
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            what = "SLOW: no exit within 30 s, killed"
    what += f", its processes gone {_group_gone(proc.pid) - sent:.1f} s after the SIGTERM"
    left = sorted(str(f.relative_to(root)) for f in root.rglob("*"))
    shutil.rmtree(tmp, ignore_errors=True)
    return what, left


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, default=100)
    p.add_argument("--seed", default="0")
    p.add_argument("--clip", type=Path, default=CLIP)
    p.add_argument("--slow-after", type=float, default=3.0, help="seconds after the SIGTERM")
    p.add_argument("--py-spy", default=None, help="py-spy executable, to print stuck stacks")
    args = p.parse_args(argv)
    rng = random.Random(args.seed)
    slow = 0
    for i in range(args.runs):
        delay = rng.uniform(0.0, 2.0)
        what, left = one_run(args.clip, delay, args.slow_after, args.py_spy)
        slow += what.startswith("SLOW")
        print(f"{args.seed} {i} delay {delay:.2f}: {what}, left {len(left)} {left[:8]}", flush=True)
    print(f"slow exits: {slow} of {args.runs}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
