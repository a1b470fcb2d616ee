"""``llamo-coach``: the coaching app's command line.

    llamo-coach                         # open the web app on http://127.0.0.1:7860
    llamo-coach ask CLIP "question"     # answer + the moments the model looked at
    llamo-coach analyze CLIP            # key facts (phases, reps, angles, tempo)

CLIP is a video (.mp4, .mov, .webm, .avi, ...) or a motion file (.npz, .npy, .csv, .json).
Imports no torch at import time (the model loads inside ``Coach`` when first needed).
"""

from __future__ import annotations

import argparse
import atexit
import os
import shutil
import signal
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from tqdm import tqdm

from core.errors import InputError, ModelFilesError
from core.termination import Termination

if TYPE_CHECKING:  # imported inside the commands, so `--help` and parse errors stay instant
    from app.coach import Coach

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 7860


class TqdmProgress:
    """A ``ProgressFn`` (fraction, description) drawn as a tqdm bar on stderr; each report is
    also where ``termination`` stops the run if the SIGTERM's first ``SystemExit`` was lost."""

    def __init__(self, termination: Termination) -> None:
        self.termination = termination
        self.bar = tqdm(total=100, unit="%", file=sys.stderr, leave=False,
                        bar_format="{desc:<40.40} {percentage:3.0f}%|{bar}| {elapsed}")  # fmt: skip

    def __call__(self, fraction: float, desc: str) -> None:
        self.termination.check()
        self.bar.set_description_str(desc, refresh=False)
        self.bar.update(max(0.0, round(100 * fraction, 1) - self.bar.n))

    def close(self) -> None:
        self.bar.close()


def _add_model_options(p: argparse.ArgumentParser, defaults: bool) -> None:
    # Sub-commands repeat these with SUPPRESS so `llamo-coach --model X ask ...` is not reset.
    d = (lambda v: v) if defaults else (lambda v: argparse.SUPPRESS)
    p.add_argument("--model", default=d(None), metavar="DIR",
                   help="trained LLaMo folder (default: the shipped model)")  # fmt: skip
    p.add_argument("--llm", default=d(None), metavar="PATH",
                   help="language model: HF folder or .gguf (default: bundled SmolLM2)")  # fmt: skip
    p.add_argument("--device", default=d(None), choices=("cpu", "cuda"),
                   help="cpu or cuda (default: cuda when present)")  # fmt: skip
    p.add_argument("--threads", type=_positive_int, default=d(None),
                   help="CPU threads for the model (default: one per core; try 1 on a busy machine)")  # fmt: skip
    p.add_argument("--no-facts", dest="facts", action="store_false", default=d(True),
                   help="do not give the model the measured facts; it answers from the motion alone")  # fmt: skip
    p.add_argument("--verbose", action="store_true", default=d(False),
                   help="show third-party log lines (MediaPipe, LiteRT, transformers)")  # fmt: skip


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


