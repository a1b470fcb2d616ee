"""App latency on real clips, on CPU: upload -> overlay + facts, and -> first answer token.

    .venv/bin/python benchmarks/app_latency.py [--clip PATH ...] [--model DIR] [--runs 1]

``analyze_s``: seconds of ``Coach.analyze`` (pose estimation from scratch, no pose cache;
H.264 overlay; analytics), i.e. from the upload to the overlay and facts being ready, and
its real-time factor (clip seconds / analysis seconds). Default clips: golf_swing_dtl.mp4
and pushups_side_5reps.mp4. ``first_token_s``: seconds from asking "When is the top of the
backswing?" to the first streamed answer text (first clip), on a model loaded beforehand
(the load is reported separately; the app starts its pose workers while it loads).
``moment_line_cost``: on the first clip, time to the first token of a question that names a
time (``MOMENT_QUESTION``) with the analytics' line about that moment in its facts, over the
same without it (alternating, ``--runs`` each; 1.0 = free); for a model whose config gives
no moment lines, this is not measured.
Last line: ``RESULT analyze_s=<first clip> first_token_s=<y> realtime_min=<slowest factor>
realtime_<clip>=<factor> ... [moment_line_cost=<ratio>]`` (medians over ``--runs``). Needs a
quiet machine: the load average is printed; compare ``--threads 1`` on a shared one.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

from core.paths import REAL_DATA_DIR

ROOT = Path(__file__).resolve().parents[1]
REAL = REAL_DATA_DIR
CLIPS = [REAL / "golf_swing_dtl.mp4", REAL / "pushups_side_5reps.mp4"]
QUESTION = "When is the top of the backswing?"
MOMENT_QUESTION = "What swing phase is shown at 1.5 s?"


def _analyze_once(coach, clip: Path) -> tuple[float, object]:
    # A fresh cache: the pose is really estimated, as for a new upload.
    os.environ["LLAMO_CACHE_DIR"] = tempfile.mkdtemp(prefix="llamo-bench-")
    t0 = time.perf_counter()
    session = coach.analyze(clip)
    elapsed = time.perf_counter() - t0
    assert session.overlay_path.is_file() and session.facts
    return elapsed, session


def _first_token_s(coach, session, question: str, context: str | None) -> float:
    t0 = time.perf_counter()
    stream = coach.stream_answer(session.motion, question, context=context, max_new_tokens=4)
    next(stream)
    elapsed = time.perf_counter() - t0
    stream.close()
    return elapsed


def moment_line_cost(coach, session, runs: int) -> float | None:
    """Median first-token seconds of ``MOMENT_QUESTION`` with its moment line over without
    (None when the model's prompt gets no such line)."""
    with_line = session.prompt_context(MOMENT_QUESTION)
    without = session.prompt_context()  # no question, no history: no named time
    if with_line == without:
        return None
    timed: dict[bool, list[float]] = {True: [], False: []}
    for _ in range(runs):
        for line in (True, False):
            context = with_line if line else without
            timed[line].append(_first_token_s(coach, session, MOMENT_QUESTION, context))
    extra = len(with_line) - len(without)
    print(
        f"moment line (+{extra} characters): first token {statistics.median(timed[True]):.2f} s "
        f"with, {statistics.median(timed[False]):.2f} s without"
    )
    return statistics.median(timed[True]) / statistics.median(timed[False])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clip", type=Path, action="append", help="clip (repeatable)")
    parser.add_argument("--model", default=None, help="LLaMo folder (default: shipped model)")
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--threads", type=int, default=0,
                        help="torch CPU threads (0: torch's default, one per core)")  # fmt: skip
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch

    from app.coach import Coach
    from core.pose.video import probe_video

    clips = args.clip or CLIPS
    print(f"load average {os.getloadavg()[0]:.2f}")
    t0 = time.perf_counter()
    coach = Coach.load(args.model, device="cpu", threads=args.threads or None)
    load_s = time.perf_counter() - t0
    print(f"torch threads: {torch.get_num_threads()}, CPU cores: {os.cpu_count()}")
    print(f"model load: {load_s:.1f} s{' (' + coach.warning + ')' if coach.warning else ''}")
    factors, first_clip_s, first, cost = {}, [], [], None
    for i, clip in enumerate(clips):
        duration = probe_video(clip).duration
        times = []
        for run in range(args.runs):
            elapsed, session = _analyze_once(coach, clip)
            times.append(elapsed)
            line = f"{clip.name} run {run + 1}: analyze {elapsed:.2f} s ({duration / elapsed:.2f}x real time)"
            if i == 0 and run == 0:
                cost = moment_line_cost(coach, session, args.runs)
            if i == 0:
                t0 = time.perf_counter()
                stream = session.ask_stream(QUESTION)
                answer = next(stream)
                first.append(time.perf_counter() - t0)
                *_, answer = (answer, *stream)
                line += (
                    f", first token {first[-1]:.2f} s, full answer {time.perf_counter() - t0:.2f} s"
                )
            print(line)
            session.close()
        factors[clip.stem] = duration / statistics.median(times)
        if i == 0:
            first_clip_s = times
    print(f"load average {os.getloadavg()[0]:.2f}")
    per_clip = " ".join(f"realtime_{name}={f:.2f}" for name, f in factors.items())
    print(
        f"RESULT analyze_s={statistics.median(first_clip_s):.2f} "
        f"first_token_s={statistics.median(first):.2f} realtime_min={min(factors.values()):.2f} "
        f"{per_clip}" + ("" if cost is None else f" moment_line_cost={cost:.2f}")
    )


if __name__ == "__main__":
    main()
