"""Hostile or careless use of the CLI and the Python API, on inputs made here.

Every mistake is one ``error:`` line with exit code 2, found before any heavy work, and no
``llamo-session-*`` folder is left in the temp dir, whatever the exit path.
"""

from __future__ import annotations

import gc
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import imageio_ffmpeg
import pytest

from app import cli
from app.coach import Coach
from core.pose.video import probe_video, truncation_note
from tests.conftest import real_path

ROOT = Path(__file__).resolve().parents[2]
SQUAT = ROOT / "examples" / "inputs" / "squat_synthetic.npz"


@pytest.fixture
def tmpdir_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private temp root, so leftovers can be counted."""
    root = tmp_path / "tmp"
    root.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(root))
    monkeypatch.setenv("TMPDIR", str(root))
    return root


def leftovers(root: Path) -> list[str]:
    return sorted(p.name for p in root.glob("llamo-session-*"))


def no_analysis(*args, **kwargs):
    raise AssertionError("the clip was analysed before the arguments were checked")


def run_cli(argv: list[str], capfd: pytest.CaptureFixture) -> tuple[int, list[str]]:
    try:
        code = cli.main(argv)
    except SystemExit as exc:  # argparse
        code = exc.code
    err = [line for line in capfd.readouterr().err.splitlines() if line.strip()]
    return code, err


def _evil_pickle(path: Path, marker: Path) -> None:
    import pickle

    class Evil:
        def __reduce__(self):
            return (Path.write_text, (marker, "pickle code ran"))

    path.write_bytes(pickle.dumps(Evil()))


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["ask", str(SQUAT), "   "], "The question is empty"),
        (["ask", str(SQUAT), "q?", "--max-new-tokens", "0"], "--max-new-tokens: must be at least 1"),
        (["analyze", str(SQUAT), "--threads", "0"], "--threads: must be at least 1"),
        (["analyze", str(SQUAT), "--model", "/nonexistent/model"], "config.json missing"),
        (["ask", str(SQUAT), "q?", "--llm", "/nonexistent/llm"], "--llm /nonexistent/llm: not a"),
        (["ask", str(SQUAT), "q?", "--export", "{tmp}"], "is a folder; give a file name"),
        (["ask", str(SQUAT), "q?", "--export", "{tmp}/r.pdf"], "reports are written as .md or .html"),
        (["analyze", str(SQUAT), "--overlay", "{tmp}/o.mp4"], "is a motion file, which has no video"),
        (["analyze", str(real_path("golf_swing_dtl.mp4")), "--overlay", "{tmp}"], "is a folder"),
        (["analyze", str(SQUAT), "--device", "tpu"], "argument --device: invalid choice"),
    ],
)  # fmt: skip
def test_bad_arguments_are_one_line_before_any_work(
    extra: list[str], message: str, tmpdir_root: Path, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture,
) -> None:  # fmt: skip
    monkeypatch.setattr(Coach, "analyze", no_analysis)
    argv = [a.replace("{tmp}", str(tmp_path)) for a in extra]
    code, err = run_cli(argv, capfd)
    assert code == 2
    assert len(err) == 1 and err[0].startswith("error: ") and message in err[0], err
    assert leftovers(tmpdir_root) == []


def test_cuda_without_a_gpu_is_one_line(
    tmpdir_root: Path, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture
) -> None:
    import torch

    if torch.cuda.is_available():
        pytest.skip("a GPU is visible")
    monkeypatch.setattr(Coach, "analyze", no_analysis)
    code, err = run_cli(["analyze", str(SQUAT), "--device", "cuda"], capfd)
    assert code == 2 and err == ["error: --device cuda: no CUDA GPU is visible; leave "
                                 "--device out or use cpu."]  # fmt: skip


def test_pickle_llm_weights_are_refused_and_never_loaded(
    tmpdir_root: Path, tmp_path: Path, capfd: pytest.CaptureFixture
) -> None:
    llm = tmp_path / "llm"
    llm.mkdir()
    (llm / "config.json").write_text('{"model_type": "llama"}')
    marker = tmp_path / "marker.txt"
    _evil_pickle(llm / "pytorch_model.bin", marker)
    code, err = run_cli(["ask", str(SQUAT), "How many?", "--llm", str(llm)], capfd)
    assert code == 2 and len(err) == 1, err
    assert "pickle weights (.bin/.pt) are never loaded" in err[0] and "weights_only" not in err[0]
    assert not marker.exists() and leftovers(tmpdir_root) == []


def test_truncated_safetensors_llm_is_one_line(
    tmpdir_root: Path, tmp_path: Path, capfd: pytest.CaptureFixture
) -> None:
    from core.llamo.llm import BUNDLED_CACHE_NAME, _cached_gguf, bundled_gguf

    good = _cached_gguf(bundled_gguf(), BUNDLED_CACHE_NAME)
    llm = tmp_path / "llm"
    shutil.copytree(good, llm, ignore=shutil.ignore_patterns("*.safetensors"))
    weights = next(good.glob("*.safetensors"))
    with weights.open("rb") as src:
        (llm / weights.name).write_bytes(src.read(4096))  # cut off after the header start
    code, err = run_cli(["ask", str(SQUAT), "How many?", "--llm", str(llm)], capfd)
    assert code == 2, err
    assert f"error: The model in --llm {llm} could not be loaded" in err[-1], err  # after a bar
    assert "Traceback" not in "\n".join(err) and leftovers(tmpdir_root) == []


def test_dropped_session_deletes_its_temp_dir(tmpdir_root: Path) -> None:
    session = Coach(loader=no_analysis).analyze(SQUAT)  # a motion file needs no model
    workdir = session.workdir
    assert workdir.is_dir()
    del session
    gc.collect()
    assert not workdir.exists() and leftovers(tmpdir_root) == []


def write_truncated_clip(tmp_path: Path) -> Path:
    """The golf clip (index first, as phones and web exports write it) cut to 35 % of its
    bytes, as a copy or download interrupted midway leaves it."""
    src = tmp_path / "faststart.mp4"
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-i",
                    str(real_path("golf_swing_dtl.mp4")), "-c", "copy", "-movflags", "+faststart",
                    str(src)], check=True)  # fmt: skip
    cut = tmp_path / "cut.mp4"
    data = src.read_bytes()
    cut.write_bytes(data[: int(len(data) * 0.35)])
    return cut


def test_truncated_video_is_said_out_loud_and_logs_stay_quiet(
    tmpdir_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture,
) -> None:  # fmt: skip
    cut = write_truncated_clip(tmp_path)
    info = probe_video(cut)
    full = probe_video(real_path("golf_swing_dtl.mp4"))
    assert info.duration < 0.6 * full.duration and info.declared_duration == pytest.approx(
        full.duration, abs=0.2
    )
    assert "looks truncated" in truncation_note(info)
    assert truncation_note(full) is None
    monkeypatch.setenv("LLAMO_CACHE_DIR", str(tmp_path / "cache"))  # MediaPipe really runs
    code, err = run_cli(["analyze", str(cut)], capfd)
    assert code == 0
    text = "\n".join(err)
    assert f"only {info.duration:.1f} s of its" in text
    for noise in ("Sparsity", "INFO:", "W0000", "inference_runner", "FutureWarning"):
        assert noise not in text, noise
    assert leftovers(tmpdir_root) == []


@pytest.mark.slow
def test_sigterm_during_analysis_leaves_nothing(tmp_path: Path) -> None:
    root = tmp_path / "tmp"
    root.mkdir()
    env = {**os.environ, "TMPDIR": str(root), "LLAMO_CACHE_DIR": str(tmp_path / "cache"),
           "PYTHONPATH": str(ROOT)}  # fmt: skip
    proc = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "analyze", str(real_path("pushups_side_5reps.mp4"))],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while not leftovers(root) and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
    assert leftovers(root), "the analysis never started"
    time.sleep(1.0)  # into pose estimation
    proc.send_signal(signal.SIGTERM)
    proc.communicate(timeout=60)
    assert proc.returncode == 128 + signal.SIGTERM
    assert leftovers(root) == []


def test_app_upload_of_a_bomb_is_a_gr_error_and_leaves_nothing(
    tmpdir_root: Path, tmp_path: Path
) -> None:
    import gradio as gr

    from app import handlers
    from tests.core.test_motion_limits import write_npz_bomb

    bomb = write_npz_bomb(tmp_path / "upload.npz")
    with pytest.raises(gr.Error, match=r"upload\.npz is not a usable motion file: .*unpacks to"):
        handlers.analyze(Coach(loader=no_analysis), None, None, str(bomb), "auto")
    assert leftovers(tmpdir_root) == []


def test_verbose_brings_the_third_party_logs_back(tmp_path: Path) -> None:
    """A fresh process as a user runs it: native loggers read their level when MediaPipe
    loads, so an in-process run after other (quiet) tests would not show the switch."""
    clip = str(real_path("cobra_pushups.mp4"))
    runs = {}
    for i, flag in enumerate(((), ("--verbose",))):  # each its own cache: MediaPipe really runs
        env = {**os.environ, "LLAMO_CACHE_DIR": str(tmp_path / f"cache{i}"), "LLAMO_VERBOSE": "0"}
        runs[flag] = subprocess.run([sys.executable, "-m", "app.cli", "analyze", clip, *flag],
                                    cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)  # fmt: skip
    assert all(r.returncode == 0 for r in runs.values()), [r.stderr[-500:] for r in runs.values()]
    assert "Sparsity tensors" not in runs[()].stderr
    assert "Sparsity tensors" in runs[("--verbose",)].stderr


@pytest.mark.slow  # loads the bundled SmolLM2 before reaching the damaged file
def test_truncated_model_weights_are_one_line(tmpdir_root: Path, tmp_path: Path, capfd) -> None:
    from core.paths import DEFAULT_MODEL_DIR

    model = tmp_path / "model"
    shutil.copytree(DEFAULT_MODEL_DIR, model)
    weights = model / "motion_modules.safetensors"
    weights.write_bytes(weights.read_bytes()[:5000])
    code, err = run_cli(["ask", str(SQUAT), "How many?", "--model", str(model)], capfd)
    assert code == 2, err
    assert f"error: The model in {model} could not be loaded" in err[-1], err
    assert "Traceback" not in "\n".join(err) and leftovers(tmpdir_root) == []
