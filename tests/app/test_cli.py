"""``llamo-coach``: argument parsing, ``analyze`` and ``ask`` output, errors, the launcher."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from app import cli
from app.coach import Coach
from core.termination import Termination
from tests.app.tiny import tiny_coach
from tests.core.test_termination import SignalInDel

ROOT = Path(__file__).resolve().parents[2]
SQUAT = ROOT / "examples" / "inputs" / "squat_synthetic.npz"


def test_no_subcommand_is_the_local_web_app() -> None:
    args = cli.build_parser().parse_args([])
    assert args.command is None and args.host == "127.0.0.1" and args.port == 7860
    args = cli.build_parser().parse_args(["ui", "--port", "8000", "--model", "m"])
    assert args.port == 8000 and args.model == "m" and args.host == "127.0.0.1"


def test_model_options_before_or_after_the_subcommand() -> None:
    parser = cli.build_parser()
    before = parser.parse_args(["--model", "runs/x", "ask", "clip.mp4", "When?"])
    after = parser.parse_args(["ask", "clip.mp4", "When?", "--model", "runs/x", "--device", "cpu"])
    assert before.model == after.model == "runs/x" and after.device == "cpu"
    assert before.question == "When?" and before.activity == "auto"
    assert parser.parse_args(["--threads", "1"]).threads == 1


def test_analyze_prints_the_facts(capsys: pytest.CaptureFixture, tmp_path: Path) -> None:
    assert cli.main(["analyze", str(SQUAT)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("squat (guessed") and "fps" in out[0]
    assert any(re.search(r"3 squat rep", line) for line in out[1:])


def test_bad_input_is_one_clear_line(capsys: pytest.CaptureFixture, tmp_path: Path) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("not a clip")
    assert cli.main(["analyze", str(notes)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("error: notes.txt is not a clip or a motion file")
    assert not any("Traceback" in line for line in err)


def test_ask_prints_answer_and_viewpoint_frames(monkeypatch, capsys, tmp_path: Path) -> None:
    # The real Coach.load is exercised by the launcher test below; here a tiny model answers.
    monkeypatch.setattr(Coach, "load", classmethod(lambda cls, *a, **k: tiny_coach()))
    report = tmp_path / "r.html"
    assert cli.main(["ask", str(SQUAT), "How many reps?", "--max-new-tokens", "4",
                     "--export", str(report)]) == 0  # fmt: skip
    captured = capsys.readouterr()
    out = captured.out
    assert "model: a model given in memory" in captured.err  # which model answers
    assert "Viewpoint frames (the moments the model looked at):" in out
    frames = re.findall(r"([\d.]+) s \(frame (\d+)\)", out)
    assert frames and all(0 <= int(f) < 400 for _, f in frames)
    assert report.is_file() and "How many reps?" in report.read_text()


def test_ask_about_a_named_time_prints_the_measurement(monkeypatch, capsys) -> None:
    monkeypatch.setattr(Coach, "load", classmethod(lambda cls, *a, **k: tiny_coach()))
    assert (
        cli.main(["ask", str(SQUAT), "Which rep am I in at 2.5 s?", "--max-new-tokens", "2"]) == 0
    )
    out = capsys.readouterr().out
    measured = out.split("\nMeasured for what you named:\n")[1].split("\n\nViewpoint")[0]
    assert re.fullmatch(r"  At 2\.50 s: rep 1 of \d .*", measured)
    assert cli.main(["ask", str(SQUAT), "How many reps?", "--max-new-tokens", "2"]) == 0
    assert "Measured" not in capsys.readouterr().out


@pytest.mark.slow
def test_launcher_answers_with_the_default_model(tmp_path: Path) -> None:
    """``python app.py ask``: the real launcher, the default (or fallback) model, a real file."""
    proc = subprocess.run(
        [sys.executable, "app.py", "ask", str(SQUAT), "How many squats are there?",
         "--max-new-tokens", "24"],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "model: default (shipped with LLaMo Coach" in proc.stderr
    assert re.search(r"[\d.]+ s \(frame \d+\)", proc.stdout)
    answer = proc.stdout.split("\nViewpoint frames")[0].strip()
    assert answer  # some text was generated


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")  # the lost one
def test_a_lost_sigterm_stops_the_cli_at_its_next_progress_report() -> None:
    """The CLI once finished its analysis after a SIGTERM whose SystemExit was lost."""
    termination = Termination()
    previous = termination.install()
    bar = cli.TqdmProgress(termination)
    try:
        bar(0.1, "Estimating pose")
        SignalInDel()  # the SIGTERM lands where Python ignores the handler's exception
        with pytest.raises(SystemExit) as stop:
            bar(0.2, "Estimating pose")
        assert stop.value.code == 128 + signal.SIGTERM
    finally:
        bar.close()
        signal.signal(signal.SIGTERM, previous)


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")  # the lost one
def test_a_lost_sigterm_stops_the_web_app_and_closes_its_server() -> None:
    """The web app's main thread only waits on the server: a SIGTERM whose SystemExit was
    lost there stops it at the next tick of that wait, and the page is no longer served."""
    import time
    import urllib.error
    import urllib.request

    from app import ui

    termination = Termination()
    previous = termination.install()
    demo = ui.launch(tiny_coach(), port=None, prevent_thread_lock=True)
    try:
        url = demo.local_url
        assert urllib.request.urlopen(url, timeout=10).status == 200
        SignalInDel()  # the SIGTERM lands where Python ignores the handler's exception
        start = time.monotonic()
        with pytest.raises(SystemExit) as stop:
            ui.serve_until_stopped(demo, termination)
        assert stop.value.code == 128 + signal.SIGTERM and time.monotonic() - start < 2
        assert not demo.is_running
        with pytest.raises(urllib.error.URLError):
            urllib.request.urlopen(url, timeout=2)
    finally:
        demo.close()
        signal.signal(signal.SIGTERM, previous)
