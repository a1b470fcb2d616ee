"""Peak memory of analysing a clip with the CLI, whole process tree included (Linux).

    .venv/bin/python benchmarks/peak_memory.py [CLIP] [--repo DIR]
    # default clip: pushups_side_5reps.mp4; --repo: measure another checkout (e.g. the old main)

Runs ``python -m app.cli analyze CLIP`` with an empty pose cache and samples every 20 ms the
memory of it and all its descendants (pose workers, the worker server, ffmpeg): the largest
single process's resident size (what ``/usr/bin/time -v`` reports) and the sum of the
proportional set sizes (PSS: pages shared by forked workers counted once in all).
Last line: ``RESULT main_peak_mib=<largest process RSS> tree_peak_mib=<PSS sum> seconds=<wall>``.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from core.paths import REAL_DATA_DIR

ROOT = Path(__file__).resolve().parents[1]
CLIP = REAL_DATA_DIR / "pushups_side_5reps.mp4"


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        tree.setdefault(ppid, []).append(int(entry))
    return tree


def _memory_kib(pid: int) -> tuple[int, int]:
    """(RSS, PSS) of ``pid`` in KiB; PSS splits pages shared with other processes."""
    rss = pss = 0
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Rss:"):
                rss = int(line.split()[1])
            elif line.startswith("Pss:"):
                pss = int(line.split()[1])
    except OSError:
        pass
    return rss, pss


def _tree_memory(root: int) -> tuple[int, int]:
    """(sum of PSS, largest RSS) in KiB of ``root`` and its descendants."""
    tree, todo, total, largest = _children(), [root], 0, 0
    while todo:
        pid = todo.pop()
        rss, pss = _memory_kib(pid)
        total, largest = total + pss, max(largest, rss)
        todo += tree.get(pid, [])
    return total, largest


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("clip", type=Path, nargs="?", default=CLIP)
    parser.add_argument("--repo", type=Path, default=ROOT, help="checkout to run")
    args = parser.parse_args()
    clip, repo = args.clip.resolve(), args.repo.resolve()
    env = {**os.environ, "LLAMO_CACHE_DIR": tempfile.mkdtemp(prefix="llamo-mem-"),
           "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(repo)}  # fmt: skip
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "app.cli", "analyze", str(clip)], cwd=repo,
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    peak_sum = peak_one = 0
    while proc.poll() is None:
        total, largest = _tree_memory(proc.pid)
        peak_sum, peak_one = max(peak_sum, total), max(peak_one, largest)
        time.sleep(0.02)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(f"analyze failed with exit code {proc.returncode}")
    print(f"{clip.name}: {seconds:.1f} s; largest process {peak_one / 1024:.0f} MiB, whole tree "
          f"{peak_sum / 1024:.0f} MiB (PSS)")  # fmt: skip
    print(f"RESULT main_peak_mib={peak_one / 1024:.0f} tree_peak_mib={peak_sum / 1024:.0f} "
          f"seconds={seconds:.1f}")  # fmt: skip


if __name__ == "__main__":
    main()
