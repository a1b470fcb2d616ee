"""SIGTERM as a SystemExit that a callback which ignores exceptions cannot lose."""

from __future__ import annotations

import signal
from collections.abc import Iterator

import pytest

from core.termination import Termination


class SignalInDel:
    """Raises SIGTERM inside ``__del__``, where Python ignores the handler's exception (like
    the at-fork hook that lost a pose worker's stop)."""

    def __del__(self) -> None:
        signal.raise_signal(signal.SIGTERM)
        for _ in range(3):  # bytecodes for the handler to run at, still inside __del__
            pass


@pytest.fixture
def termination() -> Iterator[Termination]:
    term = Termination()
    previous = term.install()
    yield term
    signal.signal(signal.SIGTERM, previous)


def test_sigterm_raises_system_exit_at_once(termination: Termination) -> None:
    with pytest.raises(SystemExit) as stop:
        signal.raise_signal(signal.SIGTERM)
        for _ in range(3):
            pass
    assert stop.value.code == 128 + signal.SIGTERM


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")  # the lost one
def test_a_lost_sigterm_stops_at_the_next_check(termination: Termination) -> None:
    termination.check()  # no signal yet: nothing happens
    SignalInDel()  # collected at once; its SystemExit is printed as ignored, not raised
    with pytest.raises(SystemExit) as stop:
        termination.check()
    assert stop.value.code == 128 + signal.SIGTERM
