"""Event handlers of the coaching page: plain functions of the coach and the tab's session.

Each browser tab keeps its own ``app.coach.Session`` in a ``gr.State``; handlers take it
and return the new one. User mistakes (``InputError``) become ``gr.Error`` with the same
message; an unexpected failure is logged with its traceback on the server and the tab gets a
short ``gr.Error``, so one tab's failure never shows a stack trace or touches another tab.
"""

from __future__ import annotations

import functools
import html
import inspect
import logging
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import gradio as gr

from app.coach import Coach, Session, check_question
from core.analytics.facts import Fact
from core.errors import InputError, ModelFilesError
from core.progress import ProgressFn

log = logging.getLogger(__name__)

NO_CLIP = (
    "Analyze a clip first: upload or record a video (or choose a motion file), then press Analyze."
)
EXPORT_FORMATS = {"HTML (one file, pictures inside)": "html", "Markdown (.zip with pictures)": "md"}


def user_errors(fn: Callable) -> Callable:
    """Turn ``InputError``/``ModelFilesError`` into ``gr.Error``; log anything else."""

    def convert(err: Exception) -> gr.Error:
        if isinstance(err, gr.Error):
            return err
        if isinstance(err, InputError | ModelFilesError):
            title = "Please check the input" if isinstance(err, InputError) else "Model files"
            return gr.Error(str(err), title=title, print_exception=False)
        log.exception("handler %s failed", fn.__name__)
        return gr.Error(
            f"Something went wrong ({type(err).__name__}). The details are in the terminal "
            "that runs the app; other tabs are not affected.",
            print_exception=False,
        )

    if inspect.isgeneratorfunction(fn):

        @functools.wraps(fn)
        def gen_wrapper(*args: Any, **kwargs: Any) -> Iterator[Any]:
            try:
                yield from fn(*args, **kwargs)
            except Exception as err:  # converted for the browser, logged above if unexpected
                raise convert(err) from err

        return gen_wrapper

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except Exception as err:  # converted for the browser, logged above if unexpected
            raise convert(err) from err

    return wrapper


def close_session(session: Session | None) -> None:
    """``gr.State`` delete callback: the tab closed or expired, so drop its temp dir."""
    if isinstance(session, Session):
        session.close()


def pick_source(video: str | None, motion_file: str | None) -> str:
    """The one input to analyse, or a clear error when there is none or two."""
    if video and motion_file:
        raise InputError(
            "Both a video and a motion file are loaded. Clear one of them (x in its corner) "
            "and press Analyze again."
        )
    source = video or motion_file
    if not source:
        raise InputError(NO_CLIP)
    return source


def _fact_line(fact: Fact) -> str:
    """A trusted fact as text; an unsure one greyed (CSS class ``unsure``) and marked."""
    if fact.trusted:
        return fact.text
    return f'<span class="unsure">{html.escape(str(fact))}</span>'


def facts_markdown(session: Session, warning: str | None = None) -> str:
    """The key-facts panel: activity, facts with their times, a model warning if any."""
    lines = [f"**{session.summary()}**", ""]
    lines += [f"- {_fact_line(fact)}" for fact in session.fact_items] or [
        "- No phases, reps or angles found."
    ]
    for note in [*session.warnings, *([warning] if warning else [])]:
        lines += ["", f"> **Note:** {note}"]
    return "\n".join(lines)


@user_errors
def analyze(
    coach: Coach,
    old: Session | None,
    video: str | None,
    motion_file: str | None,
    activity: str | None,
    progress: ProgressFn | None = None,
) -> tuple[Session, str | None, str, Any, list, list, None, None]:
    """Analyse the chosen input: (session, overlay video, facts, angle plot, chat, gallery,
    relevance plot, 3D view); the last four are reset for the new clip."""
    source = pick_source(video, motion_file)
    session = coach.analyze(source, progress=progress, activity=activity)
    try:
        if not coach.loaded:
            # First analysis after start: load the model here so the bar shows it.
            coach.ensure_model(lambda f, d: progress(0.9 + 0.1 * f, d) if progress else None)
        facts = facts_markdown(session, coach.warning)
        figure = session.angles_figure()
    except BaseException:
        session.close()
        raise
    close_session(old)
    overlay = str(session.overlay_path) if session.overlay_path else None
    return session, overlay, facts, figure, [], [], None, None


