"""``Coach``: the one object the app, the CLI and the notebook talk to.

A ``Coach`` holds one LLaMo model (loaded once, shared by every session; a lock serialises
generation because one model serves several browser tabs). ``Coach.analyze`` turns a clip or
a motion file into a ``Session``: the skeleton, an H.264 overlay, the analytics report and the
activity guess, plus a private temp dir. ``Session.ask`` / ``ask_stream`` answer questions with
the session's multi-turn history; ``Session.export`` writes a Markdown or HTML report.

This module imports no torch at import time: the model modules are imported inside methods,
so ``app/`` can import it and stay torch-free until a model is really needed.
"""

from __future__ import annotations

import atexit
import logging
import shutil
import tempfile
import threading
import uuid
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from core.answer import Answer, Moment
from core.errors import InputError, ModelFilesError
from core.limits import MAX_CLIP_SECONDS, MAX_QUESTION_CHARS, MAX_UPLOAD_BYTES
from core.model_info import read_model_info
from core.motion import Motion, PoseTrack
from core.motion_io import MOTION_SUFFIXES, load_motion
from core.paths import DEFAULT_MODEL_DIR
from core.pose.video import VIDEO_SUFFIXES, check_file_size, probe_video, truncation_note
from core.progress import ProgressFn, report
from viz.report import write_report

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from core.analytics import ActivityGuess, MotionReport
    from core.analytics.facts import Fact
    from core.llamo.model import LLaMo
    from core.llamo.prompts import PromptBudget

    ModelLoader = Callable[[], tuple[LLaMo, str | None]]

log = logging.getLogger(__name__)

UNTRAINED_WARNING = (
    "No trained LLaMo weights found at {path}; using an UNTRAINED model on the bundled "
    "SmolLM2 LLM. Answers will be poor until the default model is installed "
    "(or pass --model DIR)."
)


def _link_or_copy(src: Path, dst: Path) -> Path:
    """Hard-link when possible (same disk, instant), else copy."""
    try:
        dst.hardlink_to(src)
    except OSError:
        shutil.copy2(src, dst)
    return dst


