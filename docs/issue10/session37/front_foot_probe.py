"""Session 37: the baseball detector's front foot, start of the stride and (since session 39)
foot plant against the synthesizer's labels, on freshly synthesized swings (random cameras),
split by whether the feet overlap along the image x (the detector's handedness confidence):

python docs/issue10/session37/front_foot_probe.py SEED N

It trains and tunes nothing. Prints one table row per motion kind (2D, 3D) and view.
"""

import sys
from collections import Counter
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))  # the repo root
from core.analytics.baseball import baseball_swing_phases  # noqa: E402
from core.errors import InputError  # noqa: E402
from train.synth import sample_camera, synthesize  # noqa: E402

# A stride start (since session 39 also a foot plant) this close to the label counts as found.
STRIDE_FRAMES = 4


def probe(seed: int, n: int) -> Counter:
    """(kind, view, what) -> swings: what is "n", "front foot right", "stride found", "plant found"
    or "no swing found"."""
    rng = np.random.default_rng(seed)
    out: Counter = Counter()
    for _ in range(n):
        s = synthesize("baseball_swing", rng, camera=sample_camera(rng, elevation=(0.0, 30.0)))
        front = "left" if s.labels.handedness == "right" else "right"
        for kind, motion in (("2D", s.motion2d), ("3D", s.motion3d)):
            try:
                ph = baseball_swing_phases(motion)
            except InputError:
                out[(kind, "-", "no swing found")] += 1
                continue
            view = "feet apart" if ph.confidence["handedness"] > 0.5 else "feet overlap"
            out[(kind, view, "n")] += 1
            out[(kind, view, "front foot right")] += ph.front_foot == front
            found = abs(ph.frames["stride"] - s.labels.events["stride"]) <= STRIDE_FRAMES
            out[(kind, view, "stride found")] += bool(found)
            landed = abs(ph.frames["foot_plant"] - s.labels.events["foot_plant"]) <= STRIDE_FRAMES
            out[(kind, view, "plant found")] += bool(landed)
    return out


def main(seed: int, n: int) -> None:
    counts = probe(seed, n)
    print(
        f"seed {seed}, {n} swings\n\n| motion | view | swings | front foot right | stride start "
        f"within {STRIDE_FRAMES} frames | foot plant within {STRIDE_FRAMES} frames |\n|---|---|---|---|---|---|"
    )
    for kind in ("2D", "3D"):
        for view in ("feet apart", "feet overlap"):
            row = [
                counts[(kind, view, w)]
                for w in ("n", "front foot right", "stride found", "plant found")
            ]
            print(f"| {kind} | {view} | " + " | ".join(map(str, row)) + " |")
        print(f"| {kind} | no swing found | {counts[(kind, '-', 'no swing found')]} | | | |")


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]))
