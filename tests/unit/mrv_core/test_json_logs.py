"""JSON-lines logs (:mod:`mrv_core.json_logs`): events and library records as JSON objects, and
the destinations refused (FIFOs, directories, missing directories) in one line."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import structlog

from mrv_cli.main import main
from mrv_core.errors import ConfigError
from mrv_core.json_logs import configure_logging


def test_logs_are_json_lines_with_time_level_and_fields(tmp_path: Path) -> None:
    log = tmp_path / "logs" / "edge.jsonl"
    log.parent.mkdir()
    logs = configure_logging(str(log))
    try:
        structlog.get_logger().warning("poll_failed", meter="a/b/c/d/e", error_class="timeout")
    finally:
        logs.close()
    (line,) = log.read_text().splitlines()
    event = json.loads(line)
    assert event["event"] == "poll_failed" and event["level"] == "warning"
    assert event["meter"] == "a/b/c/d/e" and event["error_class"] == "timeout"
    assert event["timestamp"].endswith("Z")


def test_library_log_records_become_json_lines_too(tmp_path: Path) -> None:
    # pymodbus logs through the standard library; its lines were free text in the node's JSON
    # log (hostile review, issue 9). `mrv simulate meters`, run in-process by other tests, sets
    # the "pymodbus" logger to ERROR for its process: undone for this test, whatever ran before.
    pymodbus = logging.getLogger("pymodbus")
    previous = pymodbus.level
    pymodbus.setLevel(logging.NOTSET)
    log = tmp_path / "edge.jsonl"
    logs = configure_logging(str(log))
    try:
        logging.getLogger("pymodbus.logging").warning("No response received after %d retries",
                                                      0)
        logging.getLogger("pymodbus.logging").debug("send: 0x0 0x1")  # below the level
    finally:
        logs.close()
        pymodbus.setLevel(previous)
    (line,) = log.read_text().splitlines()
    event = json.loads(line)
    assert event["event"] == "No response received after 0 retries"
    assert event["logger"] == "pymodbus.logging" and event["level"] == "warning"


@contextlib.contextmanager
def _released_after(path: Path, seconds: float) -> Iterator[None]:
    """Should the code under test block opening the FIFO at ``path`` for writing (the old
    behaviour), a reader opens it after ``seconds`` so the test fails instead of hanging."""
    readers: list[int] = []
    timer = threading.Timer(seconds, lambda: readers.append(
        os.open(path, os.O_RDONLY | os.O_NONBLOCK)))
    timer.start()
    try:
        yield
    finally:
        timer.cancel()
        timer.join()
        for fd in readers:
            os.close(fd)


@pytest.mark.parametrize("with_reader", [False, True])
def test_a_fifo_as_the_log_is_refused_at_once_in_one_line(tmp_path: Path,
                                                          with_reader: bool) -> None:
    pipe = tmp_path / "fifo"
    os.mkfifo(pipe)
    reader = os.open(pipe, os.O_RDONLY | os.O_NONBLOCK) if with_reader else None
    try:
        started = time.monotonic()
        with _released_after(pipe, 2.0), pytest.raises(ConfigError) as caught:
            configure_logging(str(pipe))
        assert time.monotonic() - started < 1.5
    finally:
        if reader is not None:
            os.close(reader)
    assert str(caught.value) == (f"observability.log {pipe}: expected a regular file (or '-' "
                                 f"for standard error), got a FIFO")


def test_a_directory_as_the_log_is_refused_naming_it(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"^--log .*: expected a regular file \(or '-' for "
                                          r"standard error\), got a directory$"):
        configure_logging(str(tmp_path), key="--log")


def test_a_log_in_a_missing_directory_is_refused_and_nothing_is_created(tmp_path: Path) -> None:
    log = tmp_path / "nonexistent" / "dir" / "x.log"
    with pytest.raises(ConfigError, match=r"^observability\.log .*x\.log: expected an existing "
                                          r"directory .*dir, got nothing there$"):
        configure_logging(str(log))
    assert list(tmp_path.iterdir()) == []


def test_relay_with_a_fifo_log_exits_2_in_one_line(tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    pipe = tmp_path / "fifo"
    os.mkfifo(pipe)
    with _released_after(pipe, 2.0):
        code = main(["relay", "--rpc", "http://127.0.0.1:1", "--db", str(tmp_path / "r.db"),
                     "--log", str(pipe)])
    err = capsys.readouterr().err
    assert code == 2 and err == (f"mrv: error: --log {pipe}: expected a regular file (or '-' "
                                 f"for standard error), got a FIFO\n")
