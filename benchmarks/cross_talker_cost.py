"""LLM input length and time to first token: Cross Talker (K viewpoints) vs all frames.

Both variants run on the default LLM (bundled SmolLM2-135M-Instruct) in the same process,
on the real golf clip's 3D pose tiled to T frames, at the clip's own frame rate so the
model uses exactly T frames. TTFT = time from ``stream_answer`` to its first answer
(features, motion modules, prefill and the first greedy token), as wall-clock and as
process CPU time (with ``--threads 1`` the latter is immune to other jobs on a shared
machine). Medians after a warm-up; the two variants alternate within each repeat.

    .venv/bin/python benchmarks/cross_talker_cost.py [--lengths 60 300 900] [--repeats 3]
        [--threads N]

Last line: ``RESULT tokens_ratio_T300=<x> ttft_ratio_T300=<y> ttft_cpu_ratio_T300=<z>``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.llamo.config import LLaMoConfig  # noqa: E402
from core.llamo.inputs import prepare_motion  # noqa: E402
from core.llamo.llm import load_llm  # noqa: E402
from core.llamo.model import LLaMo  # noqa: E402
from core.motion import Motion  # noqa: E402
from core.paths import REAL_DATA_DIR

CLIP = REAL_DATA_DIR / "golf_swing_dtl.mp4"
QUESTION = "What happens at the top of the backswing?"


def tiled_motion(motion: Motion, frames: int) -> Motion:
    """The real motion repeated end to end and cut to ``frames`` frames."""
    reps = -(-frames // motion.num_frames)
    joints = np.concatenate([motion.joints] * reps)[:frames]  # (T, 33, 3)
    vis = np.concatenate([motion.visibility] * reps)[:frames]  # (T, 33)
    return replace(motion, joints=joints, visibility=vis, start_time=0.0)


def input_length(model: LLaMo, motion: Motion) -> int:
    """Tokens the LLM reads for one question (prompt + motion tokens)."""
    with torch.no_grad():
        embeds, _ = model._prefill(motion, QUESTION, None, (), None)
    return int(embeds.shape[1])


def first_token(model: LLaMo, motion: Motion) -> tuple[float, float]:
    """(wall seconds, process CPU seconds) until the first streamed answer."""
    wall, cpu = time.perf_counter(), time.process_time()
    next(iter(model.stream_answer(motion, QUESTION, max_new_tokens=1)))
    return time.perf_counter() - wall, time.process_time() - cpu


def ttft(models: dict[str, LLaMo], motion: Motion, repeats: int) -> dict[str, tuple[float, float]]:
    """Median (wall, CPU) TTFT per variant after a warm-up; the variants alternate within
    each repeat so both see the same background load on a shared machine."""
    runs: dict[str, list[tuple[float, float]]] = {name: [] for name in models}
    for i in range(repeats + 1):
        for name, model in models.items():
            timing = first_token(model, motion)
            if i:
                runs[name].append(timing)
    return {
        name: (statistics.median(w for w, _ in r), statistics.median(c for _, c in r))
        for name, r in runs.items()
    }


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lengths", type=int, nargs="+", default=[60, 300, 900])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--viewpoints", type=int, default=16)
    parser.add_argument(
        "--threads",
        type=int,
        default=None,
        help="torch CPU threads; 1 gives stable timings on a machine shared with other jobs",
    )
    parser.add_argument("--interface", choices=("new", "old"), default="new",
                        help="new: time text before each token (issue 10); old: time embeddings")  # fmt: skip
    return parser.parse_args(argv)


def variant_models(args: argparse.Namespace, fps: float) -> dict[str, LLaMo]:
    """Cross Talker and all-frames LLaMo, alike but for the fusion (same seed, same LLM)."""
    llm, tokenizer = load_llm(None)
    # The issue-10 token interface (both variants): times as text before each motion token,
    # tokens at the LLM's embedding scale, most relevant viewpoint first, feature set v2.
    interface = (
        {
            "feature_set": "v2",
            "timestamp_mode": "text",
            "viewpoint_order": "score",
            "token_scale": "llm",
        }
        if args.interface == "new"
        else {}
    )
    base = LLaMoConfig(
        fps=fps, num_viewpoints=args.viewpoints, max_frames=max(1024, *args.lengths),
        **interface,
    )  # fmt: skip
    torch.manual_seed(0)
    return {
        "cross_talker": LLaMo.from_config(base, llm=llm, tokenizer=tokenizer),
        "all_frames": LLaMo.from_config(
            replace(base, fusion="all_frames"), llm=llm, tokenizer=tokenizer
        ),
    }


def timing_rows(
    models: dict[str, LLaMo], source: Motion, args: argparse.Namespace
) -> dict[tuple[int, str], tuple[int, float, float]]:
    """(T, variant) -> (LLM input tokens, TTFT wall s, TTFT CPU s), printed as they come."""
    print(f"{'T':>5} {'variant':>13} {'LLM tokens':>11} {'TTFT wall s':>12} {'TTFT CPU s':>11}")
    rows: dict[tuple[int, str], tuple[int, float, float]] = {}
    for t in args.lengths:
        motion = tiled_motion(source, t)
        used = prepare_motion(motion, models["cross_talker"].config).feats.shape[0]
        if used != t:
            raise RuntimeError(f"the model resampled T={t} to {used} frames")
        timings = ttft(models, motion, args.repeats)
        for name, model in models.items():
            rows[t, name] = (input_length(model, motion), *timings[name])
            tokens, wall, cpu = rows[t, name]
            print(f"{t:>5} {name:>13} {tokens:>11} {wall:>12.3f} {cpu:>11.3f}", flush=True)
    return rows


def print_ratios(rows: dict[tuple[int, str], tuple[int, float, float]], lengths: list[int]) -> None:
    """All-frames / Cross Talker per length, then the RESULT line at T=300 (or the first T)."""
    ratios = {}
    for t in lengths:
        cross, full = rows[t, "cross_talker"], rows[t, "all_frames"]
        ratios[t] = [a / c for a, c in zip(full, cross, strict=True)]
        print(
            f"T={t}: {ratios[t][0]:.1f}x fewer tokens, {ratios[t][1]:.1f}x lower TTFT "
            f"(wall), {ratios[t][2]:.1f}x (CPU time)"
        )
    ref = 300 if 300 in lengths else lengths[0]
    tokens, wall, cpu = ratios[ref]
    print(
        f"RESULT tokens_ratio_T{ref}={tokens:.2f} ttft_ratio_T{ref}={wall:.2f} "
        f"ttft_cpu_ratio_T{ref}={cpu:.2f}"
    )


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    from core.pose import estimate_pose

    source = estimate_pose(CLIP).motion3d
    models = variant_models(args, source.fps)
    print(
        f"device={models['cross_talker'].device} threads={torch.get_num_threads()} K={args.viewpoints}"
    )
    print_ratios(timing_rows(models, source, args), args.lengths)


if __name__ == "__main__":
    main()
