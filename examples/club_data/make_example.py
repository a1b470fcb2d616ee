"""Rebuild this example dataset: ``python examples/club_data/make_example.py``.

Four synthetic clips from ``train.synth`` (a golf swing with a sway, squats with knees
caving, clean push-ups, lunges), saved as 3D motions, each with one coach-style dialogue
(an open "what should I work on" turn plus measured follow-ups) and one mixed dialogue.
Every answer is measured from the saved motion by ``train.qa``; targets sit in ``meta``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from core.motion_io import save_motion
from train.data import Sample, write_jsonl
from train.qa import Dialogue, make_dialogues, make_turn, measure
from train.synth import Camera, synthesize

HERE = Path(__file__).resolve().parent
CLIPS = (
    ("golf_swing", {"faults": ["sway"], "handedness": "right"}, ("golf_tempo", "golf_event_time")),
    ("squat", {"faults": ["knees_caving"], "reps": 3}, ("rep_count", "fault_when")),
    ("push_up", {"faults": [], "reps": 3}, ("rep_count", "slowest_rep", "deepest_rep")),
    ("lunge", {"faults": [], "reps": 2}, ("front_foot", "rep_duration")),
)


def main(seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    samples = []
    (HERE / "motions").mkdir(exist_ok=True)
    for activity, overrides, follow_ups in CLIPS:
        s = synthesize(activity, rng, camera=Camera(azimuth_deg=60.0), noise3d=0.0, **overrides)
        path = save_motion(s.motion3d, HERE / "motions" / f"{activity}.npz")
        facts = measure(s.motion3d, s.labels)
        turns = [make_turn(q, facts, rng) for q in ("coach", *follow_ups)]
        coach = Dialogue([t for t in turns if t is not None][:3])
        mixed = make_dialogues(s.motion3d, s.labels, rng, n=1, facts=facts)
        for d in [coach, *mixed]:
            meta = {**d.meta(), "activity": activity, "split": "train"}
            samples.append(Sample(d.conversations(), motion=path, meta=meta))
    write_jsonl(HERE / "train.jsonl", samples)
    print(f"wrote {len(samples)} samples to {HERE / 'train.jsonl'}")


if __name__ == "__main__":
    main()