def check_source(path: str | Path) -> tuple[Path, str]:
    """``(path, "video" | "motion")`` or ``InputError`` saying which files are accepted."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in MOTION_SUFFIXES:
        kind = "motion"
    elif suffix in VIDEO_SUFFIXES:
        kind = "video"
    else:
        raise InputError(
            f"{path.name} is not a clip or a motion file. Use a video "
            f"({', '.join(VIDEO_SUFFIXES[:4])}, ...) or a motion file "
            f"({', '.join(MOTION_SUFFIXES)})."
        )
    if not path.is_file():
        raise InputError(f"{path.name}: no such file. Check the path and try again.")
    check_file_size(path, MAX_UPLOAD_BYTES)
    return path, kind


def check_question(question: str) -> str:
    """The stripped question, or ``InputError`` when it is empty or too long."""
    q = (question or "").strip()
    if not q:
        raise InputError("The question is empty. Type a question about the movement first.")
    if len(q) > MAX_QUESTION_CHARS:
        raise InputError(
            f"The question has {len(q)} characters; keep it under {MAX_QUESTION_CHARS}."
        )
    return q


@dataclass(eq=False)  # identity: sessions live in sets and gr.State
class Session:
    """One analysed clip or motion file, its Q&A history and its private temp dir."""

    coach: Coach
    source: Path
    kind: str  # "video" or "motion"
    motion: Motion  # what the model reads: 3D world metres for clips
    track: PoseTrack | None
    report: MotionReport
    guess: ActivityGuess  # before any user override
    activity: str
    workdir: Path
    overlay_path: Path | None = None
    history: list[tuple[str, Answer]] = field(default_factory=list)
    current: Answer | None = None  # the answer being written or last written (for pictures)
    id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    _crops: np.ndarray | None = field(default=None, repr=False)
    closed: bool = False
    warnings: list[str] = field(default_factory=list)  # partial results the user must know

    def __post_init__(self) -> None:
        # A session dropped without close() still deletes its temp dir (when collected or
        # at exit), so no clip copy or overlay is left behind.
        self._cleanup = weakref.finalize(self, shutil.rmtree, str(self.workdir), True)

    # -- facts ----------------------------------------------------------------------------
    @property
    def facts(self) -> list[str]:
        """Every fact as a line; unsure ones end in " (unsure)"."""
        return list(self.report.facts)

    @property
    def fact_items(self) -> list[Fact]:
        """The facts with their confidences (the UI greys the unsure ones)."""
        return list(self.report.shown_items)

    @property
    def fps(self) -> float:
        return self.motion.fps

    def activity_line(self) -> str:
        """The activity as the user chose it, or as guessed with how sure (or why not)."""
        if self.activity != self.guess.label:
            return f"{self.activity.replace('_', ' ')} (chosen)"
        if not self.guess.supported:
            return str(self.guess)
        return f"{self.activity.replace('_', ' ')} (guessed, {self.guess.confidence:.0%} sure)"

    def summary(self) -> str:
        """One line: activity (guessed or chosen), duration, frames."""
        return (
            f"{self.activity_line()} - {self.motion.duration:.1f} s, "
            f"{self.motion.num_frames} frames at {self.fps:.0f} fps"
        )

    # -- questions ------------------------------------------------------------------------
    def ask(self, question: str, *, max_new_tokens: int = 128) -> Answer:
        """The full answer (see ``ask_stream``)."""
        *_, last = self.ask_stream(question, max_new_tokens=max_new_tokens)
        return last

    def ask_stream(self, question: str, *, max_new_tokens: int = 128) -> Iterator[Answer]:
        """Answers whose text grows; the last one (``done``) joins the session history."""
        if self.closed:
            raise InputError("This session was closed; analyse the clip again.")
        q = check_question(question)
        self.coach.ensure_model()
        history = [(hq, ha.text) for hq, ha in self.history]
        last = None
        for last in self.coach.stream_answer(
            self.motion, q, video=self._video_input(), history=history,
            context=self.prompt_context(q), max_new_tokens=max_new_tokens,
        ):  # fmt: skip
            self.current = last
            yield last
        if last is not None:
            self.history.append((q, last))

    def measured(self, question: str) -> list[str]:
        """The analytics' lines about the joints, the sides, the moments and the events
        ``question`` names ("Left knee: 143 to 161 deg ...", "The left knee bends more than the
        right knee: ...", "At 4.37 s: the downswing, ...", "The finish (5.10 s) comes after
        4.00 s."), and the form check's line when it asks about form,
        trusted ones only: shown beside the answer, so the user can check the model's words
        against the measurement."""
        from core.analytics.form import asks_form
        from core.llamo.prompts import compared_parts, question_joints, question_times

        return (self.report.prompt_joints(question_joints([question]))
                + self.report.side_lines(compared_parts([question]))
                + self.report.prompt_moments(question_times([question]))
                + self.report.prompt_orders([question])
                + (self.report.form_lines() if asks_form(question) else []))  # fmt: skip

    def prompt_context(self, question: str = "") -> str | None:
        """The facts block the model's prompt gets for ``question`` after this session's
        history: the report's trusted facts, then the lines about the joints, the compared
        sides and the times the questions name, within the model's budget (None when the coach
        sends no facts)."""
        if not self.coach.facts_in_prompt:
            return None
        from core.llamo.prompts import report_context

        # Unsure facts stay out: the model would repeat them as if measured.
        chosen_or_known = self.activity != self.guess.label or self.guess.supported
        activity = self.activity if chosen_or_known else str(self.guess)
        asked = [hq for hq, _ in self.history] + [question]
        return report_context(self.report, self.coach.prompt_budget, asked, activity=activity)

    def _video_input(self) -> np.ndarray | None:
        """Person crops for a model that reads video (computed once per session)."""
        if self.kind != "video" or not self.coach.uses_video:
            return None
        if self._crops is None:
            from core.pose.video import person_crops

            self._crops = person_crops(self.source, self.track, size=self.coach.crop_size)
        return self._crops

    # -- key frames and pictures ----------------------------------------------------------
    def moments(self, answer: Answer) -> list[Moment]:
        """The moments the answer looked at (runs of adjacent viewpoint frames merged; each
        keeps its most relevant frame ``peak_frame``, a frame of ``self.motion``)."""
        last = self.motion.num_frames - 1
        return [replace(m, peak_frame=min(max(m.peak_frame, 0), last)) for m in answer.moments()]

    def thumbnail(self, frame: int, size: int = 240) -> np.ndarray:
        """(H, W, 3) uint8: the video frame with the skeleton, or the 3D skeleton."""
        return self.thumbnails([frame], size)[0]

    def thumbnails(self, frames: list[int], size: int = 240) -> list[np.ndarray]:
        """Pictures of several frames (one pass over the video for a clip)."""
        if self.kind == "video":
            from viz.overlay import frame_thumbnails

            return frame_thumbnails(self.source, self.track, frames, size=size)
        return [self.skeleton_3d(f, size=(size, size)) for f in frames]

    def skeleton_3d(self, frame: int, size: tuple[int, int] = (480, 480)) -> np.ndarray:
        """(H, W, 3) uint8 render of the 3D skeleton at ``frame``."""
        from viz.render3d import render_skeleton_3d

        frame = int(np.clip(frame, 0, self.motion.num_frames - 1))
        return render_skeleton_3d(self.motion, frame, size=size)

    def events(self) -> dict[str, int]:
        """Named frames of the report (golf events, baseball phases or rep bottoms)."""
        rep = self.report
        for result in (getattr(rep, "golf", None), getattr(rep, "baseball", None)):
            if result is not None:
                return dict(result.frames)
        reps = getattr(rep, "reps", None)
        if reps is not None:
            return {f"rep {i}": r.peak_frame for i, r in enumerate(reps.reps, start=1)}
        return {}

    def angles_figure(self, highlight: list[int] | None = None) -> Figure:
        """Matplotlib figure of the report's key joint angles over time, with its events."""
        from core.analytics import joint_angles
        from viz.plots import plot_joint_angles

        angles = joint_angles(self.track if self.track is not None else self.motion)
        key = [name for name in getattr(self.report, "angles", {}) if name in angles]
        shown = {name: angles[name] for name in key} if key else angles
        return plot_joint_angles(shown, self.fps, events=self.events(), highlight=highlight)

    def relevance_figure(self, answer: Answer) -> Figure:
        """Per-frame relevance of ``answer`` with its viewpoint frames marked."""
        from viz.plots import plot_frame_relevance

        scores = np.asarray(answer.frame_scores, dtype=np.float64)  # (T,) original frames
        return plot_frame_relevance(scores, self.fps, [m.peak_frame for m in self.moments(answer)])

    # -- export and cleanup ---------------------------------------------------------------
    def export(self, path: str | Path, fmt: str = "md") -> Path:
        """Write a report (facts, Q&A, key frames) as ``fmt`` = ``"md"`` or ``"html"``."""
        return write_report(self, Path(path), fmt)

    def close(self) -> None:
        """Delete the temp dir; the session cannot answer afterwards."""
        self.closed = True
        self._cleanup()


