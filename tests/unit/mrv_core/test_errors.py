"""Errors by phase: each decoding phase raises its own class, the format modules raise no bare
builtin for a check, and accounting_rules uses only mrv_core's public modules."""

from __future__ import annotations

import ast
from collections.abc import Callable
from pathlib import Path

import pytest
from threads_support import run_together

from mrv_core import (
    BatchHeader,
    DecodeError,
    Domain,
    FormatError,
    InvalidBatchHeader,
    InvalidDomain,
    InvalidInteger,
    InvalidReading,
)
from mrv_core.codec import parse_int
from mrv_core.errors import ContractRevert

ROOT = Path(__file__).resolve().parents[3]
GOOD_HEADER = {"device": b"\x01" * 20, "batch_seq": 0, "root": b"\x02" * 32, "leaf_count": 1,
               "from_timestamp": 5, "to_timestamp": 6}

CASES: list[tuple[str, Callable[[], object], type[DecodeError]]] = [
    ("chainId negative", lambda: Domain(-1, bytes(20)), InvalidDomain),
    ("chainId above uint256", lambda: Domain(2**256, bytes(20)), InvalidDomain),
    ("verifyingContract 19 bytes", lambda: Domain(1, bytes(19)), InvalidDomain),
    ("leafCount zero", lambda: BatchHeader(**{**GOOD_HEADER, "leaf_count": 0}),  # type: ignore[arg-type]
     InvalidBatchHeader),
    ("reversed span", lambda: BatchHeader(**{**GOOD_HEADER, "from_timestamp": 7}),  # type: ignore[arg-type]
     InvalidBatchHeader),
    ("root 31 bytes", lambda: BatchHeader(**{**GOOD_HEADER, "root": bytes(31)}),  # type: ignore[arg-type]
     InvalidBatchHeader),
    ("integer with a leading zero", lambda: parse_int("07", 0, 10), InvalidInteger),
    ("integer out of range", lambda: parse_int("11", 0, 10), InvalidInteger),
    ("integer as a JSON number", lambda: parse_int(5, 0, 10), InvalidInteger),
]


@pytest.mark.parametrize("name,make,error", CASES, ids=[c[0] for c in CASES])
def test_each_decoding_phase_raises_its_own_error(name: str, make: Callable[[], object],
                                                  error: type[DecodeError]) -> None:
    with pytest.raises(error) as excinfo:
        make()
    assert not isinstance(excinfo.value, InvalidReading), "a reading error for a non-reading"
    assert isinstance(excinfo.value, FormatError) and isinstance(excinfo.value, ValueError)
    assert excinfo.value.where and excinfo.value.problem  # names the field and what is wrong


def test_a_phase_error_inside_a_document_keeps_its_class_and_gets_the_json_path() -> None:
    """A bundle whose leafCount is out of range fails with InvalidBatchHeader (not a plain
    FormatError, not InvalidReading) at ``$.batch.leafCount``; a non-canonical integer there with
    InvalidInteger at the same path."""
    from factories import TEST_DOMAIN, sample_batch
    from mrv_core.bundle import ProofBundle, bundle_for_readings

    bundle = bundle_for_readings(sample_batch(4), TEST_DOMAIN, [1])
    for value, error in (("0", InvalidBatchHeader), ("01", InvalidInteger)):
        document = bundle.to_json()
        document["batch"]["leafCount"] = value
        with pytest.raises(error) as excinfo:
            ProofBundle.from_json(document)
        assert excinfo.value.where == "$.batch.leafCount", excinfo.value


def _modules(folder: Path) -> list[tuple[Path, ast.Module]]:
    return [(path, ast.parse(path.read_text(encoding="utf-8")))
            for path in sorted(folder.rglob("*.py"))]


def test_accounting_rules_imports_only_public_mrv_core_modules() -> None:
    private = []
    for path, tree in _modules(ROOT / "accounting_rules"):
        for node in ast.walk(tree):
            names = ([node.module or ""] if isinstance(node, ast.ImportFrom)
                     else [a.name for a in node.names] if isinstance(node, ast.Import) else [])
            private += [f"{path.name}: {n}" for n in names
                        if n.startswith("mrv_core") and any(p.startswith("_")
                                                            for p in n.split(".")[1:])]
    assert private == []


def test_the_format_modules_raise_no_bare_builtin_for_a_check() -> None:
    bare = []
    for path, tree in _modules(ROOT / "mrv_core"):
        if "chain" in path.parts:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call) and \
                    isinstance(node.exc.func, ast.Name) and \
                    node.exc.func.id in {"ValueError", "TypeError", "Exception", "KeyError"}:
                bare.append(f"{path.name}:{node.lineno}")
    assert bare == []


def test_threads_decoding_a_new_revert_at_once_all_get_its_one_subclass() -> None:
    """Reverts are decoded in several threads (the ledger API's threadpool, the relayer's
    request threads): the first decodings of one error name must share one subclass, or an
    ``except ContractRevert.named(...)`` misses the revert of the thread whose class lost."""
    for round_ in range(20):
        name = f"ThreadsProbe{round_}Reverted"  # never created before: the first use races
        got: list[type[ContractRevert]] = []

        def decode(name: str = name, got: list[type[ContractRevert]] = got) -> None:
            got.append(ContractRevert.named(name))

        run_together(*[decode] * 8)
        assert got == [ContractRevert.named(name)] * 8
        assert isinstance(ContractRevert.of(name, {}), got[0])