def chat_messages(session: Session, pending: str | None = None, partial: str = "") -> list[dict]:
    """The Chatbot's messages from the session history (plus a turn being written); an
    answer to a question that names a joint or a time ends with the analytics' line about it."""
    msgs: list[dict] = []
    for question, answer in session.history:
        measured = session.measured(question)
        text = answer.text.strip() or "(no answer)"
        text += f"\n\n*Measured:* {' '.join(measured)}" if measured else ""
        msgs.append({"role": "user", "content": question})
        msgs.append({"role": "assistant", "content": text})
    if pending is not None:
        msgs.append({"role": "user", "content": pending})
        msgs.append({"role": "assistant", "content": partial or "..."})
    return msgs


def gallery_items(session: Session, answer: Any) -> list[tuple[Any, str]]:
    """(thumbnail, "1.23 s (frame 37)") for each viewpoint frame of ``answer``."""
    frames = session.moments(answer)
    images = session.thumbnails([m.peak_frame for m in frames])
    return [(image, m.label) for image, m in zip(images, frames, strict=True)]


@user_errors
def ask(
    coach: Coach, session: Session | None, question: str
) -> Iterator[tuple[list[dict], str, Any, Any]]:
    """Stream an answer: yields (chat messages, question box, gallery, relevance plot).

    The first words go out at once; the gallery and plot follow in the next yield (the
    viewpoint frames are chosen before any word is written), and later yields skip them.
    """
    if not isinstance(session, Session):
        raise InputError(NO_CLIP)
    question = check_question(question)
    for i, answer in enumerate(session.ask_stream(question)):
        chat = chat_messages(session, question, answer.text)
        yield chat, "", gr.skip(), gr.skip()
        if i == 0:
            yield chat, "", gallery_items(session, answer), session.relevance_figure(answer)
    yield chat_messages(session), "", gr.skip(), gr.skip()


@user_errors
def show_frame(session: Session | None, index: int | None) -> tuple[Any, str]:
    """3D skeleton of the chosen gallery thumbnail (index into the shown answer's frames).

    Works while the answer is still being written: its frames are known from the start.
    """
    if not isinstance(session, Session) or session.current is None:
        raise InputError("Ask a question first; then choose one of the frames it shows.")
    frames = session.moments(session.current)
    if index is None or not 0 <= int(index) < len(frames):
        raise InputError("That frame is no longer shown; choose one of the current thumbnails.")
    m = frames[int(index)]
    return session.skeleton_3d(m.peak_frame), f"3D skeleton at {m.label}"


@user_errors
def export(session: Session | None, fmt_label: str) -> str:
    """Write the report into the session's temp dir and return the file to download."""
    if not isinstance(session, Session):
        raise InputError(NO_CLIP)
    fmt = EXPORT_FORMATS.get(fmt_label, fmt_label)
    if fmt not in ("md", "html"):
        raise InputError(f"Unknown report format {fmt_label!r}; choose HTML or Markdown.")
    out_dir = session.workdir / "report"
    shutil.rmtree(out_dir, ignore_errors=True)
    stem = f"llamo-report-{Path(session.source).stem}"
    path = session.export(out_dir / f"{stem}.{fmt}", fmt=fmt)
    if fmt == "md":
        # A Markdown file links its pictures, so hand over both in one zip.
        archive = shutil.make_archive(str(session.workdir / stem), "zip", out_dir)
        return archive
    return str(path)
