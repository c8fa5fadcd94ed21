"""A methodology as the ``FactorMethodology`` contract's constructor arguments, and back.

Pure conversion to the Python values web3 and eth-abi encode, in ABI order (no chain access here;
publishing lives elsewhere)::

    constructor(bytes32 methodologyId, uint32 version, bytes32 specHash,
                SourceSpec[] sources, FactorRow[] factors)
    SourceSpec(bytes32 source, bytes32 unit, uint8 scope, uint8 kind, bytes32 target,
               bytes32[] parameters, uint256 numerator, uint256 denominator)
    FactorRow(bytes32 key, bytes32 source, bytes32 parameter, uint64 validFrom, uint64 validUntil,
              uint256 value, uint8 decimals, bytes32 unit, string citation)
    Activity(bytes32 source, uint256 amount, bytes32 evidence)

Codes become Solidity's ``bytes32("...")`` (ASCII, right-padded with zeros); an emission source's
target is ``bytes32(0)``; the citation is ``publication | document | table | year``. A source's
description, a factor's published text and its citation's verification note and URL stay off
chain: the spec hash covers them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from .calculator import Activity, Emission, Result
from .codes import ZERO32, encode_code
from .model import FactorRow, Methodology, SourceSpec

__all__ = [
    "ACTIVITY_TYPE",
    "CONSTRUCTOR_TYPES",
    "FACTOR_ROW_TYPE",
    "RESULT_TYPE",
    "SOURCE_SPEC_TYPE",
    "ActivityTuple",
    "ConstructorArgs",
    "FactorRowTuple",
    "SourceSpecTuple",
    "activity_tuples",
    "constructor_args",
    "factor_row_tuple",
    "result_from_abi",
    "source_spec_tuple",
]

SOURCE_SPEC_TYPE = "(bytes32,bytes32,uint8,uint8,bytes32,bytes32[],uint256,uint256)"
FACTOR_ROW_TYPE = "(bytes32,bytes32,bytes32,uint64,uint64,uint256,uint8,bytes32,string)"
ACTIVITY_TYPE = "(bytes32,uint256,bytes32)"
RESULT_TYPE = "((uint8,uint256)[],uint256,uint256,uint256)"
#: The constructor's parameter types, for ``eth_abi.encode(CONSTRUCTOR_TYPES, args)``.
CONSTRUCTOR_TYPES = ("bytes32", "uint32", "bytes32", SOURCE_SPEC_TYPE + "[]",
                     FACTOR_ROW_TYPE + "[]")

SourceSpecTuple = tuple[bytes, bytes, int, int, bytes, list[bytes], int, int]
FactorRowTuple = tuple[bytes, bytes, bytes, int, int, int, int, bytes, str]
ActivityTuple = tuple[bytes, int, bytes]
ConstructorArgs = tuple[bytes, int, bytes, list[SourceSpecTuple], list[FactorRowTuple]]


def source_spec_tuple(spec: SourceSpec) -> SourceSpecTuple:
    """One ``SourceSpec`` struct."""
    return (
        encode_code(spec.source),
        encode_code(spec.unit),
        spec.scope,
        int(spec.kind),
        ZERO32 if spec.target is None else encode_code(spec.target),
        [encode_code(parameter) for parameter in spec.parameters],
        spec.numerator,
        spec.denominator,
    )


def factor_row_tuple(row: FactorRow) -> FactorRowTuple:
    """One ``FactorRow`` struct."""
    return (
        encode_code(row.key),
        encode_code(row.source),
        encode_code(row.parameter),
        row.valid_from,
        row.valid_until,
        row.value,
        row.decimals,
        encode_code(row.unit),
        row.citation.text(),
    )


def constructor_args(methodology: Methodology) -> ConstructorArgs:
    """``(methodologyId, version, specHash, sources, factors)`` in spec and table order."""
    return (
        encode_code(methodology.id),
        methodology.version,
        methodology.spec_hash,
        [source_spec_tuple(spec) for spec in methodology.sources],
        [factor_row_tuple(row) for row in methodology.factors],
    )


def activity_tuples(activities: Iterable[Activity]) -> list[ActivityTuple]:
    """The ``Activity[]`` argument of ``compute``."""
    return [(line.source_bytes, line.amount, line.evidence) for line in activities]


def result_from_abi(value: Sequence[object]) -> Result:
    """A :class:`Result` from the decoded ``compute`` return value
    ``((scope, grams)[], scope1, scope2, total)`` (a tuple or web3's named tuple)."""
    emissions, scope1, scope2, total = value
    if not isinstance(emissions, Sequence):
        raise TypeError("emissions must be a sequence of (scope, grams)")
    lines = []
    for entry in emissions:
        scope, grams = entry
        lines.append(Emission(_int(scope), _int(grams)))
    return Result(tuple(lines), _int(scope1), _int(scope2), _int(total))


def _int(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"expected an integer, got {type(value).__name__}")
    return value
