"""The page's handlers as plain functions (no browser): real clip, real model code (tiny LLM)."""

from __future__ import annotations

import zipfile
from pathlib import Path

import gradio as gr
import numpy as np
import pytest
from matplotlib.figure import Figure

from app import handlers
from app.coach import Coach, Session
from app.ui import EXAMPLES_DIR, build_ui
from tests.app.test_coach import write_blank_video
from tests.app.tiny import tiny_coach
from tests.conftest import real_path

ROOT = Path(__file__).resolve().parents[2]
SQUAT_NPZ = EXAMPLES_DIR / "squat_synthetic.npz"


class Recorder:
    """A ProgressFn that remembers every call."""

    def __init__(self) -> None:
        self.calls: list[tuple[float, str]] = []

    def __call__(self, fraction: float, desc: str) -> None:
        self.calls.append((fraction, desc))


@pytest.fixture(scope="module")
def coach() -> Coach:
    return tiny_coach()


@pytest.fixture(scope="module")
def golf(coach: Coach) -> tuple:
    """handlers.analyze on the real golf clip: its full output tuple and the progress."""
    progress = Recorder()
    out = handlers.analyze(
        coach, None, str(real_path("golf_swing_dtl.mp4")), None, "auto", progress
    )
    yield out, progress
    out[0].close()


def drain(gen) -> list:
    return list(gen)


# -- analyze / ask / select / export on a real clip --------------------------------------------
@pytest.mark.slow
def test_analyze_real_clip(golf: tuple) -> None:
    (session, overlay, facts, figure, chat, gallery, relevance, skeleton), progress = golf
    assert isinstance(session, Session) and session.kind == "video"
    assert Path(overlay).is_file() and Path(overlay).suffix == ".mp4"
    assert facts.startswith("**golf swing") and "Top of backswing" in facts
    assert isinstance(figure, Figure)
    assert chat == [] and gallery == [] and relevance is None and skeleton is None
    fractions = [f for f, _ in progress.calls]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    assert any("pose" in d.lower() for _, d in progress.calls)


@pytest.mark.slow
def test_ask_streams_chat_gallery_and_relevance(coach: Coach, golf: tuple) -> None:
    session = golf[0][0]
    session.history.clear()
    steps = drain(handlers.ask(coach, session, "When is the top of the backswing?"))
    skip = type(gr.skip())
    first_chat, box, first_gallery, _ = steps[0]
    assert box == "" and isinstance(first_gallery, skip)  # the first words go out at once
    assert first_chat[-2] == {"role": "user", "content": "When is the top of the backswing?"}
    shown = [s for s in steps if not isinstance(s[2], skip)]
    assert len(shown) == 1 and shown[0] is steps[1]  # pictures once, right after
    _, _, gallery, plot = shown[0]
    assert isinstance(plot, Figure)
    frames = session.moments(session.history[-1][1])
    assert len(gallery) == len(frames) >= 1
    for (image, label), m in zip(gallery, frames, strict=True):
        assert image.dtype == np.uint8 and image.ndim == 3 and label == m.label
    assert np.array_equal(gallery[0][0], session.thumbnail(frames[0].peak_frame))
    final = steps[-1][0]
    assert final == handlers.chat_messages(session) and len(final) == 2
    assert final[1]["content"] == (session.history[-1][1].text.strip() or "(no answer)")
    drain(handlers.ask(coach, session, "And the impact?"))
    assert [q for q, _ in session.history] == [
        "When is the top of the backswing?",
        "And the impact?",
    ]


@pytest.mark.slow
def test_gallery_select_shows_3d_skeleton(coach: Coach, golf: tuple) -> None:
    session = golf[0][0]
    drain(handlers.ask(coach, session, "Where do the hands go?"))
    frames = session.moments(session.history[-1][1])
    image, caption = handlers.show_frame(session, len(frames) - 1)
    assert image.shape == (480, 480, 3) and caption.endswith(frames[-1].label)
    with pytest.raises(gr.Error, match="no longer shown"):
        handlers.show_frame(session, len(frames))
    # While the next answer is still being written its thumbnails already work.
    stream = handlers.ask(coach, session, "And at the finish?")
    next(stream)
    _, _, gallery, _ = next(stream)
    image, caption = handlers.show_frame(session, 0)
    assert caption.endswith(gallery[0][1]) and image.shape == (480, 480, 3)
    drain(stream)


@pytest.mark.slow
def test_export_html_and_markdown_zip(coach: Coach, golf: tuple) -> None:
    session = golf[0][0]
    if not session.history:
        drain(handlers.ask(coach, session, "When is the top of the backswing?"))
    html = Path(handlers.export(session, "HTML (one file, pictures inside)"))
    assert html.suffix == ".html" and "data:image/jpeg;base64," in html.read_text()
    archive = Path(handlers.export(session, "Markdown (.zip with pictures)"))
    with zipfile.ZipFile(archive) as z:
        names = z.namelist()
        md = next(n for n in names if n.endswith(".md"))
        text = z.read(md).decode()
    jpgs = [n for n in names if n.endswith(".jpg")]
    assert jpgs and all(Path(p).name in text for p in jpgs)
    assert session.history[0][0] in text


