"""Session 41: the baseball detector's front foot and stride start against the synthesizer's
labels on the first N baseball motions of a data-engine set, by kind (2D as saved, 3D):

python docs/issue10/session41/stride/front_foot_on_data.py artifacts/s38train/train.jsonl 150

It trains and tunes nothing.
"""

import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[4]))  # the repo root
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "session39" / "stride"))
from stride_on_data import baseball_motions  # noqa: E402

from core.analytics.baseball import baseball_swing_phases  # noqa: E402
from core.errors import InputError  # noqa: E402
from core.motion import Space  # noqa: E402

NEAR_FRAMES = 4


def counts(path: Path, limit: int) -> Counter:
    """(kind, what) -> motions: what is "n", "front foot right" or "stride within 4"."""
    out: Counter = Counter()
    for motion, labels in baseball_motions(path, limit):
        kind = "3D" if motion.space == Space.WORLD_METRES else "2D"
        try:
            phases = baseball_swing_phases(motion)
        except InputError:
            out[(kind, "no swing found")] += 1
            continue
        front = "left" if labels["handedness"] == "right" else "right"
        out[(kind, "n")] += 1
        out[(kind, "front foot right")] += phases.front_foot == front
        error = phases.frames["stride"] - labels["events"]["stride"]
        out[(kind, "stride within 4")] += abs(error) <= NEAR_FRAMES
    return out


def main(path: str, limit: int) -> None:
    c = counts(Path(path), limit)
    print("| motion | swings | front foot right | stride start within 4 frames | no swing found |")
    print("|---|---|---|---|---|")
    for kind in ("2D", "3D"):
        row = [c[(kind, w)] for w in ("n", "front foot right", "stride within 4", "no swing found")]
        print(f"| {kind} | " + " | ".join(map(str, row)) + " |")


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
