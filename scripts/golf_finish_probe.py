"""Why does the top of the backswing look like the finish? (issue 10, session 22)

Three probes, none trained on anything (``hold`` and ``elbows`` on synthetic swings):

* ``hold``: the frame scorer's most relevant frame for "When is the top of the backswing?" and
  "When is impact?" on synthetic swings, as made and with a still hold of the last pose added
  (real clips often end in a long finish hold). Counts the turns within 6 frames of the
  labelled event and the turns whose frame lies in the finish or the hold.
* ``tokens``: for one real clip and question, where each question token's Eq.1 softmax peaks
  and how high, and the most relevant frame under each ``LLaMoConfig.text_pool`` (session 23:
  the paper's max over softmaxes follows the sharpest token, not the best match).
* ``elbows``: the lead and trail elbow angles (``core.analytics.joint_angles``) at the top,
  impact and finish of synthetic swings, and at the frames given for a real clip
  (``--clip PATH:top=118,impact=144,finish=198``).

    python scripts/golf_finish_probe.py hold --swings 30 --hold 2.0 [--noise3d 0.5] [--slow 3]
        [--depth 0.3 --dtl] [--model DIR]
    python scripts/golf_finish_probe.py elbows --swings 5 --clip ../shared/data/real/golf_swing_dtl.mp4:top=118,impact=144,finish=198
    python scripts/golf_finish_probe.py tokens --clip ../shared/data/real/golf_swing_dtl.mp4 \
        --question "When is the top of the backswing?" [--model DIR]
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np

from core.motion import Motion

QUESTIONS = {"top": "When is the top of the backswing?", "impact": "When is impact?"}
NEAR_FRAMES = 6
ELBOW_EVENTS = ("top", "impact", "finish")


def with_hold(motion: Motion, seconds: float, rng: np.random.Generator, jitter_m: float) -> Motion:
    """``motion`` followed by ``seconds`` of its last pose, each joint jittered by ``jitter_m``."""
    n = int(round(seconds * motion.fps))
    held = np.repeat(motion.joints[-1:], n, axis=0)  # (n, J, C)
    held = held + rng.normal(0.0, jitter_m, held.shape).astype(held.dtype)
    vis = np.repeat(motion.visibility[-1:], n, axis=0)  # (n, J)
    return Motion(
        np.concatenate([motion.joints, held]), np.concatenate([motion.visibility, vis]),
        motion.fps, motion.space, motion.skeleton, motion.start_time,
    )  # fmt: skip


def most_relevant_frame(model: object, motion: Motion, question: str) -> int:
    """Argmax of the frame scores an answer would show (``Answer.frame_scores``)."""
    return int(np.argmax(model.viewpoints(motion, question)["frame_scores"]))


def with_depth(motion: Motion, share: float) -> Motion:
    """The camera-facing 3D with its depth axis (z) scaled by ``share`` about the hips, as a
    monocular estimator that underrates depth would give it."""
    return replace(motion, joints=motion.joints * np.array([1.0, 1.0, share], np.float32))


def hold_probe(model: object, swings: int, hold_s: float, noise3d: float, slow: float,
               depth: float = 1.0, dtl: bool = False) -> dict:  # fmt: skip
    """``slow`` > 1: filmed at 30 x ``slow`` fps and played at 30 (a slow-motion clip);
    ``depth`` < 1 flattens the depth (:func:`with_depth`); ``dtl``: right-handed golfers
    filmed down the line."""
    from train.synth import Camera, synthesize

    # azimuth -90: behind a right-hander's hands, looking down the target line
    view = {"handedness": "right", "camera": Camera(azimuth_deg=-90.0)} if dtl else {}

    counts = {f"{q}_{k}": 0 for q in QUESTIONS for k in ("near", "near_hold", "late", "late_hold")}
    for seed in range(1000, 1000 + swings):
        rng = np.random.default_rng(seed)
        s = synthesize("golf_swing", rng, faults=[], noise3d=noise3d, fps=30.0 * slow, **view)
        ev, motion = s.labels.events, with_depth(s.motion3d.slow_motion(slow), depth)
        held = with_hold(motion, hold_s, rng, jitter_m=0.003 * (1 + 3 * noise3d))
        for q, text in QUESTIONS.items():
            for clip, suffix in ((motion, ""), (held, "_hold")):
                frame = most_relevant_frame(model, clip, text)
                counts[f"{q}_near{suffix}"] += abs(frame - ev[q]) <= NEAR_FRAMES
                counts[f"{q}_late{suffix}"] += frame >= ev["finish"]
    setting = {"hold_s": hold_s, "noise3d": noise3d, "slow": slow, "depth": depth, "dtl": dtl}
    return {"swings": swings, **setting, **counts}


def lead_side(handedness: str) -> tuple[str, str]:
    """(lead, trail) arm of a golfer: a right-hander leads with the left arm."""
    return ("left", "right") if handedness == "right" else ("right", "left")


def elbows_at(angles: dict[str, np.ndarray], frames: dict[str, int], handedness: str) -> dict:
    lead, trail = lead_side(handedness)
    return {e: {"lead": round(float(angles[f"{lead}_elbow"][f]), 1),
                "trail": round(float(angles[f"{trail}_elbow"][f]), 1)} for e, f in frames.items()}  # fmt: skip


def elbow_probe(swings: int, clips: list[str]) -> dict:
    from core.analytics import joint_angles
    from core.pose.estimate import estimate_pose
    from train.synth import synthesize

    out: dict = {"synthetic": []}
    for seed in range(2000, 2000 + swings):
        s = synthesize("golf_swing", np.random.default_rng(seed), faults=[], noise=0)
        ev = {e: s.labels.events[e] for e in ELBOW_EVENTS}
        out["synthetic"].append(elbows_at(joint_angles(s.motion3d), ev, s.labels.handedness))
    for spec in clips:
        path, _, marks = spec.partition(":")
        frames = {k: int(v) for k, v in (m.split("=") for m in marks.split(","))}
        angles = joint_angles(estimate_pose(path))  # a right-handed golfer, as in SOURCES.md
        out[Path(path).name] = elbows_at(angles, frames, "right")
    return out


def token_peaks(tokens: list[str], attention: np.ndarray) -> list[dict]:
    """Each question token's peak frame and the softmax share there, from (L, T) Eq.1."""
    return [{"token": t, "peak_frame": int(row.argmax()), "peak": round(float(row.max()), 3)}
            for t, row in zip(tokens, attention, strict=True)]  # fmt: skip


