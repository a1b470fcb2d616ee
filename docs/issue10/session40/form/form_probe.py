"""Form checks against the synthesizer's fault labels (rep level and clip level).

python docs/issue10/session40/form/form_probe.py FIRST_SEED N   # writes a markdown table to stdout

Each seed gives, per exercise, one clip with its fault and one without; the 3D motion gets
the synthesizer's 3D estimator noise (noise3d=1) and the 2D motion its default 2D noise.
A counted rep is faulty when it overlaps a labelled fault window by more than half its length.
"""

from __future__ import annotations

import sys
from collections import Counter

import numpy as np

from core.analytics.form import FORM_EXERCISES, check_form
from core.analytics.reps import count_reps
from train.synth import synthesize


def _faulty(rep_span: tuple[int, int], windows: list[tuple[int, int]]) -> bool:
    a, b = rep_span
    return any(min(b, y) - max(a, x) > 0.5 * (b - a) for x, y in windows)


def probe(first: int, n: int) -> dict[tuple[str, str], Counter]:
    out: dict[tuple[str, str], Counter] = {}
    for exercise, fault in FORM_EXERCISES.items():
        for seed in range(first, first + n):
            for faults in ([fault], []):
                s = synthesize(exercise, np.random.default_rng(seed), faults=faults, noise3d=1.0)
                windows = [(f.start_frame, f.end_frame) for f in s.labels.faults]
                for space, m in (("3D", s.motion3d), ("2D", s.motion2d)):
                    c = out.setdefault((exercise, space), Counter())
                    reps = count_reps(m, exercise)
                    check = check_form(m, reps)
                    if check is None:
                        c["clips without a counted rep"] += 1
                        continue
                    key = "sure" if check.sure else "unsure"
                    c[f"clips {key}"] += 1
                    c[
                        f"clip {key}: fault {'labelled' if faults else 'clean'}, "
                        f"{'found' if check.found else 'not found'}"
                    ] += 1
                    for i, r in enumerate(reps.reps):
                        truth = _faulty((r.start, r.end), windows)
                        c[
                            f"reps {key}: {'faulty' if truth else 'clean'} "
                            f"{'flagged' if i in check.flagged else 'passed'}"
                        ] += 1
    return out


def main() -> None:
    first, n = int(sys.argv[1]), int(sys.argv[2])
    for (exercise, space), c in probe(first, n).items():
        print(
            f"\n### {exercise} ({FORM_EXERCISES[exercise]}), {space}, seeds {first}-{first + n - 1}\n"
        )
        print("| | count |\n|---|---|")
        for k in sorted(c):
            print(f"| {k} | {c[k]} |")


if __name__ == "__main__":
    main()
