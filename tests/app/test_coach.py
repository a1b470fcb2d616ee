"""Coach and Session on real clips and real model code (a tiny random LLM for speed)."""

from __future__ import annotations

import re
import threading
from dataclasses import replace
from pathlib import Path

import imageio_ffmpeg
import numpy as np
import pytest

from app.coach import Coach, Session, check_question, check_source
from app.handlers import facts_markdown
from core.analytics.facts import Fact
from core.errors import InputError, ModelFilesError
from core.motion_io import save_motion
from core.pose.video import probe_video
from tests.app.tiny import MAX_NEW_TOKENS, tiny_coach
from tests.conftest import real_path

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "inputs"


@pytest.fixture(scope="module")
def coach() -> Coach:
    return tiny_coach()


@pytest.fixture(scope="module")
def golf(coach: Coach) -> Session:
    session = coach.analyze(real_path("golf_swing_dtl.mp4"))
    yield session
    session.close()


def write_blank_video(path: Path, seconds: float = 1.0, fps: int = 15) -> Path:
    """A real H.264 clip of moving grey noise: a readable video with nobody in it."""
    rng = np.random.default_rng(0)
    writer = imageio_ffmpeg.write_frames(str(path), (160, 120), fps=fps, macro_block_size=1)
    writer.send(None)
    for _ in range(int(seconds * fps)):
        writer.send(rng.integers(90, 110, (120, 160, 3), dtype=np.uint8))
    writer.close()
    return path


# -- input checks -------------------------------------------------------------------------
def test_check_source_names_accepted_types(tmp_path: Path) -> None:
    bad = tmp_path / "notes.txt"
    bad.write_text("hello")
    with pytest.raises(InputError, match=r"notes\.txt is not a clip.*\.mp4.*\.npz"):
        check_source(bad)
    empty = tmp_path / "empty.mp4"
    empty.touch()
    with pytest.raises(InputError, match="empty"):
        check_source(empty)
    with pytest.raises(InputError, match="no such file"):
        check_source(tmp_path / "missing.mov")
    huge = tmp_path / "huge.mov"
    with huge.open("wb") as f:
        f.truncate(501 * 2**20)  # sparse: no disk used
    with pytest.raises(InputError, match="501 MiB; the limit is 500 MiB"):
        check_source(huge)
    assert check_source(real_path("golf_swing_dtl.mp4"))[1] == "video"


def test_too_long_clip_is_an_input_error(coach: Coach, tmp_path: Path) -> None:
    clip = write_blank_video(tmp_path / "long.mp4", seconds=125, fps=1)
    with pytest.raises(InputError, match="125.0 s long; the limit is 120 s"):
        coach.analyze(clip)


def test_check_question() -> None:
    assert check_question("  When?  ") == "When?"
    with pytest.raises(InputError, match="empty"):
        check_question("   ")
    with pytest.raises(InputError, match="under 500"):
        check_question("x" * 501)


def test_corrupt_video_is_an_input_error(coach: Coach, tmp_path: Path) -> None:
    bad = tmp_path / "broken.mp4"
    bad.write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 40)
    with pytest.raises(InputError, match="could not be read|damaged"):
        coach.analyze(bad)
    assert not list(tmp_path.glob("llamo-session-*"))


@pytest.mark.slow
def test_clip_without_a_person_is_an_input_error(coach: Coach, tmp_path: Path) -> None:
    with pytest.raises(InputError, match="No person"):
        coach.analyze(write_blank_video(tmp_path / "nobody.mp4"))


def test_model_dir_without_model_is_a_model_files_error(tmp_path: Path) -> None:
    with pytest.raises(ModelFilesError, match="config.json"):
        Coach.load(tmp_path)
    with pytest.raises(ValueError, match="threads"):
        Coach.load(threads=0)


# -- a real clip ----------------------------------------------------------------------------
@pytest.mark.slow
def test_analyze_golf_clip(golf: Session) -> None:
    assert golf.kind == "video" and golf.track is not None
    assert golf.motion.num_frames == 264
    info = probe_video(golf.overlay_path)
    assert info.codec == "h264" and info.frame_count == 264
    assert golf.overlay_path.parent == golf.workdir
    assert golf.facts and all(isinstance(f, str) and f for f in golf.facts)
    assert golf.activity == golf.guess.label
    assert "guessed" in golf.summary()