def token_probe(model: object, clip: str, question: str) -> dict:
    """The question's tokens' peaks on a real clip, and the most relevant frame per pool."""
    from dataclasses import replace

    from core.llamo.config import TEXT_POOLS
    from core.pose.estimate import estimate_pose

    motion = estimate_pose(clip).motion3d
    seen = model.question_attention(motion, question)
    out: dict = {"clip": Path(clip).name, "question": question,
                 "tokens": token_peaks(seen["tokens"], seen["attention"])}  # fmt: skip
    fusion = model.motion_modules.fusion
    shipped = fusion.config
    try:
        for pool in TEXT_POOLS:
            fusion.config = replace(shipped, text_pool=pool)
            out[f"most_relevant_{pool}"] = most_relevant_frame(model, motion, question)
    finally:
        fusion.config = shipped
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("probe", choices=["hold", "elbows", "tokens"])
    ap.add_argument("--swings", type=int, default=30)
    ap.add_argument("--hold", type=float, default=2.0, help="seconds of still finish added")
    ap.add_argument("--noise3d", type=float, default=0.0, help="synth's 3D estimator noise")
    ap.add_argument("--slow", type=float, default=1.0, help="slow-motion factor (hold)")
    ap.add_argument("--depth", type=float, default=1.0, help="share of the 3D depth kept (hold)")
    ap.add_argument("--dtl", action="store_true", help="filmed down the line (hold)")
    ap.add_argument("--model", default=None, help="LLaMo folder (default: the shipped model)")
    ap.add_argument(
        "--clip", action="append", default=[], help="PATH:event=frame,... (elbows); PATH (tokens)"
    )
    ap.add_argument("--question", default=QUESTIONS["top"], help="(tokens)")
    a = ap.parse_args(argv)
    if a.probe == "tokens" and len(a.clip) != 1:
        ap.error("tokens: give one --clip PATH")
    if a.probe in ("hold", "tokens"):
        from core.llamo.model import LLaMo
        from core.paths import DEFAULT_MODEL_DIR

        model = LLaMo.from_pretrained(a.model or DEFAULT_MODEL_DIR).eval()
        if a.probe == "tokens":
            report = token_probe(model, a.clip[0], a.question)
        else:
            report = hold_probe(model, a.swings, a.hold, a.noise3d, a.slow, a.depth, a.dtl)
    else:
        report = elbow_probe(a.swings, a.clip)
    print(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
