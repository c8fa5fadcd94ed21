"""Logs as JSON lines, one object per event: the edge node, the relayer and the ledger API.

:func:`configure_logging` sends structlog events and the standard library's records (uvicorn,
pymodbus, SQLAlchemy) to one destination, a regular file or standard error, each as a JSON
object with an ISO 8601 UTC ``timestamp``, ``level``, ``event`` and the event's fields (keys
sorted). Nothing is configured at import time: each command sets it up when it starts and closes
it when it ends (:class:`LogSetup`).
"""

from __future__ import annotations

import errno
import logging
import os
import stat
import sys
from pathlib import Path
from typing import Any, TextIO

import structlog

from .errors import ConfigError
from .files import file_kind, require_parent_directory

__all__ = ["LogSetup", "configure_logging"]


class LogSetup:
    """What :func:`configure_logging` installed; :meth:`close` removes it again."""

    def __init__(self, stream: TextIO, handler: logging.Handler, owned: bool) -> None:
        self.stream = stream
        self._handler = handler
        self._owned = owned

    def close(self) -> None:
        """Detach the standard-library handler, reset structlog, close a log file."""
        logging.getLogger().removeHandler(self._handler)
        structlog.reset_defaults()
        if self._owned:
            self.stream.close()


def configure_logging(destination: str, *, level: int = logging.INFO,
                      key: str = "observability.log") -> LogSetup:
    """Send structlog events as JSON lines (ISO UTC ``timestamp``, ``level``, ``event`` and
    the event's fields) to ``destination``: a file path (appended) or ``-`` for standard
    error; library records (pymodbus, SQLAlchemy) at WARNING and above go the same way.
    Returns the setup, which the caller closes.

    Raises :class:`ConfigError` naming ``key`` (the configuration key or flag) when the path
    cannot be a log: its directory does not exist (none is created: a typo must not make a
    tree of directories), or what is there is not a regular file (a FIFO would block the
    node forever, a device or directory is no log)."""
    if destination == "-":
        stream: TextIO = sys.stderr
    else:
        stream = _open_log(Path(destination), key)
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    # Libraries log through the standard library (pymodbus, SQLAlchemy): their records are
    # rendered as the same JSON lines, with the logger's name, never as free text.
    handler = logging.StreamHandler(stream)
    handler.setFormatter(structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[*shared, structlog.stdlib.add_logger_name],
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                    structlog.processors.format_exc_info,
                    structlog.processors.JSONRenderer(sort_keys=True)]))
    root = logging.getLogger()
    root.addHandler(handler)
    handler.setLevel(logging.WARNING)
    root.setLevel(min(root.level or logging.WARNING, logging.WARNING))
    structlog.configure(
        processors=[
            *shared,
            structlog.processors.format_exc_info,
            structlog.processors.JSONRenderer(sort_keys=True),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.WriteLoggerFactory(file=stream),
        cache_logger_on_first_use=False,
    )
    return LogSetup(stream, handler, owned=destination != "-")


def _open_log(path: Path, key: str) -> TextIO:
    """``path`` opened for appending (created if absent), line-buffered; only a regular file.
    Opened non-blocking, so a FIFO (with or without a reader) is refused at once, then checked
    on the descriptor itself."""
    require_parent_directory(path, key)
    expected = f"{key} {path}: expected a regular file (or '-' for standard error)"
    try:  # a directory cannot even be opened for writing: say what it is
        before = os.stat(path).st_mode
    except OSError:
        before = None
    if before is not None and not stat.S_ISREG(before):
        raise ConfigError(f"{expected}, got {file_kind(before)}")
    try:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC
                     | os.O_NONBLOCK | os.O_NOCTTY, 0o666)
    except OSError as exc:
        if exc.errno == errno.ENXIO:  # a FIFO nobody reads
            raise ConfigError(f"{expected}, got a FIFO") from None
        raise ConfigError(f"{expected}; cannot open it: {exc.strerror}") from None
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        raise ConfigError(f"{expected}, got {file_kind(mode)}")
    os.set_blocking(fd, True)
    return open(fd, "a", encoding="utf-8", buffering=1)