class Coach:
    """One model shared by many sessions. Build it with ``Coach.load``."""

    def __init__(
        self,
        model: LLaMo | None = None,
        *,
        loader: ModelLoader | None = None,
        warning: str | None = None,
        facts_in_prompt: bool = True,
    ):
        """``model``: a ready LLaMo, or ``loader() -> (model, warning)`` to load it later.

        ``facts_in_prompt``: put the analytics facts (events, reps, tempo with times) in the
        system prompt. The shipped model was trained with and without them; with them it
        gives the facts' event times (golf_swing_dtl, "When is the top of the backswing?":
        "4.00 s", the analytics' time, vs "4.07 s" from the motion alone, MODEL_CARD.md);
        ``False`` tests the motion alone.
        """
        if model is None and loader is None:
            raise ValueError("model: pass a model or a loader")
        self._model = model
        self._loader = loader
        self.warning = warning
        self.facts_in_prompt = facts_in_prompt
        self._load_lock = threading.Lock()
        self._generate_lock = threading.Lock()
        self._sessions: weakref.WeakSet[Session] = weakref.WeakSet()
        self.model_dir: Path | None = None  # where the model comes from (set by ``load``)
        atexit.register(self.close)
        _start_pose_workers()

    @classmethod
    def load(
        cls,
        model_dir: str | Path | None = None,
        llm: str | None = None,
        device: str | None = None,
        *,
        lazy: bool = False,
        threads: int | None = None,
        facts_in_prompt: bool = True,
    ) -> Coach:
        """Coach on the model in ``model_dir`` (default: the shipped model).

        Without shipped weights it falls back to an untrained LLaMo on the bundled LLM and
        sets ``coach.warning``. ``lazy=True`` defers loading to the first need (the UI uses
        it so the page opens at once and the first analysis shows the load in its progress).
        ``threads``: torch CPU threads (None: torch's default, one per core). On a machine
        busy with other work, 1 avoids OpenMP threads waiting on each other (measured on 2
        shared cores: first answer token 0.5 s with 1 thread, 3-13 s with 2).
        """
        from core import noise

        noise.apply()  # third-party warnings stay out of the user's terminal unless verbose
        if threads is not None and threads < 1:
            raise InputError(f"threads: must be >= 1, got {threads}")
        if model_dir is not None and not (Path(model_dir) / "config.json").is_file():
            raise ModelFilesError(
                f"{model_dir}: no LLaMo model there (config.json missing). Train one with "
                "train/finetune.py or leave --model out to use the default model."
            )
        coach = cls(
            loader=lambda: _load_model(model_dir, llm, device, threads),
            facts_in_prompt=facts_in_prompt,
        )
        coach.model_dir = Path(model_dir) if model_dir is not None else DEFAULT_MODEL_DIR
        if not lazy:
            coach.ensure_model()
        return coach

    # -- model ----------------------------------------------------------------------------
    @property
    def model_label(self) -> str:
        """Which model answers: name, how it was made, when trained, its folder (read from
        the folder's ``model_info.json``; no model load needed)."""
        if self.model_dir is None:
            return "a model given in memory"
        if not (self.model_dir / "config.json").is_file():
            return f"an UNTRAINED model (no trained weights at {self.model_dir})"
        return read_model_info(self.model_dir).label()

    @property
    def loaded(self) -> bool:
        return self._model is not None

    def ensure_model(self, progress: ProgressFn | None = None) -> LLaMo:
        """The model, loading it on first use (once, whichever session asks first)."""
        with self._load_lock:
            if self._model is None:
                report(progress, 0.0, "Loading the LLaMo model (first time only)")
                self._model, warning = self._loader()
                self.warning = warning or self.warning
                if self.warning:
                    log.warning(self.warning)
                report(progress, 1.0, "Model ready")
        return self._model

    @property
    def model(self) -> LLaMo:
        return self.ensure_model()

    @property
    def uses_video(self) -> bool:
        return bool(getattr(getattr(self.model, "config", None), "use_video", False))

    @property
    def prompt_budget(self) -> PromptBudget:
        """How many facts lines, and lines about the joints and the times the questions name,
        the model's prompt gets: the budgets it was trained (or shown to read them) with."""
        from core.llamo.config import budget_of

        return budget_of(getattr(getattr(self.model, "config", None), "__dict__", {}))

    @property
    def crop_size(self) -> int:
        return int(getattr(getattr(self.model, "config", None), "crop_size", 64))

    def stream_answer(self, motion: Motion, question: str, **kwargs: Any) -> Iterator[Answer]:
        """The model's streaming answer, holding the generation lock while it runs."""
        model = self.ensure_model()
        with self._generate_lock:
            yield from model.stream_answer(motion, question, **kwargs)

    # -- analysis -------------------------------------------------------------------------
    def analyze(
        self,
        source: str | Path,
        progress: ProgressFn | None = None,
        activity: str | None = None,
    ) -> Session:
        """Skeleton, overlay, analytics and activity guess for a clip or motion file.

        ``activity``: ``None`` or ``"auto"`` uses the guess; anything else overrides it.
        Progress: pose and overlay 0-85 %, then analytics. The model is not needed here
        (the UI calls ``ensure_model`` next, so its progress bar shows the first load).
        """
        path, kind = check_source(source)
        workdir = Path(tempfile.mkdtemp(prefix="llamo-session-"))
        try:
            session = self._build_session(path, kind, workdir, progress, activity)
        except BaseException:
            shutil.rmtree(workdir, ignore_errors=True)
            raise
        self._sessions.add(session)
        report(progress, 1.0, "Ready for questions")
        return session

    def _build_session(self, path: Path, kind: str, workdir: Path,
                       progress: ProgressFn | None, activity: str | None) -> Session:  # fmt: skip
        from core.analytics import analyze_motion, guess_activity

        track, overlay, notes = None, None, []
        if kind == "video":
            from core.pose import estimate_pose
            from viz.overlay import write_overlay

            # Keep the clip's own name (the report is named after it), in a folder of its own
            # so no name can clash with the files written next to it.
            (workdir / "clip").mkdir()
            local = _link_or_copy(path, workdir / "clip" / path.name)
            info = probe_video(local, max_seconds=MAX_CLIP_SECONDS)
            note = truncation_note(info)
            notes += [note] if note else []
            # The pose workers draw the overlay on the frames they decode for inference.
            overlay = workdir / f"{path.stem}-skeleton.mp4"
            track = estimate_pose(local, progress=_scaled(progress, 0.0, 0.85), info=info,
                                  overlay_path=overlay)  # fmt: skip
            if not overlay.is_file():  # the pose came from the cache: nothing decoded it
                report(progress, 0.85, "Drawing the skeleton overlay")
                write_overlay(local, track, overlay, info=info, max_side=960,
                              progress=_scaled(progress, 0.85, 0.85))  # fmt: skip
            motion, path = track.motion3d, local
        else:
            report(progress, 0.0, f"Reading {path.name}")
            try:
                motion = load_motion(path)
            except ValueError as err:
                why = str(err).replace(f"{path}: ", "")  # the file is named once, not twice
                raise InputError(f"{path.name} is not a usable motion file: {why}") from None
        report(progress, 0.85, "Measuring angles, phases and reps")
        subject = track if track is not None else motion
        chosen = None if activity in (None, "", "auto") else activity
        rep = analyze_motion(subject, activity=chosen)
        # With a chosen activity the report's guess is that choice; keep the real guess too.
        guess = rep.activity if chosen is None else guess_activity(subject)
        session = Session(self, path, kind, motion, track, rep, guess, rep.activity.label,
                          workdir, overlay)  # fmt: skip
        session.warnings += notes
        return session

    def close(self) -> None:
        """Close every open session (deletes their temp dirs); also runs at exit."""
        for session in list(self._sessions):
            session.close()


