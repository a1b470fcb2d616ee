"""Pose estimation in worker processes: one MediaPipe landmarker per process and chunk.

A landmarker runs on one core (about 20 ms a frame), so chunks of the clip run side by side.
Workers come from a ``forkserver`` that has imported MediaPipe once: starting one costs a
fork, not a Python start-up, and no thread of the caller (a web server, torch) is forked.
Each worker decodes only its own chunk, may draw and encode that chunk's overlay segment, and
sends back every candidate person; the caller stitches the chunks and keeps one person.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import queue as queue_mod
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from core.errors import InputError
from core.noise import verbose
from core.pose.video import VideoInfo
from core.termination import Termination

if TYPE_CHECKING:
    from core.pose.estimate import OverlaySegment

_PRELOAD = ["core.pose.estimate", "core.pose.overlay", "mediapipe"]
_POLL_S = 0.5
_STOP_S = 10.0  # a terminated worker closes its overlay encoder first (well under a second)


def _context() -> mp.context.BaseContext:
    ctx = mp.get_context("forkserver")
    ctx.set_forkserver_preload(_PRELOAD)
    return ctx


def warm_up() -> None:
    """Start the worker server now (it imports MediaPipe once, ~1 s) without waiting for it,
    so the first clip's workers start at once. The app calls it when it starts."""
    from multiprocessing import forkserver

    _context()
    forkserver.ensure_running()


def _worker(out: mp.Queue, k: int, info: VideoInfo, model: str, opts: dict, start: int,
            stop: int, overlay: OverlaySegment | None, loud: bool) -> None:  # fmt: skip
    """Estimate frames ``[start, stop)`` (writing ``overlay`` if given) and put
    ``("done", k, Candidates)`` on ``out``; on SIGTERM, clean up and exit at once."""
    stopping = Termination()
    try:
        # terminate() must run _detect_frames' cleanup: killed outright, a worker would leave
        # its overlay encoder (ffmpeg) writing into the caller's folder after the caller
        # deleted it.
        stopping.install()
        _estimate(out, k, info, model, opts, (start, stop), overlay, loud, stopping)
    except SystemExit as exiting:
        # The cleanup ran as SystemExit unwound. Python's own exit would now wait for every
        # non-daemon thread: MediaPipe runs its C calls on a ThreadPoolExecutor thread, and a
        # SIGTERM landing while that thread starts leaves it running, unknown to its
        # executor, so the worker never exited (py-spy, session 29).
        os._exit(exiting.code if isinstance(exiting.code, int) else 1)


def _estimate(out: mp.Queue, k: int, info: VideoInfo, model: str, opts: dict,
              span: tuple[int, int], overlay: OverlaySegment | None, loud: bool,
              stopping: Termination) -> None:  # fmt: skip
    """``_worker``'s work: the chunk's candidates, or the error, as one message on ``out``."""
    from core.pose.estimate import _detect_frames

    if not loud:  # C++ log lines bypass Python; this process prints nothing else
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 2)

    caller = mp.parent_process()

    def on_frames(i: int) -> None:
        stopping.check()  # a first SystemExit may have been lost
        if caller is not None and not caller.is_alive():  # killed, or stopped as this started
            raise SystemExit(1)
        out.put(("frames", k, i))

    try:
        cands = _detect_frames(info, Path(model), start=span[0], stop=span[1], overlay=overlay,
                               on_frames=on_frames, **opts)  # fmt: skip
    except InputError as err:
        out.put(("input-error", k, str(err)))
        return
    except (OSError, RuntimeError, ValueError) as err:
        out.put(("error", k, f"{type(err).__name__}: {err}"))
        return
    stopping.check()
    out.put(("done", k, cands))


def detect_in_workers(
    info: VideoInfo,
    model: Path,
    opts: dict,
    chunks: list[tuple[int, int, int]],
    overlays: list[OverlaySegment | None],
    on_frames: Callable[[int], None],
) -> list:  # list[Candidates], one per chunk in order
    """Every chunk's candidates (``opts``: ``_detect_frames`` keywords; ``overlays``: one
    segment per chunk, or None); ``on_frames(n)`` gets the clip-wide frames done so far."""
    ctx = _context()
    out = ctx.Queue()
    procs = [ctx.Process(target=_worker, daemon=True,
                         args=(out, k, info, str(model), opts, a, b, seg, verbose()))
             for k, ((a, _, b), seg) in enumerate(zip(chunks, overlays, strict=True))]  # fmt: skip
    work = sum(b - a for a, _, b in chunks)
    done = [0] * len(chunks)
    results: dict[int, object] = {}
    exited: set[int] = set()
    started: list[mp.process.BaseProcess] = []
    try:  # a signal may land while they start (the first start can wait ~1 s for the server)
        for p in procs:
            p.start()
            started.append(p)
        while len(results) < len(procs):
            try:
                kind, k, payload = out.get(timeout=_POLL_S)
            except queue_mod.Empty:
                _check_alive(procs, results, exited)
                continue
            if kind == "frames":
                done[k] = payload
                on_frames(int(sum(done) * info.frame_count / work))
            elif kind == "done":
                results[k] = payload
            elif kind == "input-error":
                raise InputError(payload)
            else:
                raise RuntimeError(f"pose worker {k} failed: {payload}")
    finally:
        stop_workers(started, out)
    return [results[k] for k in range(len(chunks))]


def stop_workers(
    procs: list[mp.process.BaseProcess], out: mp.Queue, wait_s: float = _STOP_S
) -> None:
    """Terminate ``procs`` (each closes its overlay encoder on SIGTERM) and wait for them; one
    still running after ``wait_s`` (stuck in native code, where the handler cannot run) is
    killed, so the stop does not wait on it forever. ``out`` is not read: a worker killed
    mid-message would leave a reader waiting for the rest forever."""
    for p in procs:
        if p.is_alive():
            p.terminate()
    deadline = time.monotonic() + wait_s
    for p in procs:
        p.join(timeout=max(0.0, deadline - time.monotonic()))
        if p.is_alive():
            p.kill()
            p.join()
    out.close()


def _check_alive(procs: list, results: dict, exited: set[int]) -> None:
    """Raise for a worker that died without an answer (a clean exit gets one more poll,
    as its last message may still be in the pipe)."""
    for k, p in enumerate(procs):
        if k in results or p.is_alive() or p.exitcode is None:
            continue
        if p.exitcode != 0 or k in exited:
            raise RuntimeError(
                f"pose worker {k} stopped (exit code {p.exitcode}) before sending its frames"
            )
        exited.add(k)
