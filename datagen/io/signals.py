"""Interruptions: SIGTERM is handled exactly like Ctrl-C, and neither may land in the middle of the
few renames that commit an output folder."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

EXIT_SIGINT = 130  # the shell's 128 + signal number
EXIT_SIGTERM = 143


class Terminated(KeyboardInterrupt):
    """SIGTERM arrived. A KeyboardInterrupt, so every `with` block and `finally` that cleans up after
    Ctrl-C cleans up after `kill` too."""


def _raise_terminated(signum: int, frame: FrameType | None) -> None:
    raise Terminated


def raise_on_sigterm() -> None:
    """From now on SIGTERM raises Terminated in the main thread (call once, at program start)."""
    signal.signal(signal.SIGTERM, _raise_terminated)


@contextmanager
def deferred_signals() -> Iterator[None]:
    """Hold Ctrl-C and SIGTERM for the duration of the block, then deliver them.

    Only the main thread can install handlers; elsewhere (a TUI worker) the block runs as is."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    pending: list[int] = []

    def hold(signum: int, frame: FrameType | None) -> None:
        pending.append(signum)

    previous = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    for s in previous:
        signal.signal(s, hold)
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler if handler is not None else signal.SIG_DFL)
        for signum in dict.fromkeys(pending):
            signal.raise_signal(signum)
