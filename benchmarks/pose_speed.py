"""Pose estimation speed on the real golf clip (no cache): frames/s and real-time factor.

Run from the repo root: ``.venv/bin/python benchmarks/pose_speed.py [--video PATH]``.
The last line is ``RESULT fps=<frames per second> realtime_factor=<video s / processing s>``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.pose import estimate_pose  # noqa: E402
from core.pose.video import probe_video  # noqa: E402

DEFAULT_VIDEO = (
    Path(__file__).resolve().parents[2] / "shared" / "data" / "real" / "golf_swing_dtl.mp4"
)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--video", type=Path, default=DEFAULT_VIDEO)
    parser.add_argument("--max-side", type=int, default=960, help="inference downscale limit")
    args = parser.parse_args(argv)
    info = probe_video(args.video)
    start = time.perf_counter()
    track = estimate_pose(args.video, use_cache=False, inference_max_side=args.max_side)
    elapsed = time.perf_counter() - start
    fps = track.num_frames / elapsed
    print(f"{args.video.name}: {track.num_frames} frames ({info.width}x{info.height}, "
          f"{info.duration:.2f} s) in {elapsed:.2f} s, detected {track.detection_rate:.1%}")  # fmt: skip
    print(f"RESULT fps={fps:.2f} realtime_factor={info.duration / elapsed:.3f}")


if __name__ == "__main__":
    main()
