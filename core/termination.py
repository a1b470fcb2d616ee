"""SIGTERM as a ``SystemExit`` that is not lost.

Python runs a signal handler in the main thread between bytecodes, and that can be inside code
whose exceptions it ignores: an at-fork hook (``logging``'s runs while imageio-ffmpeg starts
ffmpeg with a ``preexec_fn``), a ``__del__``, a weakref callback. A ``SystemExit`` raised
there is printed as "Exception ignored" (or nowhere) and the program goes on working. Traced
in session 29: a pose worker went on estimating until it was killed, and the CLI once finished
its analysis after a SIGTERM.
"""

from __future__ import annotations

import signal
from collections.abc import Callable

SignalHandler = Callable[[int, object], object] | int | None


class Termination:
    """``install()`` as the SIGTERM handler: it raises ``SystemExit(128 + signum)`` at once,
    and ``check()``, called where stopping is safe, raises it again if that one was lost."""

    def __init__(self) -> None:
        self.signum = 0

    def handle(self, signum: int, frame: object) -> None:
        self.signum = signum
        raise SystemExit(128 + signum)

    def check(self) -> None:
        if self.signum:
            raise SystemExit(128 + self.signum)

    def install(self) -> SignalHandler:
        """Make this the SIGTERM handler (main thread only); returns the previous one."""
        return signal.signal(signal.SIGTERM, self.handle)
