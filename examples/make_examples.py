"""Make the app's example inputs from our own synthetic motions (no third-party clips).

    .venv/bin/python examples/make_examples.py          # writes examples/inputs/

* ``squat_synthetic.mp4``: a synthetic squat set (``train.synth``) drawn as a filled
  mannequin (solid limbs, torso and head, back-to-front) on a plain floor-and-wall
  background. Pose estimation finds the mannequin, so the clip goes through the full
  video path (pose -> overlay -> model). 3 reps, ~5 s, 360x480, H.264.
* ``golf_swing_synthetic.npz``: a synthetic right-handed golf swing as a 3D motion file
  (``save_motion``), for the motion-file path.
* ``squat_synthetic.npz``: the squat's 3D skeleton, the same moves as the clip.

Deterministic (fixed seeds); the three files together stay well under 2 MB.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import imageio_ffmpeg
import numpy as np

from core.motion import Motion
from core.motion_io import save_motion
from core.skeleton import Joint as J
from train.synth import Camera, synthesize

OUT_DIR = Path(__file__).resolve().parent / "inputs"
SIZE = (360, 480)  # (width, height) of the clip
SHIRT, TROUSERS, SKIN, SHOE = (52, 101, 164), (40, 44, 52), (224, 172, 140), (25, 25, 25)
# Limbs as (from, to, colour, thickness as a fraction of the frame height).
LIMBS = (
    (J.LEFT_HIP, J.LEFT_KNEE, TROUSERS, 0.055), (J.LEFT_KNEE, J.LEFT_ANKLE, TROUSERS, 0.045),
    (J.RIGHT_HIP, J.RIGHT_KNEE, TROUSERS, 0.055), (J.RIGHT_KNEE, J.RIGHT_ANKLE, TROUSERS, 0.045),
    (J.LEFT_ANKLE, J.LEFT_FOOT_INDEX, SHOE, 0.03), (J.RIGHT_ANKLE, J.RIGHT_FOOT_INDEX, SHOE, 0.03),
    (J.LEFT_SHOULDER, J.LEFT_ELBOW, SHIRT, 0.04), (J.LEFT_ELBOW, J.LEFT_WRIST, SKIN, 0.032),
    (J.RIGHT_SHOULDER, J.RIGHT_ELBOW, SHIRT, 0.04), (J.RIGHT_ELBOW, J.RIGHT_WRIST, SKIN, 0.032),
    (J.LEFT_WRIST, J.LEFT_INDEX, SKIN, 0.025), (J.RIGHT_WRIST, J.RIGHT_INDEX, SKIN, 0.025),
)  # fmt: skip


def _background(width: int, height: int) -> np.ndarray:
    """A light wall over a darker floor, like a plain gym corner."""
    img = np.empty((height, width, 3), np.uint8)
    horizon = int(height * 0.62)
    img[:horizon] = (206, 210, 214)
    ramp = np.linspace(150, 120, height - horizon)[:, None]
    img[horizon:] = np.stack([ramp * 1.0, ramp * 0.92, ramp * 0.8], axis=-1).astype(np.uint8)
    return img


def draw_mannequin(image: np.ndarray, xy: np.ndarray, depth: np.ndarray) -> np.ndarray:
    """Draw a filled figure from (33, 2) pixel positions; ``depth`` (33,) larger = nearer."""
    h = image.shape[0]
    p = {j: tuple(int(round(v)) for v in xy[j]) for j in J}

    def limb(a: J, b: J, colour: tuple, frac: float) -> None:
        t = max(2, int(frac * h))
        cv2.line(image, p[a], p[b], colour, t, cv2.LINE_AA)
        cv2.circle(image, p[b], t // 2, colour, -1, cv2.LINE_AA)

    # Far limbs first, then the torso and head, then near limbs (a simple painter's order).
    order = sorted(LIMBS, key=lambda limb_: depth[limb_[0]] + depth[limb_[1]])
    far = [
        lb for lb in order if depth[lb[0]] + depth[lb[1]] < depth[J.LEFT_HIP] + depth[J.RIGHT_HIP]
    ]
    for lb in far:
        limb(*lb)
    torso = np.array([p[J.LEFT_SHOULDER], p[J.RIGHT_SHOULDER], p[J.RIGHT_HIP], p[J.LEFT_HIP]])
    cv2.fillConvexPoly(image, cv2.convexHull(torso.astype(np.int32)), SHIRT, cv2.LINE_AA)
    neck = (xy[J.LEFT_SHOULDER] + xy[J.RIGHT_SHOULDER]) / 2
    head = (xy[J.LEFT_EAR] + xy[J.RIGHT_EAR]) / 2
    cv2.line(image, tuple(np.round(neck).astype(int)), tuple(np.round(head).astype(int)), SKIN,
             max(2, int(0.03 * h)), cv2.LINE_AA)  # fmt: skip
    radius = max(4, int(0.045 * h))
    cv2.circle(image, tuple(np.round(head).astype(int)), radius, SKIN, -1, cv2.LINE_AA)
    for eye in (J.LEFT_EYE, J.RIGHT_EYE):
        if depth[eye] >= depth[J.NOSE] - 0.05:
            cv2.circle(image, p[eye], max(1, radius // 6), (40, 30, 30), -1, cv2.LINE_AA)
    for lb in order:
        if lb not in far:
            limb(*lb)
    return image


def render_clip(
    motion2d: Motion, motion3d: Motion, path: Path, size: tuple[int, int] = SIZE
) -> Path:
    """Write the mannequin video (H.264, yuv420p, +faststart) of a synthetic sample."""
    width, height = size
    pts = motion2d.joints.copy()  # (T, 33, 2) normalised to the synth camera's frame
    # Fit the whole motion into the frame with a margin, keeping the aspect ratio.
    lo, hi = pts.reshape(-1, 2).min(0), pts.reshape(-1, 2).max(0)
    scale = 0.8 * min(width / (hi[0] - lo[0]), height / (hi[1] - lo[1]) * 1.0)
    centre = (lo + hi) / 2
    xy = (pts - centre) * scale + np.array([width / 2, height * 0.52])  # (T, 33, 2) pixels
    depth = motion3d.joints[..., 2]  # (T, 33): z towards the camera
    background = _background(width, height)
    writer = imageio_ffmpeg.write_frames(
        str(path), (width, height), fps=motion2d.fps, codec="libx264", pix_fmt_out="yuv420p",
        macro_block_size=2, output_params=["-crf", "28", "-movflags", "+faststart"],
    )  # fmt: skip
    writer.send(None)
    for t in range(motion2d.num_frames):
        writer.send(draw_mannequin(background.copy(), xy[t], depth[t]))
    writer.close()
    return path


def make_examples(out_dir: Path = OUT_DIR) -> list[Path]:
    """Write the example inputs into ``out_dir`` and return their paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    front = Camera(azimuth_deg=20.0, elevation_deg=5.0, distance_m=4.0, fov_deg=50.0,
                   width=720, height=960)  # fmt: skip
    squat = synthesize("squat", np.random.default_rng(7), reps=3, camera=front, noise=0.0,
                       faults=[], handedness="right")  # fmt: skip
    golf = synthesize("golf_swing", np.random.default_rng(3), camera=front, noise=0.0,
                      handedness="right", faults=[])  # fmt: skip
    return [
        render_clip(squat.motion2d, squat.motion3d, out_dir / "squat_synthetic.mp4"),
        save_motion(squat.motion3d, out_dir / "squat_synthetic.npz"),
        save_motion(golf.motion3d, out_dir / "golf_swing_synthetic.npz"),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=OUT_DIR, help="output folder")
    for path in make_examples(parser.parse_args().out):
        print(f"{path}  {path.stat().st_size / 1024:.0f} KiB")


if __name__ == "__main__":
    main()
