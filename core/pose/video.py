"""Reading user videos: checking them, decoding RGB frames, and person crops for the video CNN.

All decoding goes through the ffmpeg binary shipped with ``imageio-ffmpeg`` so that probing,
reading and the overlay writer agree on the frame count. ffmpeg applies a phone video's
rotation tag while decoding, so frames (and ``VideoInfo.width/height``) are upright.
"""

from __future__ import annotations

import re
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import imageio_ffmpeg
import numpy as np

from core.errors import InputError
from core.motion import PoseTrack

VIDEO_SUFFIXES = (".mp4", ".mov", ".m4v", ".avi", ".mkv", ".webm", ".mpg", ".mpeg", ".wmv",
                  ".flv", ".3gp", ".ts")  # fmt: skip
# First bytes of image files: a renamed photo must not pass as a one-frame "video".
_IMAGE_MAGIC = {b"\xff\xd8\xff": "JPEG", b"\x89PNG": "PNG", b"GIF8": "GIF", b"BM": "BMP"}


@dataclass(frozen=True)
class VideoInfo:
    """Facts about a video; ``width``/``height`` are after rotation, ``frame_count`` is counted."""

    path: Path
    fps: float
    frame_count: int
    width: int
    height: int
    codec: str
    rotation: int = 0
    declared_duration: float | None = None  # what the container header says, if anything

    @property
    def duration(self) -> float:
        """Seconds, ``frame_count / fps``."""
        return self.frame_count / self.fps


def _ffmpeg() -> str:
    return imageio_ffmpeg.get_ffmpeg_exe()


def _check_file(path: Path, max_bytes: int) -> None:
    if not path.is_file():
        raise InputError(f"{path.name}: no such file. Check the path and try again.")
    if path.suffix.lower() not in VIDEO_SUFFIXES:
        raise InputError(
            f"{path.name} is not a video (suffix {path.suffix or 'none'!r}). "
            f"Use a video file: {', '.join(VIDEO_SUFFIXES)}."
        )
    with path.open("rb") as f:
        head = f.read(8)
    for magic, kind in _IMAGE_MAGIC.items():
        if head.startswith(magic):
            raise InputError(
                f"{path.name} is a {kind} image renamed to {path.suffix}, not a video. "
                "Record or export a video clip instead."
            )
    check_file_size(path, max_bytes)


def _parse_probe(path: Path, log: str) -> VideoInfo:
    """Stream facts from ffmpeg's header; the frame count from its final ``frame=`` line."""
    stream = re.search(r"Stream #0:\d+.*?: Video: (\w+).*", log)
    if stream is None:
        raise InputError(
            f"{path.name} has no video stream (is it an audio file?). Use a video clip."
        )
    line = stream.group(0)
    size = re.search(r", (\d{2,5})x(\d{2,5})", line)
    fps = re.search(r", ([\d.]+) (?:fps|tbr)", line)
    if size is None or fps is None or float(fps.group(1)) <= 0:
        raise InputError(
            f"{path.name}: could not read the frame size or rate; the file may be damaged."
        )
    counts = re.findall(r"frame=\s*(\d+)", log)
    frame_count = int(counts[-1]) if counts else 0
    rot = re.search(r"rotation of (-?[\d.]+) degrees", log)
    rotation = int(round(float(rot.group(1)))) % 360 if rot else 0
    w, h = int(size.group(1)), int(size.group(2))
    if rotation in (90, 270):
        w, h = h, w
    dur = re.search(r"Duration: (\d+):(\d\d):(\d\d(?:\.\d+)?)", log)
    declared = (
        int(dur.group(1)) * 3600 + int(dur.group(2)) * 60 + float(dur.group(3)) if dur else None
    )
    return VideoInfo(path, float(fps.group(1)), frame_count, w, h, stream.group(1), rotation,
                     declared)  # fmt: skip


def truncation_note(info: VideoInfo) -> str | None:
    """A sentence for the user when fewer frames decode than the header's duration promises
    (a file cut off while copying or recording), else None."""
    declared = info.declared_duration
    if declared is None or info.duration >= declared - max(0.5, 0.1 * declared):
        return None
    return (
        f"{info.path.name} looks truncated: only {info.duration:.1f} s of its {declared:.1f} s "
        f"could be decoded, so the analysis covers the first {info.duration:.1f} s. Copy or "
        "export the clip again to analyse all of it."
    )


