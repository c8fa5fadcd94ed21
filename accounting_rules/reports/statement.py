"""The attestation statement ``trustmrv-attestation/1``: a regulator's verdict on a report, its
reasons and comments. Only ``statementHash`` = keccak256 of the canonical bytes goes on chain
(``ReportRegistry.attestReport``); the statement itself is kept by the ledger and published with
the report.

```json
{"format": "trustmrv-attestation/1", "report": "0x<report hash>", "regulator": "0xEIP55",
 "verdict": "Accepted" | "Qualified" | "Rejected",
 "avr": "satisfactory" | "satisfactory with comments" | "not satisfactory",
 "reasons": ["CODE", ...], "comments": "text", "createdAt": "<Unix seconds>"}
```

The verdicts are the registry's (``IReportRegistry.Verdict``: Accepted 1, Rejected 2,
Qualified 3); ``avr`` is their fixed mapping (:data:`AVR`) to the kinds of verification opinion
of the EU Accreditation and Verification Regulation (Commission Implementing Regulation (EU)
2018/2067, Article 27(1)): a statement whose ``avr`` disagrees with its verdict is refused.
``reasons`` come from the closed list :data:`REASON_CODES` (docs/contracts.md), sorted and
unique; a Qualified or Rejected verdict gives at least one. Canonical form and strictness as for
report documents (:mod:`.document`).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, ClassVar, Final

from mrv_core.codec import UINT64_MAX
from mrv_core.errors import FormatError
from mrv_core.hashing import keccak256
from mrv_core.strict_json import loads_strict
from mrv_core.wire import field

from ..datafile import canonical_json
from ._codec import (
    ADDRESS,
    BYTES32,
    Kind,
    array,
    check_fields,
    decode_record,
    encode_record,
    text,
    uint,
)
from ._codec import enum as one_of

__all__ = [
    "AVR",
    "MAX_COMMENTS",
    "MAX_STATEMENT_BYTES",
    "REASON_CODES",
    "STATEMENT_FORMAT",
    "AttestationStatement",
    "Verdict",
    "decode_statement",
    "encode_statement",
    "loads_statement",
    "statement_bytes",
    "statement_hash",
]

STATEMENT_FORMAT: Final = "trustmrv-attestation/1"
MAX_COMMENTS: Final = 4_000
MAX_STATEMENT_BYTES: Final = 64 * 1024


class Verdict(enum.IntEnum):
    """``IReportRegistry.Verdict`` (``None`` = 0 is never given)."""

    ACCEPTED = 1
    REJECTED = 2
    QUALIFIED = 3

    @property
    def label(self) -> str:
        """The verdict as the statement writes it: ``Accepted``, ``Rejected``, ``Qualified``."""
        return self.name.capitalize()

    @classmethod
    def parse(cls, text: str) -> Verdict:
        """The verdict named ``text`` (any case: ``accepted``, ``Accepted``)."""
        try:
            return cls[text.upper()]
        except KeyError:
            raise FormatError("verdict", f"expected Accepted, Qualified or Rejected, got "
                                         f"{text!r:.40}") from None


#: Verdict -> kind of verification opinion of Implementing Regulation (EU) 2018/2067, Art. 27(1).
AVR: Final[Mapping[Verdict, str]] = MappingProxyType({
    Verdict.ACCEPTED: "satisfactory",
    Verdict.QUALIFIED: "satisfactory with comments",
    Verdict.REJECTED: "not satisfactory",
})

#: The closed list of reason codes -> what each says (docs/contracts.md lists the same).
REASON_CODES: Final[Mapping[str, str]] = MappingProxyType({
    "MATERIAL_MISSTATEMENT": "misstatements, alone or together, are material and were not "
                             "corrected",
    "NON_MATERIAL_MISSTATEMENT": "misstatements remain that are not material",
    "PLAN_NONCONFORMITY": "the monitoring does not conform to the monitoring plan",
    "RULES_NONCOMPLIANCE": "the monitoring does not comply with the methodology's rules",
    "DATA_GAP": "readings are missing; the report bridges gaps by the counter difference",
    "UNEXPLAINED_DECREASE": "a counter fell where neither a rollover nor a signed meter change "
                            "explains it",
    "METER_CHANGE": "a meter was replaced or reset during the period",
    "EVIDENCE_INSUFFICIENT": "the evidence of a manual activity does not support its amount",
    "EVIDENCE_UNAVAILABLE": "an evidence file was not available to the verifier",
    "METHODOLOGY_MISMATCH": "the methodology or version applied is not the one in force",
    "FIGURES_NOT_REPRODUCED": "the figures could not be reproduced from the signed readings",
    "SCOPE_LIMITATION": "the verifier could not obtain data needed for the opinion",
    "IMPROVEMENT_RECOMMENDED": "recommendations for improving the monitoring",
})


def _check_verdict(value: object, name: str) -> Verdict:
    if not isinstance(value, Verdict):
        raise FormatError(name, f"expected a Verdict, got {value!r:.40}")
    return value


def _decode_verdict(value: object, where: str) -> Verdict:
    if not isinstance(value, str) or value not in {v.label for v in Verdict}:
        raise FormatError(where, f"expected Accepted, Qualified or Rejected, got {value!r:.40}")
    return Verdict.parse(value)


_VERDICT = Kind(_check_verdict, lambda v: v.label, _decode_verdict)
_REASON = one_of(*REASON_CODES)
_AVR = one_of(*AVR.values())


@dataclass(frozen=True, slots=True)
class AttestationStatement:
    """A regulator's statement on the report with hash ``report``."""

    report: bytes
    regulator: bytes
    verdict: Verdict
    reasons: tuple[str, ...]
    comments: str
    created_at: int
    JSON: ClassVar[tuple[tuple[str, str, Kind], ...]] = (
        ("report", "report", BYTES32), ("regulator", "regulator", ADDRESS),
        ("verdict", "verdict", _VERDICT), ("avr", "avr", _AVR),
        ("reasons", "reasons", array(_REASON, len(REASON_CODES))),
        ("comments", "comments", text(MAX_COMMENTS, empty=True, lines=True)),
        ("createdAt", "created_at", uint(UINT64_MAX)))

    def __post_init__(self) -> None:
        check_fields(self)
        if list(self.reasons) != sorted(set(self.reasons)):
            raise FormatError("reasons", "reason codes are sorted and unique")
        if self.verdict is not Verdict.ACCEPTED and not self.reasons:
            raise FormatError("reasons", f"a {self.verdict.label} verdict gives at least one "
                                         f"reason")

    @property
    def avr(self) -> str:
        """The EU AVR kind of opinion of the verdict (:data:`AVR`)."""
        return AVR[self.verdict]


