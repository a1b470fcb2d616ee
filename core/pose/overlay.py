"""Skeleton drawing and H.264 overlay segments written by the pose workers themselves.

``draw_skeleton`` lives here (not in ``viz``) because the pose workers draw on the frames they
have already decoded for inference: the overlay then needs no second decode of the clip.
Each worker encodes the frames it keeps as one H.264 segment; ``join_segments`` concatenates
them with stream copy (no re-encode), one output frame per input frame.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import cv2
import imageio_ffmpeg
import numpy as np

from core.skeleton import EDGES, Joint

# RGB colours: the player's left side orange, right side blue, centre line white.
LEFT_COLOUR = (255, 140, 0)
RIGHT_COLOUR = (30, 144, 255)
CENTRE_COLOUR = (235, 235, 235)
# x264 options shared by every overlay writer: browser-playable, small, fast.
X264_PARAMS = ["-crf", "23"]


def even_size(size: tuple[int, int]) -> tuple[int, int]:
    """(W, H) with one edge pixel column/row dropped when odd (yuv420p needs even sides)."""
    w, h = size
    return w - w % 2, h - h % 2


def open_h264(path: Path, size: tuple[int, int], fps: float, preset: str, *,
              faststart: bool = False):  # fmt: skip
    """A started imageio-ffmpeg H.264 (yuv420p) writer of ``size`` (already even) frames."""
    extra = ["-movflags", "+faststart"] if faststart else []
    writer = imageio_ffmpeg.write_frames(
        str(path), size, fps=fps, codec="libx264", pix_fmt_out="yuv420p", macro_block_size=2,
        quality=None, output_params=[*X264_PARAMS, "-preset", preset, *extra],
    )  # fmt: skip
    writer.send(None)  # start ffmpeg
    return writer


def _side(joint: Joint) -> int:
    name = joint.name
    return 1 if "LEFT" in name.split("_") else (-1 if "RIGHT" in name.split("_") else 0)


def _edge_colour(a: Joint, b: Joint) -> tuple[int, int, int]:
    side = _side(a) if _side(a) == _side(b) else 0
    return {1: LEFT_COLOUR, -1: RIGHT_COLOUR, 0: CENTRE_COLOUR}[side]


def draw_skeleton(
    image: np.ndarray,
    landmarks2d: np.ndarray,
    visibility: np.ndarray,
    *,
    min_visibility: float = 0.5,
    thickness: int | None = None,
    copy: bool = True,
) -> np.ndarray:
    """Draw the 33-joint skeleton on an (H, W, 3) RGB uint8 image.

    landmarks2d: (33, 2) normalized x, y (y down); visibility: (33,). Bones and joints below
    ``min_visibility`` are skipped. Line thickness scales with the image unless given.
    """
    out = image.copy() if copy else image
    if out.ndim != 3 or out.shape[2] != 3 or out.dtype != np.uint8:
        raise ValueError(f"image: expected (H, W, 3) uint8, got {out.shape} {out.dtype}")
    h, w = out.shape[:2]
    thick = thickness or max(1, round(max(h, w) / 250))
    pts = np.round(np.asarray(landmarks2d, np.float64) * [w, h]).astype(np.int64)  # (33, 2) px
    seen = np.asarray(visibility) >= min_visibility
    for a, b in EDGES:
        if seen[a] and seen[b]:
            cv2.line(out, tuple(map(int, pts[a])), tuple(map(int, pts[b])),
                     _edge_colour(a, b), thick, cv2.LINE_AA)  # fmt: skip
    for j in Joint:
        if seen[j]:
            colour = {1: LEFT_COLOUR, -1: RIGHT_COLOUR, 0: CENTRE_COLOUR}[_side(j)]
            cv2.circle(out, tuple(map(int, pts[j])), thick + 1, colour, -1, cv2.LINE_AA)
    return out


class SegmentWriter:
    """Draws a chunk's skeleton on its decoded frames and encodes frames ``[keep, stop)``.

    Frames arrive in order with the landmarks found there (or None). Like the final track's
    gap filling, a run of at most ``max_gap`` frames without landmarks between two frames
    with landmarks is drawn with interpolated landmarks; such frames wait (at most
    ``max_gap`` of them) until the run ends. Frames before ``keep`` only seed that filling.
    """

    def __init__(self, path: Path, size: tuple[int, int], fps: float, keep: int, *,
                 max_gap: int, preset: str = "veryfast", min_visibility: float = 0.5) -> None:  # fmt: skip
        self.path, self.keep, self.max_gap = path, keep, max_gap
        self.min_visibility = min_visibility
        self.even = even_size(size)
        self.frames_written = 0
        self._pending: list[tuple[int, np.ndarray]] = []
        self._last: tuple[np.ndarray, np.ndarray] | None = None  # last landmarks, visibility
        self._writer = open_h264(path, self.even, fps, preset)

    def add(self, t: int, frame: np.ndarray, xy: np.ndarray | None, vis: np.ndarray | None) -> None:
        """Frame ``t`` (H, W, 3) RGB with (33, 2) landmarks and (33,) visibility, or None."""
        if xy is None or vis is None:
            self._pending.append((t, frame))
            if len(self._pending) > self.max_gap:  # too long a gap: never filled, draw bare
                self._flush(None)
            return
        self._flush((xy, vis))
        self._emit(t, frame, xy, vis)
        self._last = (xy, vis)

    def _flush(self, nxt: tuple[np.ndarray, np.ndarray] | None) -> None:
        """Write the waiting frames, interpolated towards ``nxt`` when the gap can be filled."""
        fill = nxt is not None and self._last is not None and len(self._pending) <= self.max_gap
        n = len(self._pending)
        for k, (t, frame) in enumerate(self._pending):
            if fill:
                w = (k + 1) / (n + 1)
                xy = (1 - w) * self._last[0] + w * nxt[0]
                vis = (1 - w) * self._last[1] + w * nxt[1]
                self._emit(t, frame, xy, vis)
            else:
                self._emit(t, frame, None, None)
        if n and not fill:
            self._last = None  # a gap too long to fill: nothing to interpolate from after it
        self._pending = []

    def _emit(self, t: int, frame: np.ndarray, xy: np.ndarray | None, vis: np.ndarray | None):
        if t < self.keep:
            return
        out = np.ascontiguousarray(frame[: self.even[1], : self.even[0]])
        if xy is not None:
            out = draw_skeleton(out, xy, vis, min_visibility=self.min_visibility)
        self._writer.send(out)
        self.frames_written += 1

    def close(self) -> None:
        """Write what still waits (bare: no later landmarks in this chunk) and finish the file."""
        try:
            self._flush(None)
        finally:
            self._writer.close()


def join_segments(segments: list[Path], out_path: Path) -> Path:
    """Concatenate H.264 mp4 segments (same size and settings) into ``out_path`` by stream
    copy, with ``+faststart`` so a browser can play it while it downloads."""
    listing = out_path.with_name(out_path.stem + ".segments.txt")
    # The concat demuxer's list syntax: one quoted path a line, quotes escaped.
    listing.write_text(
        "".join("file '{}'\n".format(str(p).replace("'", "'\\''")) for p in segments)
    )
    cmd = [imageio_ffmpeg.get_ffmpeg_exe(), "-nostdin", "-v", "error", "-y", "-f", "concat",
           "-safe", "0", "-i", str(listing), "-c", "copy", "-movflags", "+faststart",
           str(out_path)]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True, errors="replace", check=False)
    listing.unlink(missing_ok=True)
    if proc.returncode != 0:
        raise RuntimeError(f"Could not join the overlay segments: {proc.stderr.strip()[-300:]}")
    return out_path