def check_file_size(path: Path, max_bytes: int) -> None:
    """``InputError`` for an empty file or one over ``max_bytes`` (uploads and clips)."""
    size = path.stat().st_size
    if size == 0:
        raise InputError(f"{path.name} is empty (0 bytes). Export or record it again.")
    if size > max_bytes:
        raise InputError(
            f"{path.name} is {size / 2**20:.0f} MiB; the limit is {max_bytes / 2**20:.0f} MiB. "
            "Trim the clip or export it at a lower resolution."
        )


def probe_video(
    path: str | Path,
    *,
    max_seconds: float | None = None,
    max_side: int = 4096,
    max_bytes: int = 2 * 2**30,
) -> VideoInfo:
    """Check that ``path`` is a readable video within the limits and describe it.

    The frame count comes from reading every packet of the video stream (``-c copy``, no
    decoding), because container headers (and OpenCV's ``CAP_PROP_FRAME_COUNT``) can be wrong.
    Raises ``InputError`` for a non-video, a damaged file, zero frames, a clip longer than
    ``max_seconds``, a frame side above ``max_side`` or a file above ``max_bytes``.
    """
    path = Path(path)
    _check_file(path, max_bytes)
    cmd = [_ffmpeg(), "-nostdin", "-hide_banner", "-i", str(path), "-map", "0:v:0?",
           "-c", "copy", "-f", "null", "-"]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True, errors="replace", check=False)
    log = proc.stderr
    if "Input #0" in log and re.search(r"Input #0, (image2|\w+_pipe)", log):
        raise InputError(f"{path.name} is an image, not a video. Use a video clip.")
    if "Input #0" in log and " Video: " not in log:
        raise InputError(f"{path.name} has no video stream (is it audio only?). Use a video clip.")
    if proc.returncode != 0 or "Input #0" not in log:
        last = [ln for ln in log.strip().splitlines() if ln.strip()][-1:] or ["no output"]
        raise InputError(
            f"{path.name} could not be read as a video; it is damaged, incomplete or not a "
            f"video ({last[0].strip()}). Export or copy the clip again."
        )
    info = _parse_probe(path, log)
    if info.frame_count == 0:
        raise InputError(f"{path.name} has no video frames. Record or export the clip again.")
    if max(info.width, info.height) > max_side:
        raise InputError(
            f"{path.name} is {info.width}x{info.height}; the largest side allowed is {max_side} px. "
            "Export it at a lower resolution (1080p is plenty)."
        )
    if max_seconds is not None and info.duration > max_seconds:
        raise InputError(
            f"{path.name} is {info.duration:.1f} s long; the limit is {max_seconds:g} s. "
            "Trim it to the movement you want analysed."
        )
    return info


def output_size(width: int, height: int, max_side: int | None) -> tuple[int, int]:
    """(width, height) scaled down so the long side is at most ``max_side`` (never up)."""
    if max_side is None or max(width, height) <= max_side:
        return width, height
    scale = max_side / max(width, height)
    return max(1, round(width * scale)), max(1, round(height * scale))


def iter_frames(
    path: str | Path,
    max_side: int | None = None,
    *,
    info: VideoInfo | None = None,
    start: int = 0,
    stop: int | None = None,
) -> Iterator[np.ndarray]:
    """Yield (H, W, 3) RGB uint8 frames, downscaled so the long side is <= ``max_side``.

    Every decoded frame is yielded once (``-fps_mode passthrough``: ffmpeg neither drops nor
    duplicates frames), so the count matches ``probe_video``. Pass ``info`` to skip the probe.
    ``start``/``stop``: only frames with index in ``[start, stop)``; earlier frames are
    decoded but neither scaled nor converted (by frame number, so exact even without keyframes).
    """
    info = info or probe_video(path)
    w, h = output_size(info.width, info.height, max_side)
    vf = f"scale={w}:{h}:flags=area"
    if start > 0 or stop is not None:
        keep = f"gte(n\\,{start})" if stop is None else f"between(n\\,{start}\\,{stop - 1})"
        vf = f"select='{keep}',{vf}"
    wanted = None if stop is None else max(0, stop - start)
    cmd = [_ffmpeg(), "-nostdin", "-v", "error", "-i", str(info.path), "-map", "0:v:0",
           "-vf", vf, "-fps_mode", "passthrough",
           "-f", "rawvideo", "-pix_fmt", "rgb24", "-"]  # fmt: skip
    nbytes = w * h * 3
    # stderr goes to a file: a full stderr pipe would block ffmpeg while we read stdout.
    with tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=err)
        count = 0
        try:
            while wanted is None or count < wanted:  # past ``stop``: stop ffmpeg early
                buf = proc.stdout.read(nbytes)
                if len(buf) < nbytes:
                    break
                count += 1
                yield np.frombuffer(buf, np.uint8).reshape(h, w, 3)  # (H, W, 3)
        finally:
            proc.stdout.close()
            if proc.poll() is None:
                proc.kill()
            rc = proc.wait()
        if count == 0 and rc != 0:
            err.seek(0)
            msg = err.read().decode(errors="replace").strip().splitlines()[-1:] or [""]
            raise InputError(f"{info.path.name}: no frame could be decoded ({msg[0]}).")


