"""App latency on the real golf clip, on CPU: upload -> overlay + facts, and -> first token.

    .venv/bin/python benchmarks/app_latency.py [--clip PATH] [--model DIR] [--runs 1]

``analyze_s``: seconds of ``Coach.analyze`` (pose estimation from scratch, no pose cache;
H.264 overlay; analytics), i.e. from the upload to the overlay and facts being ready.
``first_token_s``: seconds from asking "When is the top of the backswing?" to the first
streamed answer text, on a model loaded beforehand (the load is reported separately).
Last line: ``RESULT analyze_s=<x> first_token_s=<y>`` (medians over ``--runs``).
Timings on a machine shared with other jobs swing widely; compare ``--threads 1``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CLIP = ROOT.parent / "shared" / "data" / "real" / "golf_swing_dtl.mp4"
QUESTION = "When is the top of the backswing?"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clip", type=Path, default=CLIP)
    parser.add_argument("--model", default=None, help="LLaMo folder (default: shipped model)")
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--threads", type=int, default=0,
                        help="torch CPU threads (0: torch's default, one per core)")  # fmt: skip
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch

    from app.coach import Coach

    t0 = time.perf_counter()
    coach = Coach.load(args.model, device="cpu", threads=args.threads or None)
    load_s = time.perf_counter() - t0
    print(f"torch threads: {torch.get_num_threads()}, CPU cores: {os.cpu_count()}")
    print(f"model load: {load_s:.1f} s{' (' + coach.warning + ')' if coach.warning else ''}")
    analyze, first = [], []
    for run in range(args.runs):
        # A fresh cache after the model load: the pose is really estimated, as for a new upload.
        os.environ["LLAMO_CACHE_DIR"] = tempfile.mkdtemp(prefix="llamo-bench-")
        t0 = time.perf_counter()
        session = coach.analyze(args.clip)
        analyze.append(time.perf_counter() - t0)
        assert session.overlay_path.is_file() and session.facts
        t0 = time.perf_counter()
        stream = session.ask_stream(QUESTION)
        answer = next(stream)
        first.append(time.perf_counter() - t0)
        *_, answer = (answer, *stream)
        total = time.perf_counter() - t0
        print(f"run {run + 1}: analyze {analyze[-1]:.2f} s, first token {first[-1]:.2f} s, "
              f"full answer {total:.2f} s ({len(answer.text)} chars)")  # fmt: skip
        session.close()
    print(
        f"RESULT analyze_s={statistics.median(analyze):.2f} first_token_s={statistics.median(first):.2f}"
    )


if __name__ == "__main__":
    main()