def encode_statement(statement: AttestationStatement) -> dict[str, Any]:
    """The JSON object of ``statement``."""
    return {"format": STATEMENT_FORMAT, **encode_record(statement)}


def decode_statement(obj: object) -> AttestationStatement:
    """The statement of a parsed JSON object, strictly; :class:`FormatError` at the JSON path of
    the first problem (an ``avr`` that is not the verdict's included)."""
    if not isinstance(obj, dict):
        raise FormatError("$", "expected a JSON object")
    if obj.get("format") != STATEMENT_FORMAT:
        raise FormatError("$.format", f"expected {STATEMENT_FORMAT!r}, got "
                                      f"{obj.get('format')!r:.60}")
    decoded = decode_record(_Decoded, obj, "$", extra=("format",))
    statement = field("$", lambda: decoded.statement)
    if obj["avr"] != statement.avr:
        raise FormatError("$.avr", f"a {statement.verdict.label} verdict is "
                                   f"{statement.avr!r}, not {obj['avr']!r}")
    return statement


@dataclass(frozen=True, slots=True)
class _Decoded:
    """The JSON fields of a statement as read (``avr`` is derived, so checked after)."""

    report: bytes
    regulator: bytes
    verdict: Verdict
    avr: str
    reasons: tuple[str, ...]
    comments: str
    created_at: int
    JSON: ClassVar[tuple[tuple[str, str, Kind], ...]] = AttestationStatement.JSON

    @property
    def statement(self) -> AttestationStatement:
        return AttestationStatement(self.report, self.regulator, self.verdict, self.reasons,
                                    self.comments, self.created_at)


def loads_statement(data: bytes) -> AttestationStatement:
    """The statement in ``data`` (UTF-8 JSON of at most 64 KiB, no duplicate keys)."""
    return decode_statement(loads_strict(data, max_bytes=MAX_STATEMENT_BYTES,
                                         max_string=MAX_COMMENTS))


def statement_bytes(statement: AttestationStatement) -> bytes:
    """The canonical (RFC 8785) bytes of ``statement``."""
    return canonical_json(encode_statement(statement))


def statement_hash(statement: AttestationStatement) -> bytes:
    """keccak256 of :func:`statement_bytes`: the ``statementHash`` given to ``attestReport``."""
    return keccak256(statement_bytes(statement))
