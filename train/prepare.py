"""Turn a club's clips and Q&A into training data: pose once per clip, then a motion JSONL.

    python -m train.prepare CLIPS_DIR --qa QA.jsonl --out DATA_DIR [--workers N]

QA.jsonl uses the training format (``train.data``) with ``"video"`` naming a clip inside
CLIPS_DIR. Every line is validated first (errors name the line). Each referenced clip is run
through ``core.pose.estimate_pose`` once and stored as a PoseTrack ``.npz`` in
DATA_DIR/motions/ (both the 2D and the 3D skeleton plus the detection mask: ``load_motion``
returns the 3D motion the model trains on, and the 2D one stays available for overlays),
with 64-px person crops in DATA_DIR/crops/ for the video encoder. The run is resumable:
clips already in DATA_DIR (done or recorded as failed in DATA_DIR/failed.json) are skipped.
A clip that fails (no person, corrupt file) is reported and skipped, not fatal.
DATA_DIR/train.jsonl gets one line per Q&A line whose clip was prepared.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from tqdm import tqdm

from core.errors import InputError, ModelFilesError
from core.pose import estimate_pose
from core.pose.video import person_crops
from train.data import Sample, load_jsonl, prepared_motion_path, write_jsonl

CROP_SIZE = 64


@dataclass(frozen=True)
class ClipResult:
    clip: Path
    ok: bool
    message: str


@dataclass
class Summary:
    """What a run did: clips prepared now, found done, failed; JSONL lines written/skipped."""

    prepared: list[str] = field(default_factory=list)
    cached: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    lines_written: int = 0
    lines_skipped: int = 0

    def __str__(self) -> str:
        lines = [f"prepared {len(self.prepared)} clip(s), {len(self.cached)} already done, "
                 f"{len(self.failed)} failed; wrote {self.lines_written} line(s), skipped "
                 f"{self.lines_skipped} whose clip failed"]  # fmt: skip
        lines += [f"  FAILED {name}: {why}" for name, why in sorted(self.failed.items())]
        return "\n".join(lines)


def crops_path(out: Path, clip: Path) -> Path:
    return out / "crops" / f"{clip.stem}.npy"


def prepare_clip(clip: Path, out: Path) -> ClipResult:
    """Pose + crops for one clip; files are written under a temporary name, then renamed,
    so an interrupted run never leaves a half-written clip that looks done."""
    target = prepared_motion_path(out, clip)
    try:
        track = estimate_pose(clip)
        crops = person_crops(clip, track, CROP_SIZE)
    except (InputError, ValueError, OSError, RuntimeError) as err:
        return ClipResult(clip, False, str(err))
    crop_file = crops_path(out, clip)
    np.save(crop_file.with_suffix(".partial.npy"), crops)
    crop_file.with_suffix(".partial.npy").replace(crop_file)
    track.save(target.with_suffix(".partial.npz")).replace(target)
    return ClipResult(
        clip, True, f"{track.num_frames} frames, person in {track.detection_rate:.0%}"
    )


def _failed_file(out: Path) -> Path:
    return out / "failed.json"


def _todo(clips: list[Path], out: Path, summary: Summary) -> list[Path]:
    """Clips not yet done; earlier failures are reported again but not retried."""
    failed = json.loads(_failed_file(out).read_text()) if _failed_file(out).is_file() else {}
    todo = []
    for clip in clips:
        if prepared_motion_path(out, clip).is_file():
            summary.cached.append(clip.name)
        elif clip.name in failed:
            summary.failed[clip.name] = (
                failed[clip.name] + " (earlier run; delete failed.json to retry)"
            )
        else:
            todo.append(clip)
    return todo


def _run(todo: list[Path], out: Path, workers: int) -> list[ClipResult]:
    if workers <= 1 or len(todo) <= 1:
        return [prepare_clip(c, out) for c in tqdm(todo, desc="pose", unit="clip")]
    # spawn: MediaPipe and ffmpeg handles must not be shared with a forked parent.
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
        futures = [pool.submit(prepare_clip, c, out) for c in todo]
        return [
            f.result()
            for f in tqdm(as_completed(futures), total=len(futures), desc="pose", unit="clip")
        ]


def prepare(clips_dir: Path, qa: Path, out: Path, workers: int = 2) -> Summary:
    """Validate the Q&A, prepare every referenced clip, write ``out/train.jsonl``."""
    clips_dir, out = Path(clips_dir), Path(out)
    if not clips_dir.is_dir():
        raise InputError(f"{clips_dir}: clips folder not found")
    samples = load_jsonl(qa, root=clips_dir)
    if any(s.video is None for s in samples):
        bad = next(s for s in samples if s.video is None)
        raise InputError(
            f"{bad.where}: train.prepare expects 'video' lines (clip names in {clips_dir})"
        )
    clips = sorted({s.video for s in samples})  # type: ignore[type-var]
    stems = [c.stem for c in clips]
    if len(set(stems)) != len(stems):
        raise InputError("two clips share a file name stem (e.g. a.mp4 and a.mov); rename one")
    for sub in ("motions", "crops"):
        (out / sub).mkdir(parents=True, exist_ok=True)
    summary = Summary()
    results = _run(_todo(clips, out, summary), out, workers)
    failed = json.loads(_failed_file(out).read_text()) if _failed_file(out).is_file() else {}
    for r in results:
        if r.ok:
            summary.prepared.append(r.clip.name)
        else:
            summary.failed[r.clip.name] = r.message
            failed[r.clip.name] = r.message
    if failed:
        _failed_file(out).write_text(json.dumps(failed, indent=1))
    _write_train(samples, out, summary)
    return summary


def _write_train(samples: list[Sample], out: Path, summary: Summary) -> None:
    lines = []
    for s in samples:
        motion = prepared_motion_path(out, s.video)  # type: ignore[arg-type]
        if not motion.is_file():
            summary.lines_skipped += 1
            continue
        meta = {**s.meta, "source_video": s.video.name, "crops": f"crops/{s.video.stem}.npy"}  # type: ignore[union-attr]
        lines.append(Sample(s.conversations, motion=motion, meta=meta))
    path = out / "train.jsonl"
    if lines:
        write_jsonl(path, lines)
    summary.lines_written = len(lines)


def main(clips_dir: Path, qa: Path, out: Path, workers: int = 2) -> None:
    """CLI entry point (see module doc)."""
    try:
        summary = prepare(clips_dir, qa, out, workers)
    except (InputError, ModelFilesError) as err:
        raise SystemExit(f"error: {err}") from None
    print(summary)


def cli(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(
        prog="python -m train.prepare", description=__doc__.split("\n\n")[0]
    )
    ap.add_argument("clips_dir", type=Path, help="folder with the club's clips")
    ap.add_argument(
        "--qa", type=Path, required=True, help="JSONL with 'video' (clip name) + conversations"
    )
    ap.add_argument(
        "--out", type=Path, required=True, help="output folder (motions/, crops/, train.jsonl)"
    )
    ap.add_argument("--workers", type=int, default=2, help="parallel pose workers (processes)")
    args = ap.parse_args(argv)
    main(args.clips_dir, args.qa, args.out, args.workers)


if __name__ == "__main__":
    cli()