class _Parser(argparse.ArgumentParser):
    """Usage mistakes as one line (exit code 2), like every other CLI error."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"error: {message} (see `{self.prog} --help`)\n")


def build_parser() -> argparse.ArgumentParser:
    """The ``llamo-coach`` argument parser (no sub-command = open the web app)."""
    parser = _Parser(
        prog="llamo-coach",
        description="Local, private motion coaching: ask questions about a movement clip.",
    )
    _add_model_options(parser, defaults=True)
    parser.add_argument("--host", default=DEFAULT_HOST,
                        help="address to serve the app on (default 127.0.0.1: this computer only)")  # fmt: skip
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="port (default 7860)")
    sub = parser.add_subparsers(dest="command", metavar="{ui,ask,analyze}")
    ui = sub.add_parser("ui", help="open the web app (the default)")
    _add_model_options(ui, defaults=False)
    ui.add_argument("--host", default=argparse.SUPPRESS)
    ui.add_argument("--port", type=int, default=argparse.SUPPRESS)
    ask = sub.add_parser("ask", help="answer one question about a clip")
    ask.add_argument("clip", type=Path, help="video or motion file")
    ask.add_argument("question", help='e.g. "When is the top of the backswing?"')
    ask.add_argument("--max-new-tokens", type=_positive_int, default=128)
    ask.add_argument("--export", type=Path, metavar="REPORT",
                     help="also write a report (.md or .html, chosen by the extension)")  # fmt: skip
    analyze = sub.add_parser("analyze", help="print the key facts of a clip")
    analyze.add_argument("clip", type=Path, help="video or motion file")
    analyze.add_argument("--overlay", type=Path, metavar="OUT.mp4",
                         help="save the skeleton overlay video here")  # fmt: skip
    for p in (ask, analyze):
        _add_model_options(p, defaults=False)
        p.add_argument("--activity", default="auto",
                       help="golf_swing, baseball_swing, squat, ... (default: guess)")  # fmt: skip
    return parser


def _analyze(coach, args: argparse.Namespace, termination: Termination):  # -> app.coach.Session
    bar = TqdmProgress(termination)
    try:
        return coach.analyze(args.clip, progress=bar, activity=args.activity)
    finally:
        bar.close()


def _coach(args: argparse.Namespace) -> Coach:
    """The Coach the options ask for, loading its model only when first needed."""
    from app.coach import Coach

    return Coach.load(args.model, args.llm, args.device, lazy=True, threads=args.threads,
                      facts_in_prompt=args.facts)  # fmt: skip


REPORT_SUFFIXES = {".md": "md", ".markdown": "md", ".html": "html", ".htm": "html"}


def check_args(args: argparse.Namespace) -> None:
    """Every argument checked before any heavy work (decoding, pose, model loading)."""
    from app.coach import check_question, check_source

    _, kind = check_source(args.clip)
    if getattr(args, "question", None) is not None:
        check_question(args.question)
    if args.llm is not None:
        _check_llm_path(Path(args.llm))
    if args.device == "cuda":
        import torch

        if not torch.cuda.is_available():
            raise InputError(
                "--device cuda: no CUDA GPU is visible; leave --device out or use cpu."
            )
    export = getattr(args, "export", None)
    if export is not None:
        _check_output(export, "--export")
        if export.suffix.lower() not in REPORT_SUFFIXES:
            raise InputError(
                f"--export {export}: reports are written as .md or .html; choose one of "
                f"these extensions (got {export.suffix or 'none'!r})."
            )
    overlay = getattr(args, "overlay", None)
    if overlay is not None:
        _check_output(overlay, "--overlay")
        if kind != "video":
            raise InputError(
                f"--overlay: {args.clip.name} is a motion file, which has no video to draw the "
                "skeleton on; drop --overlay or analyse the video clip."
            )
        if overlay.suffix.lower() != ".mp4":
            raise InputError(f"--overlay {overlay}: the overlay is an H.264 video; name it *.mp4.")


def _check_output(path: Path, option: str) -> None:
    if path.is_dir():
        raise InputError(f"{option} {path} is a folder; give a file name inside it.")
    if not path.parent.is_dir():
        raise InputError(
            f"{option} {path}: the folder {path.parent} does not exist; create it first."
        )


def _check_llm_path(path: Path) -> None:
    if path.is_file() and path.suffix == ".gguf":
        return
    if not (path / "config.json").is_file():
        raise ModelFilesError(
            f"--llm {path}: not a .gguf file nor a Hugging Face model folder (with config.json); "
            "check the path, or leave --llm out to use the bundled SmolLM2."
        )
    if not any(path.glob("*.safetensors")):
        raise ModelFilesError(
            f"--llm {path}: no *.safetensors weights there; pickle weights (.bin/.pt) are "
            "never loaded because they can run code. Convert them to .safetensors where you "
            "trust them."
        )


def cmd_analyze(args: argparse.Namespace, termination: Termination) -> int:
    """Print the summary and facts; no language model is loaded."""
    check_args(args)
    coach = _coach(args)
    session = _analyze(coach, args, termination)
    try:
        print(session.summary())
        for fact in session.facts:
            print(f"  - {fact}")
        _print_warnings(session)
        if args.overlay and session.overlay_path:
            shutil.copyfile(session.overlay_path, args.overlay)
            print(f"overlay written to {args.overlay}")
    finally:
        session.close()
    return 0


def _print_warnings(session) -> None:
    for note in session.warnings:
        print(f"warning: {note}", file=sys.stderr)


def cmd_ask(args: argparse.Namespace, termination: Termination) -> int:
    """Stream the answer to stdout, then the analytics' line about each time the question
    names, then the viewpoint frames with their times."""
    check_args(args)
    coach = _coach(args)
    session = _analyze(coach, args, termination)
    try:
        _print_warnings(session)
        bar = TqdmProgress(termination)
        coach.ensure_model(bar)
        bar.close()
        print(f"model: {coach.model_label}", file=sys.stderr)
        if coach.warning:
            print(f"warning: {coach.warning}", file=sys.stderr)
        shown, answer = 0, None
        for answer in session.ask_stream(args.question, max_new_tokens=args.max_new_tokens):
            termination.check()
            print(answer.text[shown:], end="", flush=True)
            shown = len(answer.text)
        print()
        measured = session.measured(args.question)
        if measured:
            print("\nMeasured for what you named:")
            print("\n".join(f"  {line}" for line in measured))
        print("\nViewpoint frames (the moments the model looked at):")
        for m in session.moments(answer):
            print(f"  {m.label}")
        if args.export:
            fmt = REPORT_SUFFIXES[args.export.suffix.lower()]
            print(f"report written to {session.export(args.export, fmt=fmt)}")
    finally:
        session.close()
    return 0


def _private_temp_files() -> None:
    """Uploads in a folder of this run, deleted at exit; SIGTERM exits cleanly too.

    Must run before gradio is imported: it reads ``GRADIO_TEMP_DIR`` at import time.
    """
    if "GRADIO_TEMP_DIR" not in os.environ:
        uploads = tempfile.mkdtemp(prefix="llamo-uploads-")
        os.environ["GRADIO_TEMP_DIR"] = uploads
        atexit.register(shutil.rmtree, uploads, ignore_errors=True)


def cmd_ui(args: argparse.Namespace, termination: Termination) -> int:
    """Serve the web app on ``--host``:``--port`` (never a public share link)."""
    _private_temp_files()
    from app.ui import launch

    coach = _coach(args)
    print(f"model: {coach.model_label}")
    launch(coach, host=args.host, port=args.port, termination=termination)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``llamo-coach`` console script."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # never fetch weights at run time
    args = build_parser().parse_args(argv)
    from core import noise

    noise.set_verbose(bool(getattr(args, "verbose", False)))
    # The default SIGTERM kills without running finally/atexit (temp dirs would stay behind).
    termination = Termination()
    previous = termination.install()
    command = {"ask": cmd_ask, "analyze": cmd_analyze}.get(args.command, cmd_ui)
    try:
        return command(args, termination)
    except (InputError, ModelFilesError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    finally:
        signal.signal(signal.SIGTERM, previous)


if __name__ == "__main__":
    sys.exit(main())