@pytest.mark.slow
def test_activity_override(coach: Coach) -> None:
    session = coach.analyze(real_path("golf_swing_dtl.mp4"), activity="squat")
    try:
        assert session.activity == "squat" and "chosen" in session.summary()
    finally:
        session.close()


@pytest.mark.slow
def test_ask_stream_and_multi_turn_history(golf: Session) -> None:
    golf.history.clear()
    answers = list(golf.ask_stream("When is the top of the backswing?",
                                   max_new_tokens=MAX_NEW_TOKENS))  # fmt: skip
    assert answers[-1].done and not any(a.done for a in answers[:-1])
    final = answers[-1]
    # Every partial answer already carries the viewpoint frames (chosen before any word).
    assert all(a.viewpoint_frames == final.viewpoint_frames for a in answers)
    assert 1 <= len(final.viewpoint_frames) <= 4
    assert final.frame_scores.shape == (264,)
    ts = golf.motion.timestamps
    assert np.allclose(final.timestamps, ts[final.viewpoint_frames])
    assert [q for q, _ in golf.history] == ["When is the top of the backswing?"]
    second = golf.ask("And the impact?", max_new_tokens=MAX_NEW_TOKENS)
    assert len(golf.history) == 2 and golf.history[1][1] is second
    with pytest.raises(InputError, match="empty"):
        golf.ask("  ")
    assert len(golf.history) == 2


@pytest.mark.slow
def test_key_frames_thumbnails_and_3d(golf: Session) -> None:
    answer = golf.ask("Where is the club at impact?", max_new_tokens=MAX_NEW_TOKENS)
    frames = golf.moments(answer)
    assert {m.peak_frame for m in frames} <= set(answer.viewpoint_frames)
    assert re.fullmatch(r"\d+\.\d\d s \(frame \d+\)(, \d+\.\d\d-\d+\.\d\d s)?", frames[0].label)
    # Adjacent viewpoint frames are merged: no two key frames within 0.25 s.
    times = [m.peak for m in frames]
    assert len(frames) <= len(answer.viewpoint_frames)
    assert all(b - a > 0.25 for a, b in zip(times, times[1:], strict=False))
    thumb = golf.thumbnail(frames[0].peak_frame, size=200)
    assert thumb.dtype == np.uint8 and max(thumb.shape[:2]) == 200
    pic = golf.skeleton_3d(frames[0].peak_frame)
    assert pic.shape == (480, 480, 3) and pic.std() > 5  # a drawing, not a blank image
    fig = golf.relevance_figure(answer)
    assert fig.axes and fig.axes[0].get_xlabel() == "time (s)"


@pytest.mark.slow
def test_export_markdown_and_html(golf: Session, tmp_path: Path) -> None:
    golf.history.clear()
    answer = golf.ask("When is the top of the backswing?", max_new_tokens=MAX_NEW_TOKENS)
    md = golf.export(tmp_path / "r.md", fmt="md")
    text = md.read_text()
    assert "When is the top of the backswing?" in text and golf.facts[0] in text
    links = re.findall(r"\]\((r_frames/[^)]+\.jpg)\)", text)
    assert len(links) == len(golf.moments(answer)) and all(
        (tmp_path / ln).is_file() for ln in links
    )
    html = golf.export(tmp_path / "r.html", fmt="html").read_text()
    assert html.count("data:image/jpeg;base64,") == len(links)
    assert "When is the top of the backswing?" in html
    with pytest.raises(ValueError, match="fmt"):
        golf.export(tmp_path / "r.pdf", fmt="pdf")


