"""Turn a club's clips and Q&A into training data: pose once per clip, a train and a
held-out split (by clip), moments in seconds.

    python -m train.prepare CLIPS_DIR --qa QA.jsonl --out DATA_DIR [--heldout 0.2]
        [--heldout-clips a.mp4,b.mp4] [--crops] [--workers N]

QA.jsonl is a club's Q&A file (``train.club_format``: the training format with ``"video"``
naming a clip inside CLIPS_DIR, plus the moment each answer refers to in seconds or
frames). Every line is validated first (errors name the line). Each referenced clip is run
through ``core.pose.estimate_pose`` once and stored as a PoseTrack ``.npz`` in
DATA_DIR/motions/ (2D and 3D skeleton plus the detection mask; training uses the 3D one).
``--crops`` also stores 64-px person crops in DATA_DIR/crops/, for a model that reads video
(``use_video``; the shipped model does not). The run is resumable: clips already in
DATA_DIR (done or recorded as failed in DATA_DIR/failed.json) are skipped. A clip that
fails (no person, corrupt file) is reported and skipped, not fatal.

A part of the clips (``--heldout``, by clip, never by line, so no clip is in both) goes to
DATA_DIR/heldout.jsonl: the validation loss of ``train.finetune`` and the questions of
``train.evaluate``; the rest to DATA_DIR/train.jsonl. DATA_DIR/split.json lists which clip
went where. The split is a pure function of the prepared clips' names and ``--seed``.
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
from core.motion import PoseTrack
from core.pose import estimate_pose
from core.pose.video import person_crops
from train.club_format import ClubLine, moment_seconds, read_club_qa
from train.data import Sample, prepared_motion_path, write_jsonl

CROP_SIZE = 64
DEFAULT_HELDOUT = 0.2
SPLITS = ("train", "heldout")


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
    written: dict[str, tuple[Path, int, list[str]]] = field(default_factory=dict)
    moments: int = 0
    notes: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        lines = [f"prepared {len(self.prepared)} clip(s), {len(self.cached)} already done, "
                 f"{len(self.failed)} failed; wrote {self.lines_written} line(s), skipped "
                 f"{self.lines_skipped} whose clip failed"]  # fmt: skip
        lines += [f"  FAILED {name}: {why}" for name, why in sorted(self.failed.items())]
        for split, (path, n, clips) in self.written.items():
            what = "training" if split == "train" else "held out: validation loss + evaluation"
            lines.append(f"  {path}: {n} line(s) from {len(clips)} clip(s) ({what}): "
                         + ", ".join(clips))  # fmt: skip
        lines.append(f"  {self.moments} answer(s) with a moment (seconds at each clip's fps)")
        return "\n".join(lines + [f"  note: {n}" for n in self.notes])


def crops_path(out: Path, clip: Path) -> Path:
    return out / "crops" / f"{clip.stem}.npy"


def prepare_clip(clip: Path, out: Path, crops: bool = False) -> ClipResult:
    """Pose (+ crops) for one clip; files are written under a temporary name, then renamed,
    so an interrupted run never leaves a half-written clip that looks done."""
    target = prepared_motion_path(out, clip)
    try:
        track = estimate_pose(clip)
        pictures = person_crops(clip, track, CROP_SIZE) if crops else None
    except (InputError, ValueError, OSError, RuntimeError) as err:
        return ClipResult(clip, False, str(err))
    if pictures is not None:
        crop_file = crops_path(out, clip)
        np.save(crop_file.with_suffix(".partial.npy"), pictures)
        crop_file.with_suffix(".partial.npy").replace(crop_file)
    track.save(target.with_suffix(".partial.npz")).replace(target)
    return ClipResult(
        clip, True, f"{track.num_frames} frames, person in {track.detection_rate:.0%}"
    )


def _failed_file(out: Path) -> Path:
    return out / "failed.json"


def _todo(clips: list[Path], out: Path, summary: Summary, crops: bool) -> list[Path]:
    """Clips not yet done; earlier failures are reported again but not retried."""
    failed = json.loads(_failed_file(out).read_text()) if _failed_file(out).is_file() else {}
    todo = []
    for clip in clips:
        done = prepared_motion_path(out, clip).is_file()
        if done and (not crops or crops_path(out, clip).is_file()):
            summary.cached.append(clip.name)
        elif clip.name in failed:
            summary.failed[clip.name] = (
                failed[clip.name] + " (earlier run; delete failed.json to retry)"
            )
        else:
            todo.append(clip)
    return todo


def _run(todo: list[Path], out: Path, workers: int, crops: bool) -> list[ClipResult]:
    if workers <= 1 or len(todo) <= 1:
        return [prepare_clip(c, out, crops) for c in tqdm(todo, desc="pose", unit="clip")]
    # spawn: MediaPipe and ffmpeg handles must not be shared with a forked parent.
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
        futures = [pool.submit(prepare_clip, c, out, crops) for c in todo]
        return [
            f.result()
            for f in tqdm(as_completed(futures), total=len(futures), desc="pose", unit="clip")
        ]


def prepare(clips_dir: Path, qa: Path, out: Path, workers: int = 2, *,
            heldout: float = DEFAULT_HELDOUT, heldout_clips: list[str] | None = None,
            crops: bool = False, seed: int = 0) -> Summary:  # fmt: skip
    """Validate the Q&A, prepare every referenced clip, write the train and held-out JSONL."""
    clips_dir, out = Path(clips_dir), Path(out)
    if not clips_dir.is_dir():
        raise InputError(f"{clips_dir}: clips folder not found")
    if not 0 <= heldout < 1:
        raise InputError(f"--heldout: a fraction of the clips in [0, 1), got {heldout}")
    lines = read_club_qa(qa, clips_dir)
    clips = sorted({line.sample.video for line in lines})  # type: ignore[type-var]
    stems = [c.stem for c in clips]
    if len(set(stems)) != len(stems):
        raise InputError("two clips share a file name stem (e.g. a.mp4 and a.mov); rename one")
    unknown = sorted(set(heldout_clips or ()) - {c.name for c in clips})
    if unknown:
        raise InputError(f"--heldout-clips: {unknown} are not clips of {qa}")
    for sub in ("motions", "crops") if crops else ("motions",):
        (out / sub).mkdir(parents=True, exist_ok=True)
    summary = Summary()
    results = _run(_todo(clips, out, summary, crops), out, workers, crops)
    failed = json.loads(_failed_file(out).read_text()) if _failed_file(out).is_file() else {}
    for r in results:
        if r.ok:
            summary.prepared.append(r.clip.name)
        else:
            summary.failed[r.clip.name] = r.message
            failed[r.clip.name] = r.message
    if failed:
        _failed_file(out).write_text(json.dumps(failed, indent=1))
    ready = [c.name for c in clips if prepared_motion_path(out, c).is_file()]
    split = split_clips(ready, heldout, heldout_clips, seed)
    _write_splits(lines, out, split, crops, summary)
    return summary


def split_clips(clips: list[str], fraction: float, chosen: list[str] | None,
                seed: int) -> dict[str, str]:  # fmt: skip
    """Clip name -> "train" or "heldout". ``chosen`` names the held-out clips; otherwise
    round(fraction * clips) of them, at least one when there are two or more clips and
    ``fraction`` > 0, never all, picked by a seeded shuffle of the sorted names."""
    if chosen:
        held = set(chosen)
    else:
        n = round(fraction * len(clips))
        if fraction > 0 and len(clips) >= 2:
            n = min(max(n, 1), len(clips) - 1)
        order = np.random.default_rng(seed).permutation(len(clips))  # (N,)
        held = {sorted(clips)[i] for i in order[:n]}
    return {c: ("heldout" if c in held else "train") for c in clips}


def _write_splits(lines: list[ClubLine], out: Path, split: dict[str, str], crops: bool,
                  summary: Summary) -> None:  # fmt: skip
    """train.jsonl / heldout.jsonl with moments in seconds and the coach's answer kinds."""
    rows: dict[str, list[Sample]] = {name: [] for name in SPLITS}
    tracks: dict[str, PoseTrack] = {}
    for line in lines:
        s = line.sample
        name = s.video.name  # type: ignore[union-attr]
        if name not in split:
            summary.lines_skipped += 1
            continue
        if name not in tracks:
            tracks[name] = PoseTrack.load(prepared_motion_path(out, s.video))  # type: ignore[arg-type]
        rows[split[name]].append(_prepared_sample(line, out, tracks[name], crops, summary))
    for name in SPLITS:
        path = out / f"{name}.jsonl"
        if rows[name]:
            write_jsonl(path, rows[name])
        elif path.exists():
            path.unlink()  # a stale split from an earlier run must not be read
        clips = sorted({s.meta["source_video"] for s in rows[name]})
        summary.written[name] = (path, len(rows[name]), clips)
    summary.lines_written = sum(len(r) for r in rows.values())
    (out / "split.json").write_text(json.dumps(
        {k: sorted(c for c, v in split.items() if v == k) for k in SPLITS}, indent=1) + "\n")  # fmt: skip
    if not rows["heldout"]:
        summary.notes.append("no clip held out: training reports no validation loss and "
                             "train.evaluate has no questions (use --heldout or --heldout-clips)")  # fmt: skip


