"""Ctrl-C that is neither lost nor half-handled.

Python turns SIGINT into ``KeyboardInterrupt`` at the next step of the main thread. Two
places lose it. Between two statements that belong together (a temporary file and the name
that lets it be removed) the exception leaves the file behind: :func:`interrupts_held` defers
it to the end of such a block. And inside code whose exceptions Python only reports (a weakref
callback of the import machinery, a ``__del__``: "Exception ignored in ...") it is swallowed
and the run carries on to the end, as if nobody had pressed Ctrl-C: under
:func:`ctrl_c_remembered` the handler also remembers the signal, long loops and final commits
call :func:`raise_if_interrupted`, and the swallowed report is not printed.
"""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
from typing import Iterator

__all__ = ["ctrl_c_remembered", "handlers", "interruption_wins", "interrupts_held", "raise_if_interrupted"]

_SEEN = threading.Event()


def _remember(signum, frame):
    _SEEN.set()
    raise KeyboardInterrupt


def _quiet_about_ctrl_c(previous):
    def hook(unraisable):
        if not isinstance(unraisable.exc_value, KeyboardInterrupt):  # remembered: raised again later
            previous(unraisable)
    return hook


@contextlib.contextmanager
def handlers(wanted: dict) -> Iterator[bool]:
    """Install ``{signal: handler}`` for the block and restore the previous handlers after it.

    Only the main thread can install handlers; elsewhere nothing is installed. Yields
    whether the handlers were installed.
    """
    if threading.current_thread() is not threading.main_thread():
        yield False
        return
    previous = {}
    try:
        for signum, handler in wanted.items():
            previous[signum] = signal.signal(signum, handler)
        yield True
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


@contextlib.contextmanager
def ctrl_c_remembered() -> Iterator[None]:
    """Remember every Ctrl-C while the block runs (see the module's docstring).

    Only in the main thread and only when Ctrl-C has Python's default handler (a
    program started with SIGINT ignored keeps ignoring it). Forgets earlier ones.
    """
    _SEEN.clear()
    if signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
        yield
        return
    with handlers({signal.SIGINT: _remember}) as installed:
        hook = sys.unraisablehook
        if installed:
            sys.unraisablehook = _quiet_about_ctrl_c(hook)
        try:
            yield
        finally:
            sys.unraisablehook = hook


@contextlib.contextmanager
def interruption_wins() -> Iterator[None]:
    """Turn an error that follows a remembered Ctrl-C into the ``KeyboardInterrupt`` it was.

    A C extension being imported when Ctrl-C arrives reports the interruption as its own
    failure (pandas: "ImportError: pd_parser.c could not import module pandas"); the user
    pressed Ctrl-C and should hear that, not see a traceback.
    """
    try:
        yield
    except Exception as exc:
        if _SEEN.is_set():
            raise KeyboardInterrupt from exc
        raise


def raise_if_interrupted() -> None:
    """Raise ``KeyboardInterrupt`` if a remembered Ctrl-C was swallowed on its way."""
    if _SEEN.is_set():
        raise KeyboardInterrupt


@contextlib.contextmanager
def interrupts_held() -> Iterator[None]:
    """Hold Ctrl-C (and SIGTERM or SIGHUP while Python handles them) until the block ends.

    For the few statements that create a temporary file and store its name: a signal that
    arrives in between would otherwise raise before anyone knows the name, and the file
    would stay behind. A signal that arrives during the block is handled as usual (its
    exception raised) as soon as the block ends. Only the main thread can do this; elsewhere
    the block runs unprotected (signals are handled in the main thread anyway).
    """
    held: list[int] = []
    current = {}
    for name in ("SIGINT", "SIGTERM", "SIGHUP"):
        sig = getattr(signal, name, None)
        handler = signal.getsignal(sig) if sig is not None else None
        if callable(handler):  # a Python-level handler (KeyboardInterrupt, or one of ours): it can wait
            current[sig] = handler
    with handlers({sig: lambda signum, frame: held.append(signum) for sig in current}):
        yield
    for signum in held[:1]:
        current[signum](signum, None)  # raises what the signal would have raised
