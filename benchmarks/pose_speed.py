"""Pose estimation speed, one worker process against all of them, on real clips (no cache).

Run from the repo root: ``.venv/bin/python benchmarks/pose_speed.py [--video PATH ...]``.
Default clips: golf_swing_dtl.mp4 and pushups_side_5reps.mp4. For each clip the pose is
estimated with 1 worker and with ``--workers`` (default: one per core), and the tracks are
compared: mean landmark difference in pixels over all frames and over the stitched region
(the frames within one overlap of a chunk boundary). Timings need a quiet machine; the load
average is printed. Last line: ``RESULT fps=<frames/s, all workers> speedup=<1-worker time /
all-workers time> stitch_px=<mean difference in the stitched region> workers=<n>``.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.paths import REAL_DATA_DIR
from core.pose.estimate import (  # noqa: E402
    CHUNK_OVERLAP_S,
    default_workers,
    estimate_pose,
    plan_chunks,
)
from core.pose.video import probe_video  # noqa: E402

REAL = REAL_DATA_DIR
DEFAULT_VIDEOS = [REAL / "golf_swing_dtl.mp4", REAL / "pushups_side_5reps.mp4"]


def _timed(video: Path, workers: int, max_side: int):
    """(track, seconds, the last progress line: how many frames were found / interpolated)."""
    said: list[str] = []
    start = time.perf_counter()
    track = estimate_pose(video, use_cache=False, inference_max_side=max_side, workers=workers,
                          progress=lambda _, line: said.append(line))  # fmt: skip
    return track, time.perf_counter() - start, said[-1]


def _difference_px(a, b, frames: np.ndarray) -> float:
    """Mean distance in pixels between two tracks' 2D landmarks, over ``frames`` where both
    found the person."""
    both = frames[a.detected[frames] & b.detected[frames]]
    if both.size == 0:
        return float("nan")
    size = np.array(a.frame_size, np.float64)
    d = (a.motion2d.joints[both] - b.motion2d.joints[both]) * size  # (F, 33, 2) pixels
    return float(np.linalg.norm(d, axis=-1).mean())


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--video", type=Path, action="append", help="clip (repeatable)")
    parser.add_argument("--workers", type=int, default=default_workers())
    parser.add_argument("--max-side", type=int, default=960, help="inference downscale limit")
    args = parser.parse_args(argv)
    print(f"load average {os.getloadavg()[0]:.2f}, {os.cpu_count()} CPUs, {args.workers} workers")
    estimate_pose(args.video[0] if args.video else DEFAULT_VIDEOS[0], use_cache=False,
                  workers=args.workers)  # warm-up: the worker server imports MediaPipe once  # fmt: skip
    # One worker runs in this process: import MediaPipe here too, so its import (~0.8 s) is
    # not timed as part of the one-worker run.
    importlib.import_module("mediapipe")
    frames = one_s = many_s = 0.0
    stitch = []
    for video in args.video or DEFAULT_VIDEOS:
        info = probe_video(video)
        one, t1, _ = _timed(video, 1, args.max_side)
        many, tn, found = _timed(video, args.workers, args.max_side)
        overlap = int(np.ceil(CHUNK_OVERLAP_S * info.fps))
        chunks = plan_chunks(info.frame_count, args.workers, overlap)
        near = np.unique(np.concatenate([np.arange(keep - overlap, keep + overlap)
                                         for _, keep, _ in chunks[1:]] or [np.arange(0)]))  # fmt: skip
        near = near[(near >= 0) & (near < one.num_frames)].astype(np.int64)
        all_px = _difference_px(one, many, np.arange(one.num_frames))
        stitch_px = _difference_px(one, many, near)
        stitch.append(stitch_px)
        frames, one_s, many_s = frames + one.num_frames, one_s + t1, many_s + tn
        print(f"{video.name}: {one.num_frames} frames ({info.width}x{info.height}, "
              f"{info.duration:.2f} s), {len(chunks)} chunks; 1 worker {t1:.2f} s "
              f"({one.num_frames / t1:.1f} fps, {info.duration / t1:.2f}x real time), "
              f"{args.workers} workers {tn:.2f} s ({one.num_frames / tn:.1f} fps, "
              f"{info.duration / tn:.2f}x real time), speed-up {t1 / tn:.2f}x; detected "
              f"{one.detection_rate:.1%} / {many.detection_rate:.1%}; landmark difference "
              f"{all_px:.3f} px overall, {stitch_px:.3f} px in the stitched region; {found}")  # fmt: skip
    print(f"load average {os.getloadavg()[0]:.2f}")
    print(f"RESULT fps={frames / many_s:.2f} speedup={one_s / many_s:.2f} "
          f"stitch_px={max(stitch):.3f} workers={args.workers}")  # fmt: skip


if __name__ == "__main__":
    main()