def _start_pose_workers() -> None:
    """Let the pose worker server import MediaPipe while the app starts (see core.pose.workers)."""
    from core.pose.estimate import default_workers

    if default_workers() > 1:
        from core.pose.workers import warm_up

        warm_up()
    # The analysis code (scipy among it) takes ~0.5-1 s to import: do it in the background
    # while the app starts or the model loads, not in the user's first analysis.
    threading.Thread(target=_import_analysis, name="import-analysis", daemon=True).start()


def _import_analysis() -> None:
    """Import what ``Coach.analyze`` needs (a module imported twice at once waits for the
    first import, so an early analysis is never harmed)."""
    import core.analytics  # noqa: F401
    import core.pose.overlay  # noqa: F401
    import viz.overlay  # noqa: F401


def _scaled(progress: ProgressFn | None, lo: float, hi: float) -> ProgressFn | None:
    """Map a sub-task's 0-1 progress onto ``lo``-``hi`` of the whole."""
    if progress is None:
        return None
    return lambda frac, desc: progress(lo + (hi - lo) * min(max(frac, 0.0), 1.0), desc)


def _load_model(
    model_dir: str | Path | None, llm: str | None, device: str | None, threads: int | None = None
) -> tuple[LLaMo, str | None]:
    """(model, warning): the trained model, or an untrained one with a warning."""
    import torch

    if threads is not None:
        torch.set_num_threads(threads)
    path = Path(model_dir) if model_dir is not None else DEFAULT_MODEL_DIR
    return _build_model(path, llm, device)


