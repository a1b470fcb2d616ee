"""Real-clip evaluation of the analytics in auto mode (as the app runs them).

    python -m benchmarks.real_clips --labels tests/data/real_clips_labels.json --clips ../shared/data/real

For each labelled clip: pose estimation (cached), ``analyze_motion`` with the activity guessed,
and ``count_reps`` with no exercise given. Prints one row per clip (activity guessed / true,
each labelled event's error in frames, reps found / true, handedness, view, slow motion) and
a last line ``RESULT activity_acc=... event_mae_frames=... rep_exact=...`` plus the share of
events within their tolerance, events not found, and handedness / view / slow-motion accuracy.
An event of a clip whose activity was guessed wrong counts as not found.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # also runnable as ``python benchmarks/real_clips.py``

from core.analytics import MotionReport, analyze_motion, count_reps  # noqa: E402
from core.errors import InputError  # noqa: E402
from core.motion import PoseTrack  # noqa: E402
from core.paths import REAL_DATA_DIR  # noqa: E402

LABELS = ROOT / "tests" / "data" / "real_clips_labels.json"
CLIPS = REAL_DATA_DIR


@dataclass
class ClipResult:
    """What the analytics found on one clip, next to its labels."""

    name: str
    label: dict
    activity: str
    event_errors: dict[str, int | None] = field(default_factory=dict)  # None: not found
    reps: int | None = None
    handedness: str | None = None
    view: str | None = None
    slow_motion: bool | None = None

    @property
    def activity_ok(self) -> bool:
        return self.activity == self.label["activity"]

    def within(self) -> dict[str, bool]:
        tol = self.label.get("tolerance", {})
        return {k: e is not None and abs(e) <= tol.get(k, 3) for k, e in self.event_errors.items()}


def load_labels(path: Path) -> dict[str, dict]:
    """``{clip name: labels}`` from a labels file (see tests/data/real_clips_labels.json)."""
    data = json.loads(Path(path).read_text())
    if "clips" not in data or not isinstance(data["clips"], dict):
        raise InputError(f"{path}: expected an object with a 'clips' mapping")
    for name, lab in data["clips"].items():
        if "activity" not in lab:
            raise InputError(f"{path}: clip {name!r} has no 'activity'")
    return data["clips"]


def evaluate_clip(name: str, label: dict, track: PoseTrack) -> ClipResult:
    """Auto-mode analytics of one clip, compared with its labels."""
    report = analyze_motion(track)
    res = ClipResult(name, label, report.activity.label)
    found = _event_frames(report)
    res.event_errors = {
        k: (found[k] - v if k in found else None) for k, v in label.get("events", {}).items()
    }
    if label.get("reps") is not None:
        try:
            res.reps = count_reps(track).count
        except InputError:
            res.reps = 0
    side = report.golf or report.baseball
    res.handedness = side.handedness if side is not None else None
    res.view = report.golf.view if report.golf is not None else None
    res.slow_motion = (
        report.golf.slow_motion > 1
        if report.golf is not None
        else (False if report.baseball else None)
    )
    return res


def _event_frames(report: MotionReport) -> dict[str, int]:
    if report.golf is not None:
        return dict(report.golf.frames)
    if report.baseball is not None:
        return dict(report.baseball.frames)
    return {}


def evaluate(
    labels: dict[str, dict], clips: Path, tracks: dict[str, PoseTrack] | None = None
) -> list[ClipResult]:
    """Every labelled clip found in ``clips`` (or given in ``tracks``), in label order."""
    from core.pose import estimate_pose

    out = []
    for name, label in labels.items():
        track = (tracks or {}).get(name)
        if track is None:
            path = Path(clips) / name
            if not path.is_file():
                print(f"skipping {name}: not in {clips}", file=sys.stderr)
                continue
            track = estimate_pose(path)
        out.append(evaluate_clip(name, label, track))
    return out


def summary(results: list[ClipResult]) -> dict[str, float]:
    """activity_acc, event_mae_frames (found events), events_within_tol, events_missing,
    rep_exact, handedness_acc, view_acc, slow_motion_acc."""
    errs = [e for r in results for e in r.event_errors.values()]
    found = [abs(e) for e in errs if e is not None]
    within = [ok for r in results for ok in r.within().values()]
    reps = [r.reps == r.label["reps"] for r in results if r.label.get("reps") is not None]

    def acc(key: str) -> float:
        pairs = [(getattr(r, key), r.label[key]) for r in results if r.label.get(key) is not None]
        pairs = [(a, b) for a, b in pairs if key != "view" or b in ("face_on", "down_the_line")]
        return sum(a == b for a, b in pairs) / len(pairs) if pairs else float("nan")

    return {
        "activity_acc": sum(r.activity_ok for r in results) / max(1, len(results)),
        "event_mae_frames": sum(found) / len(found) if found else float("nan"),
        "events_within_tol": sum(within) / len(within) if within else float("nan"),
        "events_missing": float(sum(e is None for e in errs)),
        "rep_exact": sum(reps) / len(reps) if reps else float("nan"),
        "handedness_acc": acc("handedness"),
        "view_acc": acc("view"),
        "slow_motion_acc": acc("slow_motion"),
    }


def table(results: list[ClipResult]) -> str:
    """A plain-text table, one row per clip."""
    head = f"{'clip':34} {'activity (guess / true)':36} {'event errors (frames)':38} {'reps':7} {'hand':12} {'view':14} slow"
    rows = [head, "-" * len(head)]
    for r in results:
        act = f"{r.activity} / {r.label['activity']}" + ("" if r.activity_ok else " X")
        ev = " ".join(f"{k}={'miss' if e is None else f'{e:+d}'}{'' if ok else '!'}"
                      for (k, e), ok in zip(r.event_errors.items(), r.within().values(), strict=True)) or "-"  # fmt: skip
        reps = f"{r.reps}/{r.label['reps']}" if r.label.get("reps") is not None else "-"
        hand = f"{r.handedness}/{r.label['handedness']}" if r.label.get("handedness") else "-"
        view = f"{r.view}" if r.label.get("view") in ("face_on", "down_the_line") else "-"
        slow = (
            f"{r.slow_motion}/{r.label['slow_motion']}"
            if r.label.get("slow_motion") is not None
            else "-"
        )
        rows.append(f"{r.name:34} {act:36} {ev:38} {reps:7} {hand:12} {view:14} {slow}")
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--labels", type=Path, default=LABELS, help="labels JSON")
    parser.add_argument("--clips", type=Path, default=CLIPS, help="folder with the clips")
    args = parser.parse_args(argv)
    results = evaluate(load_labels(args.labels), args.clips)
    print(table(results))
    print("(event errors: found - labelled; '!' outside the label's tolerance; X: wrong activity)")
    s = summary(results)
    print(
        "RESULT "
        + " ".join(
            f"{k}={v:.3f}" if k != "events_missing" else f"{k}={v:.0f}" for k, v in s.items()
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
