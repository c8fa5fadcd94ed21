"""Fixtures for the interop tests: the real ``@openzeppelin/merkle-tree`` under Node.

The oracle script ``oz_merkle.mjs`` answers one JSON request per process, so a test sends a whole
group of cases at once. A missing ``node`` or library is a failure, not a skip: the README's test
command (``make test``) installs both, and an interop suite that silently skips proves nothing.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from factories import LEAF_ENCODING

REPO_ROOT = Path(__file__).resolve().parents[2]
SCRIPT = Path(__file__).with_name("oz_merkle.mjs")
PACKAGE_DIR = REPO_ROOT / "node_modules" / "@openzeppelin" / "merkle-tree"
NODE_TIMEOUT_S = 300

OzRunner = Callable[..., list[dict[str, Any]]]


def _pinned_version() -> str:
    """The version of the library that package.json pins (the one the tests must run)."""
    manifest = json.loads((REPO_ROOT / "package.json").read_text(encoding="utf-8"))
    version = manifest["devDependencies"]["@openzeppelin/merkle-tree"]
    assert isinstance(version, str)
    return version


@pytest.fixture(scope="session")
def oz_merkle() -> OzRunner:
    """Run a list of cases (see ``oz_merkle.mjs`` for their keys) through StandardMerkleTree with
    the Reading leaf encoding (or ``encoding``, a record's); returns one result per case."""
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is not on PATH; the interop tests need Node.js: run `make setup`",
                    pytrace=False)
    if not (PACKAGE_DIR / "package.json").is_file():
        pytest.fail(f"{PACKAGE_DIR.relative_to(REPO_ROOT)} is missing; run `make setup` "
                    "(npm ci installs the pinned @openzeppelin/merkle-tree)", pytrace=False)
    pinned = _pinned_version()

    def run(cases: list[dict[str, Any]],
            encoding: tuple[str, ...] = LEAF_ENCODING) -> list[dict[str, Any]]:
        request = json.dumps({"leafEncoding": list(encoding), "cases": cases})
        done = subprocess.run([node, str(SCRIPT)], input=request, capture_output=True,
                              text=True, timeout=NODE_TIMEOUT_S, check=False, cwd=REPO_ROOT)
        try:
            response = json.loads(done.stdout)
        except ValueError:
            response = None
        if done.returncode != 0 or not isinstance(response, dict) or "error" in response:
            detail = response.get("error") if isinstance(response, dict) else done.stdout[-2000:]
            hint = " (run `make setup`)" if done.returncode == 2 else ""
            pytest.fail(f"oz_merkle.mjs exited {done.returncode}{hint}: {detail}\n"
                        f"stderr: {done.stderr[-2000:]}", pytrace=False)
        library = response["library"]
        assert library["version"] == pinned, (
            f"node resolved @openzeppelin/merkle-tree {library['version']} at {library['path']}, "
            f"package.json pins {pinned}; run `make setup`"
        )
        results = response["cases"]
        assert isinstance(results, list) and len(results) == len(cases)
        return results

    return run