def _crop_boxes(track: PoseTrack, pad: float, smooth_s: float) -> np.ndarray:
    """(T, 3) crop centre x, y and side in pixels, smoothed over ``smooth_s`` seconds."""
    width, height = track.frame_size
    xy = track.motion2d.joints * np.array([width, height], np.float32)  # (T, J, 2) pixels
    seen = track.motion2d.visibility > 0.3  # (T, J)
    boxes = np.empty((track.num_frames, 3), np.float64)
    for t in range(track.num_frames):
        pts = xy[t][seen[t]]
        if len(pts) < 4:  # nobody (or a fragment): whole-frame centre, short side
            boxes[t] = (width / 2, height / 2, min(width, height))
            continue
        lo, hi = pts.min(axis=0), pts.max(axis=0)
        boxes[t] = (*((lo + hi) / 2), max(hi - lo) * pad)
    boxes[:, 2] = np.maximum(boxes[:, 2], 16.0)
    k = max(1, int(round(smooth_s * track.fps)) | 1)  # odd window for a centred average
    padded = np.pad(boxes, ((k // 2, k // 2), (0, 0)), mode="edge")
    kernel = np.ones(k) / k
    return np.stack([np.convolve(padded[:, c], kernel, "valid") for c in range(3)], axis=1)


def _square_crop(frame: np.ndarray, cx: float, cy: float, side: float, size: int) -> np.ndarray:
    """A ``size`` x ``size`` crop of the square around (cx, cy); outside the frame is black."""
    h, w = frame.shape[:2]
    s = max(2, int(round(side)))
    x0, y0 = int(round(cx - s / 2)), int(round(cy - s / 2))
    canvas = np.zeros((s, s, 3), np.uint8)
    sx0, sy0, sx1, sy1 = max(x0, 0), max(y0, 0), min(x0 + s, w), min(y0 + s, h)
    if sx1 > sx0 and sy1 > sy0:
        canvas[sy0 - y0 : sy1 - y0, sx0 - x0 : sx1 - x0] = frame[sy0:sy1, sx0:sx1]
    interp = cv2.INTER_AREA if s > size else cv2.INTER_LINEAR
    return cv2.resize(canvas, (size, size), interpolation=interp)


def person_crops(
    video_path: str | Path,
    track: PoseTrack,
    size: int = 64,
    *,
    pad: float = 1.3,
    smooth_s: float = 0.2,
) -> np.ndarray:
    """(T, size, size, 3) uint8 crops around the tracked person, one per track frame.

    The square is the 2D skeleton's bounding box (long side x ``pad``), averaged over
    ``smooth_s`` seconds so the crop does not jitter; frames where nobody was found (nor
    interpolated) use the whole frame's centre. Frames beyond the video's end stay black.
    """
    if size < 8:
        raise ValueError(f"size: must be >= 8, got {size}")
    info = probe_video(video_path)
    boxes = _crop_boxes(track, pad, smooth_s)
    # Decode at a reduced size: a 64-px crop never needs 1080p pixels.
    dec_w, _ = output_size(info.width, info.height, max(size * 8, 256))
    scale = dec_w / track.frame_size[0]
    out = np.zeros((track.num_frames, size, size, 3), np.uint8)
    for t, frame in enumerate(iter_frames(video_path, max(size * 8, 256), info=info)):
        if t >= track.num_frames:
            break
        cx, cy, side = boxes[t] * scale
        out[t] = _square_crop(frame, cx, cy, side, size)
    return out
