"""Every small file mrv reads is a regular file, read with a bound."""

from pathlib import Path

import pytest

from factories import fifo
from mrv_core.chain import Deployment
from mrv_core.errors import ConfigError
from mrv_core.files import UnreadableFile, read_regular_file, replace_file


def test_a_deployment_file_that_is_a_fifo_or_dev_zero_is_refused_without_reading(
        tmp_path: Path) -> None:
    with fifo(tmp_path / "pipe.json") as pipe, \
            pytest.raises(ConfigError, match=r"deployment file .*: not a regular file \(a FIFO\)"):
        Deployment.read(pipe)
    zero = tmp_path / "zero.json"
    zero.symlink_to("/dev/zero")  # the old code read it whole before its 64 KiB limit
    with pytest.raises(ConfigError, match=r"not a regular file \(a character device\)"):
        Deployment.read(zero)


def test_read_regular_file_reads_at_most_its_limit(tmp_path: Path) -> None:
    path = tmp_path / "f"
    path.write_bytes(b"x" * 10)
    assert read_regular_file(path, 10) == b"x" * 10
    with pytest.raises(UnreadableFile, match="larger than 9 bytes") as caught:
        read_regular_file(path, 9)
    assert caught.value.path == path and caught.value.reason == "larger than 9 bytes"
    with pytest.raises(UnreadableFile, match=r"not a regular file \(a directory\)"):
        read_regular_file(tmp_path, 9)
    with pytest.raises(UnreadableFile, match="cannot read: No such file or directory"):
        read_regular_file(tmp_path / "absent", 9)


def test_replace_file_replaces_a_symbolic_link_at_the_target_instead_of_following_it(
        tmp_path: Path) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_bytes(b"precious")
    target = tmp_path / "out.json"
    target.symlink_to(victim)
    (tmp_path / ".out.json.tmp").symlink_to(victim)  # the old predictable temporary name
    replace_file(target, b"new")
    assert victim.read_bytes() == b"precious"
    assert not target.is_symlink() and target.read_bytes() == b"new"
    assert sorted(p.name for p in tmp_path.iterdir()) == [".out.json.tmp", "out.json",
                                                          "victim.txt"]


def test_replace_file_refuses_a_fifo_and_a_directory_and_writes_nothing(tmp_path: Path) -> None:
    (tmp_path / "dir").mkdir()
    with fifo(tmp_path / "pipe") as pipe:
        for path, kind in ((pipe, "a FIFO"), (tmp_path / "dir", "a directory")):
            with pytest.raises(UnreadableFile, match=rf"not a regular file \({kind}\)"):
                replace_file(path, b"x")
        assert sorted(p.name for p in tmp_path.iterdir()) == ["dir", "pipe"]
