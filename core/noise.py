"""Third-party log noise: MediaPipe/LiteRT C++ log lines and transformers/torch warnings.

They mean nothing to a user, so they are off by default; ``set_verbose(True)`` (the CLI's
``--verbose``) or ``LLAMO_VERBOSE=1`` brings them back. The setting lives in the environment
so pose worker processes follow it too.
"""

from __future__ import annotations

import logging
import os
import sys
import warnings
from collections.abc import Iterator
from contextlib import contextmanager

VERBOSE_ENV = "LLAMO_VERBOSE"
# Native loggers read these when their library loads (glog/absl, TensorFlow Lite).
_NATIVE_QUIET = {"GLOG_minloglevel": "2", "TF_CPP_MIN_LOG_LEVEL": "2"}


def verbose() -> bool:
    return os.environ.get(VERBOSE_ENV, "") not in ("", "0")


def apply() -> None:
    """Apply the current setting (default: quiet); the CLI and ``Coach.load`` call it."""
    set_verbose(verbose())


def set_verbose(on: bool) -> None:
    """Show (``on``) or hide third-party log noise from now on, here and in workers."""
    os.environ[VERBOSE_ENV] = "1" if on else "0"
    if on:
        return
    for key, value in _NATIVE_QUIET.items():
        os.environ.setdefault(key, value)
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("TRANSFORMERS_NO_ADVISORY_WARNINGS", "1")
    for module in ("transformers", "torch", "peft", "huggingface_hub", "accelerate"):
        warnings.filterwarnings("ignore", category=FutureWarning, module=module)
        warnings.filterwarnings("ignore", category=DeprecationWarning, module=module)
        warnings.filterwarnings("ignore", category=UserWarning, module=module)
        logging.getLogger(module).setLevel(logging.ERROR)


@contextmanager
def quiet_native_stderr() -> Iterator[None]:
    """Send file descriptor 2 to /dev/null meanwhile (C++ logs bypass ``sys.stderr``).

    Unless verbose. Keep it short in a process with other threads: their stderr is hidden too.
    """
    if verbose():
        yield
        return
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)
