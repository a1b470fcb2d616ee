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
same without it (alternating, ``--runs`` each; 1.0 = free); ``joint_line_cost`` likewise for
a question that names a joint (``JOINT_QUESTION``) and its range line. For a model whose config
gives no such lines, or a clip whose facts hold the line already, it is not measured.
Last line: ``RESULT analyze_s=<first clip> first_token_s=<y> realtime_min=<slowest factor>
realtime_<clip>=<factor> ... [moment_line_cost=<ratio>] [joint_line_cost=<ratio>]`` (medians
over ``--runs``). Needs a quiet machine: the load average is printed; compare ``--threads 1``
on a shared one.
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
JOINT_QUESTION = "What is the largest angle of my left hip?"  # no key golf angle: not in the facts


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


def named_line_cost(coach, session, question: str, runs: int) -> float | None:
    """Median first-token seconds of ``question`` with the line about what it names (a time,
    a joint) over without (None when the model's prompt gets no such line)."""
    with_line = session.prompt_context(question)
    without = session.prompt_context()  # no question, no history: nothing named
    if with_line == without:
        return None
    timed: dict[bool, list[float]] = {True: [], False: []}
    for _ in range(runs):
        for line in (True, False):
            context = with_line if line else without
            timed[line].append(_first_token_s(coach, session, question, context))
    extra = len(with_line) - len(without)
    print(
        f"{question!r} (+{extra} characters): first token "
        f"{statistics.median(timed[True]):.2f} s with the line, "
        f"{statistics.median(timed[False]):.2f} s without"
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
    factors, first_clip_s, first, costs = {}, [], [], {}
    for i, clip in enumerate(clips):
        duration = probe_video(clip).duration
        times = []
        for run in range(args.runs):
            elapsed, session = _analyze_once(coach, clip)
            times.append(elapsed)
            line = f"{clip.name} run {run + 1}: analyze {elapsed:.2f} s ({duration / elapsed:.2f}x real time)"
            if i == 0 and run == 0:
                for name, question in (("moment", MOMENT_QUESTION), ("joint", JOINT_QUESTION)):
                    costs[name] = named_line_cost(coach, session, question, args.runs)
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
        f"{per_clip}"
        + "".join(f" {name}_line_cost={c:.2f}" for name, c in costs.items() if c is not None)
    )


if __name__ == "__main__":
    main()