def test_an_answer_about_a_named_time_shows_the_measurement(coach: Coach) -> None:
    """The chat and both reports end such an answer with the analytics' line about the time
    (or the joint); other answers are the model's words alone."""
    session = handlers.analyze(coach, None, None, str(SQUAT_NPZ), "auto")[0]
    try:
        drain(handlers.ask(coach, session, "Which rep am I in at 2.5 s?"))
        drain(handlers.ask(coach, session, "How many reps?"))
        (line,) = session.measured("Which rep am I in at 2.5 s?")
        assert line.startswith("At 2.50 s: rep 1 of ")
        timed, plain = handlers.chat_messages(session)[1::2]
        assert timed["content"] == f"{session.history[0][1].text.strip()}\n\n*Measured:* {line}"
        assert plain["content"] == session.history[1][1].text.strip()
        html = Path(handlers.export(session, "HTML (one file, pictures inside)")).read_text()
        assert html.count("<em>Measured:</em>") == 1 and line in html
        with zipfile.ZipFile(handlers.export(session, "Markdown (.zip with pictures)")) as z:
            md = z.read(next(n for n in z.namelist() if n.endswith(".md"))).decode()
        assert md.count("*Measured:*") == 1 and f"*Measured:* {line}" in md
        drain(handlers.ask(coach, session, "How bent does my left elbow get?"))  # a joint
        (joint,) = session.measured("How bent does my left elbow get?")
        assert joint.startswith("Left elbow: ") and joint.endswith(" s).")
        assert handlers.chat_messages(session)[-1]["content"].endswith(f"*Measured:* {joint}")
    finally:
        handlers.close_session(session)


# -- user mistakes become gr.Error with a clear message ---------------------------------------
def test_nothing_chosen_or_two_inputs(coach: Coach) -> None:
    with pytest.raises(gr.Error, match="Analyze a clip first"):
        handlers.analyze(coach, None, None, None, "auto")
    with pytest.raises(gr.Error, match="Both a video and a motion file"):
        handlers.analyze(coach, None, "a.mp4", "b.npz", "auto")


def test_wrong_file_type(coach: Coach, tmp_path: Path) -> None:
    doc = tmp_path / "swing.pdf"
    doc.write_bytes(b"%PDF-1.4 not a clip")
    with pytest.raises(gr.Error, match=r"swing\.pdf is not a clip or a motion file.*\.mp4"):
        handlers.analyze(coach, None, None, str(doc), "auto")


def test_corrupt_video(coach: Coach, tmp_path: Path) -> None:
    bad = tmp_path / "broken.mp4"
    bad.write_bytes(bytes(range(256)) * 64)
    with pytest.raises(gr.Error, match="could not be read as a video") as err:
        handlers.analyze(coach, None, str(bad), None, "auto")
    assert "Traceback" not in str(err.value)


@pytest.mark.slow
def test_clip_without_person(coach: Coach, tmp_path: Path) -> None:
    with pytest.raises(gr.Error, match="No person was found"):
        handlers.analyze(
            coach, None, str(write_blank_video(tmp_path / "empty_room.mp4")), None, "auto"
        )


def test_question_before_clip_and_empty_question(coach: Coach) -> None:
    with pytest.raises(gr.Error, match="Analyze a clip first"):
        drain(handlers.ask(coach, None, "When is impact?"))
    with pytest.raises(gr.Error, match="Analyze a clip first"):
        handlers.export(None, "HTML (one file, pictures inside)")
    with pytest.raises(gr.Error, match="Ask a question first"):
        handlers.show_frame(None, 0)


def test_unexpected_failure_is_short_and_logged(caplog: pytest.LogCaptureFixture) -> None:
    @handlers.user_errors
    def broken() -> None:
        raise ZeroDivisionError("division by zero")

    with pytest.raises(gr.Error, match=r"Something went wrong \(ZeroDivisionError\)") as err:
        broken()
    assert "division by zero" not in err.value.message
    assert "ZeroDivisionError" in caplog.text and "Traceback" in caplog.text


# -- sessions ------------------------------------------------------------------------------------
def test_two_sessions_are_independent(coach: Coach) -> None:
    a = handlers.analyze(coach, None, None, str(SQUAT_NPZ), "auto")[0]
    b = handlers.analyze(coach, None, None, str(SQUAT_NPZ), "squat")[0]
    assert a is not b and a.workdir != b.workdir
    drain(handlers.ask(coach, a, "How deep is the squat?"))
    assert len(a.history) == 1 and b.history == []
    # A failure in tab A (bad question) leaves tab B untouched and working.
    with pytest.raises(gr.Error, match="empty"):
        drain(handlers.ask(coach, a, "   "))
    steps = drain(handlers.ask(coach, b, "How many reps?"))
    assert steps[-1][0][0]["content"] == "How many reps?" and len(b.history) == 1
    # Re-analysing in tab A replaces and cleans its old session only.
    a2 = handlers.analyze(coach, a, None, str(SQUAT_NPZ), "auto")[0]
    assert not a.workdir.exists() and a2.workdir.is_dir() and b.workdir.is_dir()
    handlers.close_session(a2)
    handlers.close_session(b)
    assert not a2.workdir.exists() and not b.workdir.exists()
    handlers.close_session(None)  # the callback tolerates tabs that never analysed


def test_build_ui_has_the_page_parts(coach: Coach) -> None:
    demo = build_ui(coach)
    assert isinstance(demo, gr.Blocks)
    ids = {getattr(b, "elem_id", None) for b in demo.blocks.values()}
    want = {"clip-input", "motion-input", "activity", "analyze-btn", "overlay-video", "facts",
            "angles-plot", "chat", "question", "ask-btn", "viewpoint-gallery", "relevance-plot",
            "skeleton-3d", "export-btn", "privacy", "model-info"}  # fmt: skip
    assert want <= ids
    info = next(b for b in demo.blocks.values() if getattr(b, "elem_id", None) == "model-info")
    assert info.value == f"Model: {coach.model_label}"  # the page says which model answers
    video = next(b for b in demo.blocks.values() if getattr(b, "elem_id", None) == "clip-input")
    assert set(video.sources) == {"upload", "webcam"}
    states = [b for b in demo.blocks.values() if isinstance(b, gr.State)]
    assert len(states) == 1 and states[0].delete_callback is handlers.close_session