# -- motion files, isolation, cleanup ---------------------------------------------------------
@pytest.mark.slow
def test_motion_file_session(coach: Coach, golf: Session, tmp_path: Path) -> None:
    path = save_motion(golf.motion.slice_frames(0, 120), tmp_path / "swing.npz")
    session = coach.analyze(path)
    try:
        assert session.kind == "motion" and session.overlay_path is None
        assert session.motion.num_frames == 120
        answer = session.ask("What happens first?", max_new_tokens=MAX_NEW_TOKENS)
        assert max(answer.viewpoint_frames) < 120
        assert session.thumbnail(answer.viewpoint_frames[0], size=160).shape == (160, 160, 3)
    finally:
        session.close()
    assert not session.workdir.exists()
    with pytest.raises(InputError, match="closed"):
        session.ask("Again?")


def test_malformed_motion_file(coach: Coach, tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"fps": 30}')
    with pytest.raises(
        InputError, match="^bad.json is not a usable motion file: missing field 'space'$"
    ):
        coach.analyze(bad)


@pytest.mark.slow
def test_sessions_are_independent_and_generation_is_serialised(
    coach: Coach, golf: Session, tmp_path: Path
) -> None:
    path = save_motion(golf.motion.slice_frames(100, 200), tmp_path / "part.npz")
    a, b = coach.analyze(path), coach.analyze(path)
    assert a.workdir != b.workdir
    expected = a.ask("Describe the motion.", max_new_tokens=MAX_NEW_TOKENS).text
    a.history.clear()
    results: dict[str, str] = {}

    def run(name: str, s: Session) -> None:
        results[name] = s.ask("Describe the motion.", max_new_tokens=MAX_NEW_TOKENS).text

    threads = [threading.Thread(target=run, args=(n, s)) for n, s in (("a", a), ("b", b))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    # Greedy decoding on one shared model: the lock keeps concurrent answers identical.
    assert results == {"a": expected, "b": expected}
    assert len(a.history) == 1 and len(b.history) == 1
    a.close()
    assert b.ask("Again?", max_new_tokens=MAX_NEW_TOKENS).viewpoint_frames
    b.close()


def test_coach_close_cleans_all_sessions() -> None:
    local = tiny_coach()
    sessions = [local.analyze(EXAMPLES / "golf_swing_synthetic.npz") for _ in range(2)]
    assert all(s.workdir.is_dir() for s in sessions)
    assert sessions[0].activity == "golf_swing"  # synthetic swing, guessed from the motion
    local.close()
    assert not any(s.workdir.exists() for s in sessions)


@pytest.mark.slow
def test_load_without_default_model_falls_back_with_a_warning(monkeypatch, tmp_path: Path) -> None:
    import app.coach as coach_mod

    monkeypatch.setattr(coach_mod, "DEFAULT_MODEL_DIR", tmp_path / "absent")
    coach = Coach.load(lazy=True)
    assert not coach.loaded and "UNTRAINED" in coach.model_label  # said before any load
    model = coach.ensure_model()
    assert (
        coach.loaded and "UNTRAINED" in coach.warning and str(tmp_path / "absent") in coach.warning
    )
    assert coach.ensure_model() is model  # loaded once, shared


def contexts_given(model, monkeypatch: pytest.MonkeyPatch) -> list:
    """The facts block (``context``) of every answer ``model`` is asked for, in order."""
    seen: list = []
    real = model.stream_answer

    def spy(*args, **kwargs):
        seen.append(kwargs.get("context"))
        yield from real(*args, **kwargs)

    monkeypatch.setattr(model, "stream_answer", spy)
    return seen


def test_facts_go_into_the_prompt_unless_switched_off(monkeypatch) -> None:
    from tests.app.tiny import tiny_model

    model = tiny_model()
    seen = contexts_given(model, monkeypatch)
    path = EXAMPLES / "squat_synthetic.npz"
    for flag in (False, True):
        local = Coach(model, facts_in_prompt=flag)
        session = local.analyze(path)
        session.ask("How many reps?", max_new_tokens=2)
        session.close()
    assert seen[0] is None  # the motion alone
    assert seen[1].startswith("Activity: squat.") and session.facts[1] in seen[1]
    # An unsure fact is shown (marked) but never put in the prompt.
    session = local.analyze(path)
    unsure = Fact("Tempo 9.9 : 1 on screen.", 0.2, "tempo")
    session.report = replace(session.report, fact_items=[*session.report.fact_items, unsure])
    session.ask("How many reps?", max_new_tokens=2)
    session.close()
    assert "Tempo 9.9 : 1 on screen. (unsure)" in session.facts
    assert "9.9" not in seen[2] and session.facts[1] in seen[2]
    assert session.prompt_context() == seen[2]  # what scripts read is what the model got
    assert '<span class="unsure">Tempo 9.9 : 1 on screen. (unsure)</span>' in facts_markdown(
        session
    )


def test_the_prompt_gets_as_many_facts_lines_as_the_model_was_trained_with() -> None:
    """``LLaMoConfig.max_prompt_facts`` is the model's budget: the session's prompt block is
    the activity line and the report's first that many trusted lines."""
    from tests.app.tiny import tiny_model

    model = tiny_model()
    session = Coach(model).analyze(EXAMPLES / "squat_synthetic.npz")
    trusted = session.report.prompt_facts()
    assert len(trusted) > 3
    for budget in (3, len(trusted)):
        model.config.max_prompt_facts = budget
        block = session.prompt_context().splitlines()
        assert block[0] == "Activity: squat." and block[1:] == trusted[:budget]
    session.close()


def test_the_prompt_states_the_range_of_the_joints_the_questions_name_where_it_lacks_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``LLaMoConfig.max_prompt_joints``: after the facts, the range line of each joint the
    session's questions name that the facts lack (a squat's elbows are no key angle); a joint
    the facts summarise adds nothing; a model without it gets none."""
    from tests.app.tiny import tiny_model

    model = tiny_model()
    seen = contexts_given(model, monkeypatch)
    session = Coach(model).analyze(EXAMPLES / "squat_synthetic.npz")
    plain = session.prompt_context()
    (elbow,) = session.measured("How bent does my left elbow get?")  # shown beside the answer
    assert elbow.startswith("Left elbow: ") and elbow not in plain
    session.ask("How bent does my left elbow get?", max_new_tokens=2)
    assert seen[-1] == plain  # max_prompt_joints 0: the facts alone
    model.config.max_prompt_joints = 2
    session.ask("And my left knee?", max_new_tokens=2)
    (knee,) = session.measured("And my left knee?")
    assert knee in plain.splitlines()  # a squat's key angle: in the facts already
    assert seen[-1].splitlines() == [*plain.splitlines(), elbow]
    session.close()
    motion_alone = Coach(model, facts_in_prompt=False).analyze(EXAMPLES / "squat_synthetic.npz")
    motion_alone.ask("How bent does my left elbow get?", max_new_tokens=2)
    assert seen[-1] is None  # without facts the prompt has no block to add the line to
    motion_alone.close()


def test_which_side_bends_more_is_shown_beside_the_answer_and_given_to_a_model_that_reads_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A question that compares the sides ("Which knee bends more?") gets the analytics'
    comparison beside the answer; the prompt gets it only with ``max_prompt_sides`` (an
    untrained model still answered its side prior with the line there, session 31), after the
    joints' range lines."""
    from tests.app.tiny import tiny_model

    model = tiny_model()
    model.config.max_prompt_joints = 2
    seen = contexts_given(model, monkeypatch)
    session = Coach(model).analyze(EXAMPLES / "squat_synthetic.npz")
    plain = session.prompt_context()
    (side,) = session.measured("Which knee bends more, the left or the right?")
    low = {s: session.report.joint_items[f"{s}_knee"].text for s in ("left", "right")}
    assert side.startswith(("The left knee bends more", "The right knee bends more",
                            "The left and right knee bend about as much"))  # fmt: skip
    assert all(line.split(": ")[1].split(" to ")[0] in side for line in low.values())
    session.ask("Which knee bends more, the left or the right?", max_new_tokens=2)
    assert seen[-1] == plain and side not in seen[-1]
    assert session.measured("Do my knees cave in?") == []  # nothing compared
    model.config.max_prompt_sides = 1
    session.ask("And which elbow bends more?", max_new_tokens=2)
    block = seen[-1].splitlines()
    assert block[: len(plain.splitlines())] == plain.splitlines()
    (elbows,) = session.measured("And which elbow bends more?")
    assert block[len(plain.splitlines()) :] == [elbows]  # the last compared part's line only
    session.close()