def _prepared_sample(line: ClubLine, out: Path, track: PoseTrack, crops: bool,
                     summary: Summary) -> Sample:  # fmt: skip
    """The training-format sample of one QA line: moments in seconds, kinds in meta."""
    s = line.sample
    fps, duration = track.fps, (track.num_frames - 1) / track.fps
    conv, answers, k = [], [], 0
    for turn in s.conversations:
        turn = dict(turn)
        if turn["from"] == "gpt":
            club = line.turns[k]
            k += 1
            moments = moment_seconds(club, fps, duration, f"{s.where}: answer {k}")
            if moments:
                turn["moments"] = moments
                summary.moments += 1
            answers.append({"kind": club.kind, "tolerance": club.tolerance})
        conv.append(turn)
    meta = {**s.meta, "source_video": s.video.name, "fps": fps, "answers": answers}  # type: ignore[union-attr]
    if crops:
        meta["crops"] = f"crops/{s.video.stem}.npy"  # type: ignore[union-attr]
    motion = prepared_motion_path(out, s.video)  # type: ignore[arg-type]
    return Sample(conv, motion=motion, meta=meta, where=s.where)


def main(clips_dir: Path, qa: Path, out: Path, workers: int = 2, **options: object) -> None:
    """CLI entry point (see module doc)."""
    try:
        summary = prepare(clips_dir, qa, out, workers, **options)  # type: ignore[arg-type]
    except (InputError, ModelFilesError) as err:
        raise SystemExit(f"error: {err}") from None
    print(summary)


