"""The demo's process group (``mrv_cli.demo.processes``) with real processes (``sh``, ``sleep``):
every child and grandchild is gone after ``stop_all``, a child that dies is named by ``check``,
an interrupt stops the group at once and makes ``check`` raise; and the launcher
(``mrv_cli.demo.launch``) runs ``mrv`` only once its go file exists."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mrv_cli.demo import launch
from mrv_cli.demo import processes as processes_module
from mrv_cli.demo.processes import ChildExited, ChildNotReady, ChildProcesses


def alive(group: int) -> bool:
    try:
        os.killpg(group, 0)
    except ProcessLookupError:
        return False
    return True


def test_stop_all_leaves_no_child_and_no_grandchild(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(processes_module, "STOP_GRACE_S", 1.0)
    with ChildProcesses(tmp_path / "logs") as processes:
        # A parent that ignores SIGTERM, with a grandchild that outlives it.
        processes.start("stubborn", ["sh", "-c", "trap '' TERM; sleep 60 & sleep 60"])
        processes.start("plain", ["sleep", "60"])
        group = processes.group
        assert group is not None and alive(group)
        started = time.monotonic()
    assert not alive(group)  # the SIGKILL after the grace period took the grandchild too
    assert time.monotonic() - started < 10
    assert all(c.process.returncode is not None for c in processes.children)


def test_a_child_that_died_is_named_by_check(tmp_path: Path) -> None:
    with ChildProcesses(tmp_path / "logs") as processes:
        processes.start("server", ["sleep", "60"])
        processes.start("crasher", ["sh", "-c", "echo out of memory >&2; exit 3"])
        processes.children[1].process.wait()
        with pytest.raises(ChildExited, match=r"crasher .*status 3.*out of memory"):
            processes.check()


def test_an_interrupt_stops_the_group_at_once_and_check_raises_it(tmp_path: Path) -> None:
    with ChildProcesses(tmp_path / "logs") as processes:
        child = processes.start("server", ["sleep", "60"])
        processes.interrupt("stopped by SIGINT")
        assert child.process.wait(timeout=10) != 0
        with pytest.raises(KeyboardInterrupt, match="SIGINT"):
            processes.check()


def test_first_lines_of_a_child_that_exits_silently_is_not_ready(tmp_path: Path) -> None:
    with ChildProcesses(tmp_path / "logs") as processes:
        quiet = processes.start("quiet", ["sh", "-c", "echo one; exit 1"], stdout_pipe=True)
        with pytest.raises(ChildNotReady, match="quiet exited 1"):
            processes.first_lines(quiet, 2, timeout=10)


def test_the_launcher_runs_mrv_only_once_its_go_file_exists(tmp_path: Path) -> None:
    go = tmp_path / "go"
    child = subprocess.Popen([sys.executable, "-m", "mrv_cli.demo.launch", str(go),
                              "accounting", "list"], stdout=subprocess.PIPE, text=True)
    try:
        time.sleep(1.0)
        assert child.poll() is None  # imported, waiting
        go.touch()
        out, _ = child.communicate(timeout=60)
    finally:
        child.kill()
    assert child.returncode == 0 and "cn.machinery" in out


def test_the_launcher_gives_up_when_the_go_file_never_appears(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(launch, "WAIT_S", 0.1)
    assert launch.launch([str(tmp_path / "never"), "accounting", "list"]) == 2
    assert "did not appear" in capsys.readouterr().err
    assert launch.launch([]) == 2