@contextmanager
def _model_files(where: str) -> Iterator[None]:
    """Turn the many ways a damaged model folder fails into one ``ModelFilesError``."""
    import pickle

    from safetensors import SafetensorError

    try:
        yield
    except (ModelFilesError, InputError):
        raise
    except (OSError, ValueError, RuntimeError, KeyError, RecursionError, SafetensorError,
            pickle.UnpicklingError) as err:  # fmt: skip
        raise ModelFilesError(model_error_message(where, err)) from None


def model_error_message(where: str, err: BaseException) -> str:
    """One line for a model whose files exist but cannot be read."""
    first = (str(err).strip().splitlines() or [type(err).__name__])[0][:200]
    if "weights_only" in str(err) or "pickle" in str(err).lower():
        first = "its weights are a pickle (.bin/.pt), which is never loaded because it can run code"
    return (
        f"The model in {where} could not be loaded: {first}. Its files are damaged, incomplete "
        "or not .safetensors; copy or train the model again, or leave the option out to use "
        "the default model."
    )


def _build_model(path: Path, llm: str | None, device: str | None) -> tuple[LLaMo, str | None]:
    from core.llamo.config import LLaMoConfig
    from core.llamo.llm import load_llm
    from core.llamo.model import LLaMo

    # An explicit --llm replaces the LLM the model was saved with (same hidden size needed).
    llm_kw = {}
    if llm is not None:
        with _model_files(f"--llm {llm}"):
            llm_kw["llm"], llm_kw["tokenizer"] = load_llm(llm, device=device)
    with _model_files(str(path)):
        if (path / "config.json").is_file():
            model = LLaMo.from_pretrained(path, device=device, **llm_kw)
            warning = None
        else:
            model = LLaMo.from_config(LLaMoConfig(), device=device, **llm_kw)
            warning = UNTRAINED_WARNING.format(path=path)
    model.eval()
    return model, warning
