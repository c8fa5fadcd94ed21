"""Reading the small files mrv is given (documents, key, password and deployment files) safely.

Every such file must be a regular file: a FIFO or a device (``/dev/stdin``, a symbolic link to
``/dev/zero``) is refused before any byte is read, so nothing blocks on a pipe without a writer or
reads an endless device; and no more than ``limit`` + 1 bytes are ever read. A file mrv
writes must be in an existing directory (:func:`require_parent_directory`): none is created.
"""

from __future__ import annotations

import errno
import os
import stat
import tempfile
from pathlib import Path

from .errors import ConfigError, MrvError

__all__ = ["UnreadableFile", "file_kind", "read_regular_file", "replace_file",
           "require_parent_directory", "write_new_file"]


class UnreadableFile(MrvError):
    """``path`` cannot be read as a regular file of at most the allowed size. ``reason`` says
    why, without the path (``not a regular file (a FIFO)``, ``cannot read: Permission denied``,
    ``larger than 65536 bytes``), so callers can put the path where their message wants it."""

    def __init__(self, path: Path, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(f"{path}: {reason}")


_KINDS = ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO"),
          (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
          (stat.S_ISSOCK, "a socket"))


def file_kind(mode: int) -> str:
    """What a non-regular file is, from its ``st_mode`` (``a FIFO``, ``a character device``)."""
    return next((name for test, name in _KINDS if test(mode)), "not a regular file")


def read_regular_file(path: Path, limit: int, *, pipe_ok: bool = False) -> bytes:
    """The bytes of the regular file at ``path`` (symbolic links followed), at most ``limit``.

    With ``pipe_ok`` a pipe is read too (a password handed over by process substitution,
    ``--password-file <(pass show device)``): it is opened blocking and read up to ``limit`` + 1
    bytes or its end, so a named FIFO nobody writes to waits for a writer (Ctrl-C ends it).

    Raises :class:`UnreadableFile` when it does not exist or cannot be opened, is not a regular
    file (checked before opening and again on the open descriptor, which is opened non-blocking
    so a FIFO cannot block), or holds more than ``limit`` bytes."""
    try:
        before = os.stat(path)
        pipe = pipe_ok and stat.S_ISFIFO(before.st_mode)
        if not (stat.S_ISREG(before.st_mode) or pipe):
            raise UnreadableFile(path, f"not a regular file ({file_kind(before.st_mode)})")
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | (0 if pipe else os.O_NONBLOCK))
    except OSError as exc:
        raise UnreadableFile(path, f"cannot read: {exc.strerror}") from None
    with os.fdopen(fd, "rb") as handle:
        mode = os.fstat(fd).st_mode
        if not (stat.S_ISREG(mode) or (pipe and stat.S_ISFIFO(mode))):  # replaced meanwhile
            raise UnreadableFile(path, f"not a regular file ({file_kind(mode)})")
        try:
            data = handle.read(limit + 1)
        except OSError as exc:
            raise UnreadableFile(path, f"cannot read: {exc.strerror}") from None
    if len(data) > limit:
        raise UnreadableFile(path, f"larger than {limit} bytes")
    return data


def write_new_file(path: Path, data: bytes, mode: int = 0o600) -> None:
    """Create ``path`` (and its missing parent directories) holding ``data``, readable by its
    owner only by default, flushed to disk. Never overwrites: raises :class:`FileExistsError`
    when ``path`` exists (a symbolic link included, even a dangling one), and :class:`OSError`
    when it cannot be created."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC | os.O_NOFOLLOW, mode)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


def replace_file(path: Path, data: bytes, mode: int = 0o644) -> None:
    """Write ``data`` to ``path`` whole or not at all, replacing a regular file there: a new
    temporary file beside it (``tempfile.mkstemp``: created exclusively, so a symbolic link
    planted under a predictable name is never followed), flushed, then renamed over ``path``.
    A symbolic link at ``path`` itself is replaced, not followed.

    Raises :class:`UnreadableFile` when ``path`` exists and is neither a regular file nor a
    symbolic link (a device, a FIFO, a socket, a directory: renaming over it would replace
    ``/dev/null`` with a file), and :class:`OSError` when it cannot be written."""
    try:
        kind = os.lstat(path).st_mode
    except FileNotFoundError:
        kind = None
    if kind is not None and not (stat.S_ISREG(kind) or stat.S_ISLNK(kind)):
        raise UnreadableFile(path, f"not a regular file ({file_kind(kind)}): not replaced")
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def require_parent_directory(path: Path, flag: str) -> None:
    """Refuse an output file whose directory does not exist (a typo in a path must not create
    a tree of directories somewhere): :class:`ConfigError` naming ``flag``, the directory
    expected and what is there instead."""
    parent = path.parent
    try:
        mode = os.stat(parent).st_mode
    except OSError as exc:
        got = "nothing there" if exc.errno == errno.ENOENT else exc.strerror
        raise ConfigError(f"{flag} {path}: expected an existing directory {parent}, got "
                          f"{got}") from None
    if not stat.S_ISDIR(mode):
        kind = "a regular file" if stat.S_ISREG(mode) else file_kind(mode)
        raise ConfigError(f"{flag} {path}: expected an existing directory {parent}, got {kind}")
