"""Safe file I/O: atomic writes (never a partial file) and bounded reads (never a hang).

Writes: a reader sees the old file or the complete new one, never a part.
Every writer of popliteal (plots, exports, the cache, batch outputs) writes to
a temporary file with a unique name in the target's folder (so that the final
``os.replace`` stays on one file system and is atomic), flushes it to disk and
replaces the target. The temporary file is removed on every exit path: an
error, a full disk, ``KeyboardInterrupt``, ``SystemExit``, and SIGTERM or
SIGHUP (turned into ``SystemExit`` while the write runs).

Reads: :func:`read_regular` opens non-blocking, checks on the open descriptor
that the file is a regular file of bounded size, and only then reads it, so a
FIFO, folder or device in the place of a file is an error, never a hang.

>>> from popliteal.common.atomic import atomic_path
>>> with atomic_path("out.svg") as tmp:           # doctest: +SKIP
...     figure.savefig(tmp, format="svg")
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import tempfile
from pathlib import Path
from typing import IO, Iterator

from .interrupts import handlers, interrupts_held, raise_if_interrupted

__all__ = ["atomic_path", "atomic_open", "atomic_write_bytes", "check_target", "read_regular", "TargetError",
           "UnreadableFile"]


class UnreadableFile(ValueError):
    """A file to read is missing, unreadable, not a regular file or too large."""


class TargetError(ValueError):
    """The target of a write is not a path a file can be written to."""


def check_target(path: str | os.PathLike[str], what: str = "file") -> Path:
    """Refuse an empty path, one ending in a slash, a folder or a missing folder.

    Raises
    ------
    TargetError
        One line naming the path and the problem.
    """
    text = os.fspath(path)
    if not text.strip():
        raise TargetError(f"{what}: an empty file name")
    if "\0" in text:
        raise TargetError(f"{what}: a file name with a NUL character")
    if text.endswith(("/", os.sep)) or text.endswith(os.sep + ".") or text in (".", ".."):
        raise TargetError(f"{text}: names a folder, not a {what}")
    target = Path(text)
    if target.is_dir():
        raise TargetError(f"{text}: is a folder, not a {what}")
    parent = target.parent
    if not parent.is_dir():
        raise TargetError(f"{text}: folder {parent} does not exist")
    return target


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a unique temporary path next to ``path``; replace ``path`` by it on success.

    The temporary file exists (empty) when the block starts; whatever the
    block writes to it replaces ``path`` when the block ends without an
    exception. On any exception (including ``KeyboardInterrupt``) the
    temporary file is removed and ``path`` is left as it was. While the block
    runs in the main thread, SIGTERM and SIGHUP (when they have their default
    action) raise ``SystemExit(128 + signal)``, so they too remove the file.
    """
    target = Path(path)
    with _signals_as_exit():
        tmp = None
        try:
            with interrupts_held():  # the file and its name together: no signal between them
                fd, tmp = tempfile.mkstemp(dir=target.parent if str(target.parent) else ".",
                                           prefix=f".{target.name}.", suffix=".tmp")
                os.close(fd)
            os.chmod(tmp, _mode(target))
            yield Path(tmp)
            _fsync(tmp)
            raise_if_interrupted()  # a Ctrl-C that something swallowed still means: do not replace
            os.replace(tmp, target)
        except BaseException:
            if tmp is not None:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
            raise


@contextlib.contextmanager
def _signals_as_exit() -> Iterator[None]:
    """Turn SIGTERM and SIGHUP into ``SystemExit`` while the block runs (main thread, default action only)."""
    import signal

    wanted = {}
    for name in ("SIGTERM", "SIGHUP"):
        sig = getattr(signal, name, None)
        if sig is not None and signal.getsignal(sig) == signal.SIG_DFL:
            wanted[sig] = _exit_on_signal
    with handlers(wanted):
        yield


def _exit_on_signal(signum, frame):
    raise SystemExit(128 + signum)


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike[str], mode: str = "w", **kwargs) -> Iterator[IO]:
    """Open a unique temporary file next to ``path`` for writing; replace ``path`` on success."""
    if not any(m in mode for m in "wx"):
        raise ValueError(f"atomic_open writes only, got mode {mode!r}")
    with atomic_path(path) as tmp:
        with open(tmp, mode.replace("x", "w"), **kwargs) as handle:
            yield handle
            handle.flush()


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically."""
    with atomic_open(path, "wb") as handle:
        handle.write(data)
    return Path(path)


def _mode(target: Path) -> int:
    """The permissions of the replaced file, or those a plain ``open`` would give (mkstemp gives 0600)."""
    try:
        return stat.S_IMODE(os.stat(target).st_mode)
    except OSError:
        pass
    global _UMASK
    if _UMASK is None:
        _UMASK = os.umask(0o022)
        os.umask(_UMASK)
    return 0o666 & ~_UMASK


_UMASK: int | None = None


def _fsync(path: str) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    except OSError:  # file systems that cannot sync (some FUSE, /dev/shm): the replace is still atomic
        pass
    finally:
        os.close(fd)


def read_regular(path: str | os.PathLike[str], max_bytes: int = 2 * 2**20, what: str = "file") -> bytes:
    """The bytes of a regular file of at most ``max_bytes``; never blocks on a FIFO.

    The type is checked on the open descriptor (opened non-blocking), so a
    FIFO, folder or device swapped in after a check never blocks the reader.

    Raises
    ------
    UnreadableFile
        ``PATH: file: problem`` for a missing, unreadable, non-regular or too large file.
    """
    path = os.fspath(path)
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0))
    except OSError as exc:
        raise UnreadableFile(f"{path}: {what}: cannot read: {_reason(exc)}") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise UnreadableFile(f"{path}: {what}: not a regular file ({_kind(st.st_mode)})")
        if st.st_size > max_bytes:
            raise UnreadableFile(f"{path}: {what}: too large ({st.st_size} bytes; at most {max_bytes})")
        chunks, size = [], 0
        while True:
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                break
            size += len(chunk)
            if size > max_bytes:  # grew while being read
                raise UnreadableFile(f"{path}: {what}: too large (more than {max_bytes} bytes)")
            chunks.append(chunk)
        return b"".join(chunks)
    except OSError as exc:
        raise UnreadableFile(f"{path}: {what}: cannot read: {_reason(exc)}") from None
    finally:
        os.close(fd)


def _reason(exc: OSError) -> str:
    if exc.errno == errno.ELOOP:
        return "a symbolic link loop"
    if exc.errno == errno.ENOENT and exc.filename and os.path.islink(exc.filename):
        return "a dangling symbolic link"
    return exc.strerror or type(exc).__name__


def _kind(mode: int) -> str:
    for test, name in ((stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a FIFO"), (stat.S_ISSOCK, "a socket"),
                       (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device")):
        if test(mode):
            return name
    return "not a plain file"
