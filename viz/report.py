"""Session export: a Markdown or HTML report with the facts, the Q&A and the key frames.

Pure formatting (no torch, no gradio): it reads any ``ReportSource`` (the app's
``app.coach.Session`` is one; viz sits below app, so it names the protocol, not the class). Markdown links thumbnails saved as JPEG files next to the report; HTML
embeds them as base64 so the one file can be mailed to a player.
"""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Protocol

import numpy as np
from PIL import Image

from core.answer import Answer, Moment

FORMATS = ("md", "html")
THUMB_SIZE = 200


class ReportSource(Protocol):
    """What a report reads of an analysed clip and its questions."""

    source: Path
    facts: Sequence[str]
    history: Sequence[tuple[str, Answer]]

    def summary(self) -> str: ...

    def moments(self, answer: Answer) -> list[Moment]: ...

    def measured(self, question: str) -> list[str]: ...

    def thumbnails(self, frames: list[int], size: int = ...) -> list[np.ndarray]: ...


def _jpeg_bytes(image: np.ndarray) -> bytes:
    # JPEG: video frames as PNG made a 16-frame report ~900 KB; as JPEG it is a tenth of that.
    buf = io.BytesIO()
    Image.fromarray(np.asarray(image, dtype=np.uint8)).save(buf, format="JPEG", quality=85)
    return buf.getvalue()


def _turns(session: ReportSource) -> list[dict]:
    """One dict per Q&A turn: question, answer text, the measured lines about the times the
    question names, key frames with JPEG bytes."""
    turns = []
    for question, answer in session.history:
        keys = session.moments(answer)
        images = session.thumbnails([m.peak_frame for m in keys], size=THUMB_SIZE)
        frames = [(m, _jpeg_bytes(img)) for m, img in zip(keys, images, strict=True)]
        turns.append({"question": question, "answer": answer.text.strip(), "frames": frames,
                      "measured": " ".join(session.measured(question))})  # fmt: skip
    return turns


def render_markdown(session: ReportSource, frames_dir: Path) -> str:
    """Markdown text; thumbnails are written into ``frames_dir`` and linked relatively."""
    lines = [f"# Motion report: {session.source.name}", "",
             f"_{session.summary()}_ - written {_now()} by LLaMo Coach (local)", "",
             "## Key facts", ""]  # fmt: skip
    lines += [f"- {fact}" for fact in session.facts] or ["- (no facts measured)"]
    lines += ["", "## Questions and answers", ""]
    if not session.history:
        lines.append("No questions were asked.")
    for i, turn in enumerate(_turns(session), start=1):
        lines += [f"### Q{i}. {turn['question']}", "", turn["answer"] or "(empty answer)", ""]
        lines += [f"*Measured:* {turn['measured']}", ""] if turn["measured"] else []
        if turn["frames"]:
            frames_dir.mkdir(parents=True, exist_ok=True)
            lines.append("Frames the model looked at:")
            lines.append("")
        for m, jpeg in turn["frames"]:
            name = f"q{i}_frame{m.peak_frame:05d}.jpg"
            (frames_dir / name).write_bytes(jpeg)
            lines.append(f"![{m.label}]({frames_dir.name}/{name}) {m.label}")
        lines.append("")
    return "\n".join(lines)


def render_html(session: ReportSource) -> str:
    """A self-contained HTML page (thumbnails embedded as base64 JPEG)."""
    esc = html.escape
    facts = "".join(f"<li>{esc(f)}</li>" for f in session.facts) or "<li>(no facts measured)</li>"
    body = [f"<h1>Motion report: {esc(session.source.name)}</h1>",
            f"<p><em>{esc(session.summary())}</em> - written {_now()} by LLaMo Coach (local)</p>",
            "<h2>Key facts</h2>", f"<ul>{facts}</ul>", "<h2>Questions and answers</h2>"]  # fmt: skip
    if not session.history:
        body.append("<p>No questions were asked.</p>")
    for i, turn in enumerate(_turns(session), start=1):
        body.append(f"<h3>Q{i}. {esc(turn['question'])}</h3>")
        body.append(f"<p>{esc(turn['answer']) or '(empty answer)'}</p>")
        if turn["measured"]:
            body.append(f"<p><em>Measured:</em> {esc(turn['measured'])}</p>")
        figs = "".join(
            f'<figure><img alt="{esc(m.label)}" src="data:image/jpeg;base64,'
            f'{base64.b64encode(jpeg).decode()}"><figcaption>{esc(m.label)}</figcaption></figure>'
            for m, jpeg in turn["frames"]
        )
        if figs:
            body.append(f'<div class="frames">{figs}</div>')
    style = ("body{font-family:sans-serif;max-width:52em;margin:2em auto;padding:0 1em}"
             ".frames{display:flex;flex-wrap:wrap;gap:.5em}figure{margin:0}"
             "figcaption{font-size:.85em;color:#555}")  # fmt: skip
    return (f'<!doctype html><html><head><meta charset="utf-8"><title>Motion report</title>'
            f"<style>{style}</style></head><body>{''.join(body)}</body></html>")  # fmt: skip


def write_report(session: ReportSource, path: Path, fmt: str = "md") -> Path:
    """Write the report to ``path`` (``fmt`` = ``"md"`` or ``"html"``) and return it."""
    if fmt not in FORMATS:
        raise ValueError(f"fmt: {fmt!r} is not one of {FORMATS}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "md":
        text = render_markdown(session, path.with_name(f"{path.stem}_frames"))
    else:
        text = render_html(session)
    path.write_text(text, encoding="utf-8")
    return path


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
