"""``mrv edge init`` refuses, in one line and before making any file, the endpoints the node
or ``mrv edge status`` could not use later (issue 9, M3 and M4)."""

from __future__ import annotations

from pathlib import Path

import pytest

from mrv_cli.main import main


@pytest.mark.parametrize(("argv", "message"), [
    (["--uplink", "http://127.0.0.1:18700/a\nb"],
     "mrv: error: --uplink: U+000A (LINE FEED) is not allowed in the URL"),
    (["--uplink", "http://127.0.0.1:18700/a b"],
     "mrv: error: --uplink: U+0020 (SPACE) is not allowed in the URL"),
    (["--listen", "::1:19111"],
     "mrv: error: --listen: listen must be 'host:port' (IPv6 in brackets: '[::1]:9108')"),
    (["--listen", "[127.0.0.1]:9108"],
     "mrv: error: --listen: listen must be 'host:port' (IPv6 in brackets: '[::1]:9108')"),
])
def test_init_refuses_an_unusable_endpoint_in_one_line_making_nothing(
        argv: list[str], message: str, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    directory = tmp_path / "node"
    assert main(["edge", "init", str(directory), *argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith(message) and err.count("\n") == 1, err
    assert not directory.exists()
