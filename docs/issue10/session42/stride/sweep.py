"""Session 42: the baseball detector's front foot, stride start and foot plant against the
synthesizer's labels on freshly synthesized swings, for each foot smoothing window given:

python docs/issue10/session42/stride/sweep.py SEED N 0.1,0.15,0.2

It trains nothing; it prints one row per window (counts within 4 frames, 2D then 3D).
"""

import sys
from collections import Counter
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[4]))  # the repo root
from core.analytics.baseball import BaseballParams, baseball_swing_phases
from train.synth import sample_camera, synthesize

seed, n = int(sys.argv[1]), int(sys.argv[2])
vals = [float(v) for v in sys.argv[3].split(",")]
rng = np.random.default_rng(seed)
sw = [
    synthesize("baseball_swing", rng, camera=sample_camera(rng, elevation=(0.0, 30.0)))
    for _ in range(n)
]
for v in vals:
    prm = BaseballParams(foot_smooth_s=v)
    c = Counter()
    for s in sw:
        front = "left" if s.labels.handedness == "right" else "right"
        for kind, m in (("2D", s.motion2d), ("3D", s.motion3d)):
            ph = baseball_swing_phases(m, params=prm)
            c[kind, "front"] += ph.front_foot == front
            c[kind, "stride"] += abs(ph.frames["stride"] - s.labels.events["stride"]) <= 4
            c[kind, "plant"] += abs(ph.frames["foot_plant"] - s.labels.events["foot_plant"]) <= 4
    print(
        v,
        " ".join(f"{k}{w}={c[k, w]}" for k in ("2D", "3D") for w in ("front", "stride", "plant")),
        flush=True,
    )