def test_the_prompt_states_the_times_the_questions_name_for_a_model_that_reads_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``LLaMoConfig.max_prompt_moments``: after the facts, the analytics' line for each time the
    session's questions name, the current question's last; a model without it gets none."""
    from tests.app.tiny import tiny_model

    model = tiny_model()
    seen = contexts_given(model, monkeypatch)
    session = Coach(model).analyze(EXAMPLES / "squat_synthetic.npz")
    plain = session.prompt_context()
    session.ask("Which rep is at 2.5 s?", max_new_tokens=2)
    assert seen[-1] == plain  # max_prompt_moments 0: the facts alone
    model.config.max_prompt_moments = 3
    session.ask("And at 4 seconds?", max_new_tokens=2)
    block = seen[-1].splitlines()
    assert block[: len(plain.splitlines())] == plain.splitlines()
    assert block[len(plain.splitlines()) :] == session.report.prompt_moments([2.5, 4.0])
    assert block[-1].startswith("At 4.00 s: ") and "rep" in block[-1]
    session.ask("Does a rep take longer than 3 s?", max_new_tokens=2)  # a length, no moment
    assert seen[-1] == seen[-2]
    assert session.measured("And at 4 seconds?") == block[-1:]  # shown beside the answer
    assert session.measured("Does a rep take longer than 3 s?") == []
    session.close()


def test_landmark_csv_session(coach: Coach) -> None:
    """A real 2D MediaPipe CSV (no video): facts, answer frames and pictures still work."""
    session = coach.analyze(real_path("squat_landmarks_test.csv"), activity="squat")
    try:
        assert session.kind == "motion" and session.motion.dims == 2
        assert session.activity == "squat" and any("rep" in f for f in session.facts)
        answer = session.ask("How many squats?", max_new_tokens=MAX_NEW_TOKENS)
        assert all(0 <= f < session.motion.num_frames for f in answer.viewpoint_frames)
        assert session.thumbnail(answer.viewpoint_frames[0], size=120).shape == (120, 120, 3)
    finally:
        session.close()


def test_the_form_check_is_shown_in_the_facts_and_beside_a_form_answer_not_in_the_prompt(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A push-up clip whose hips sag: the facts panel lists the form check, a question about
    form gets its line beside the answer, and the model's prompt never holds it."""
    from tests.app.tiny import tiny_model
    from train.synth import synthesize

    clip = synthesize("push_up", np.random.default_rng(1), faults=["sagging_hips"], noise3d=1.0)
    path = save_motion(clip.motion3d, tmp_path / "pushups.npz")
    model = tiny_model()
    seen = contexts_given(model, monkeypatch)
    session = Coach(model).analyze(path, activity="push_up")
    (line,) = session.measured("Do my hips sag?")
    assert line.startswith("Form: the hips sag") and line in facts_markdown(session)
    assert session.measured("How many push-ups?") == []
    session.ask("Do my hips sag?", max_new_tokens=2)
    assert "Form:" not in seen[-1]
    session.close()


def test_where_an_asked_event_lies_is_shown_and_given_to_a_model_trained_on_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A question naming a rep's instant and a time gets the analytics' line saying on which
    side of the time it lies, beside the answer; the prompt gets it last, only with
    ``LLaMoConfig.max_prompt_orders``."""
    from tests.app.tiny import tiny_model

    model = tiny_model()
    seen = contexts_given(model, monkeypatch)
    session = Coach(model).analyze(EXAMPLES / "squat_synthetic.npz")
    first = session.report.reps.reps[0]
    asked = f"Is the start of the first rep before or after {first.start_s + 0.5:.1f} s?"
    order = f"The start of the first rep ({first.start_s:.2f} s) comes before "
    assert session.measured(asked)[-1].startswith(order)
    session.ask(asked, max_new_tokens=2)
    assert not any(line.startswith(order) for line in seen[-1].splitlines())
    model.config.max_prompt_orders = 1
    session.ask(asked, max_new_tokens=2)
    assert seen[-1].splitlines()[-1].startswith(order)
    session.close()