def cli(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(
        prog="python -m train.prepare", description=__doc__.split("\n\n")[0]
    )
    ap.add_argument("clips_dir", type=Path, help="folder with the club's clips")
    ap.add_argument("--qa", type=Path, required=True,
                    help="the club's Q&A JSONL (see examples/club_data/README.md)")  # fmt: skip
    ap.add_argument("--out", type=Path, required=True,
                    help="output folder (motions/, train.jsonl, heldout.jsonl, split.json)")  # fmt: skip
    ap.add_argument("--heldout", type=float, default=DEFAULT_HELDOUT,
                    help="share of the clips held out for validation and evaluation (default 0.2; "
                    "at least one clip when there are two)")  # fmt: skip
    ap.add_argument("--heldout-clips", type=lambda t: [c for c in t.split(",") if c],
                    metavar="A.mp4,B.mp4", help="hold out exactly these clips instead")  # fmt: skip
    ap.add_argument("--seed", type=int, default=0, help="seed of the held-out choice")
    ap.add_argument("--crops", action="store_true",
                    help="also store person crops, for a model with use_video (not the shipped one)")  # fmt: skip
    ap.add_argument("--workers", type=int, default=2, help="parallel pose workers (processes)")
    args = ap.parse_args(argv)
    main(args.clips_dir, args.qa, args.out, args.workers, heldout=args.heldout,
         heldout_clips=args.heldout_clips, crops=args.crops, seed=args.seed)  # fmt: skip


if __name__ == "__main__":
    cli()
