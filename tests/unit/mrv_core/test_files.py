"""Every small file mrv reads is a regular file, read with a bound."""

from pathlib import Path

import pytest

from factories import fifo
from mrv_core.chain import Deployment
from mrv_core.errors import ConfigError
from mrv_core.files import UnreadableFile, read_regular_file


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
