"""The report document ``trustmrv-report/1`` (docs/protocol.md section 12, spec of issue 11).

A report document says what an enterprise reports for one site (or the whole enterprise), one
closed period and one methodology version: the monitoring plan lines it used, one line per
measured meter (with the boundary readings and data-quality counts behind its amount) and per
manual activity (with the keccak256 of its evidence file), the grams of each line and the totals
as :func:`accounting_rules.calculator.compute` gives them, and the batches its evidence rests on.
The on-chain ``Report`` commits to it through ``document`` = :func:`document_hash`.

Encoding (``docs/protocol.md`` 1.3): every integer a canonical base-10 string, bytes lowercase
``0x`` hex, addresses EIP-55, so the document has no JSON numbers and its canonical form
(:func:`canonical_bytes`) is RFC 8785 (JCS): sorted keys, no spaces, UTF-8.

:func:`decode_report` is strict: exactly the fields below, canonical spellings only (so
``encode_report(decode_report(obj)) == obj``), bounded sizes (:data:`LIMITS`) and these
structural rules, raising :class:`mrv_core.errors.FormatError` at the JSON path of the first
problem:

- ``site.id`` is ``mrv_core.reading.site_id(site.path)``; a measured line's ``meter`` is
  ``meter_id(meterPath)``; ``period.start < period.end``;
- ``plan`` sorted by ``meterPath``, unique; ``lines``: measured lines first, sorted by
  ``(meterPath, device)`` and unique, then manual lines by ``id``, unique;
- ``batches.items`` sorted by ``(device, batchSeq)``, unique.

Whether the grams and totals are the methodology's figures, and ``batches.root`` the root of the
items, are checks against other data (:func:`scope_sums`, :func:`batches_root`): verifiers run
them as steps of their own and name them.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any, ClassVar, Final

from mrv_core.codec import UINT64_MAX, UINT256_MAX
from mrv_core.errors import FormatError
from mrv_core.hashing import keccak256
from mrv_core.merkle import MerkleTree
from mrv_core.reading import meter_id, site_id
from mrv_core.strict_json import loads_strict

from ..calculator import Activity
from ..codes import ZERO32
from ..datafile import canonical_json
from ._codec import (
    ADDRESS,
    BYTES32,
    CODE,
    METER_PATH,
    QUANTITY,
    RATE,
    Kind,
    array,
    check_fields,
    choice,
    decode_record,
    encode_record,
    enum,
    nested,
    optional,
    sint,
    text,
    uint,
)

__all__ = [
    "LIMITS",
    "MEDIA_TYPES",
    "REPORT_FORMAT",
    "BatchRef",
    "Batches",
    "ChainRef",
    "Line",
    "ManualLine",
    "MeasuredLine",
    "MethodologyRef",
    "PlanLine",
    "ReadingRef",
    "ReportDocument",
    "ReportLimits",
    "ReportPeriod",
    "SiteRef",
    "Totals",
    "activities",
    "batch_leaf",
    "batches_root",
    "canonical_bytes",
    "decode_report",
    "document_hash",
    "encode_report",
    "loads_report",
    "scope_sums",
]

REPORT_FORMAT: Final = "trustmrv-report/1"
#: Media types of evidence files (checked by their magic bytes where the files are stored).
MEDIA_TYPES: Final = ("application/pdf", "image/png", "image/jpeg")


@dataclass(frozen=True, slots=True)
class ReportLimits:
    """Bounds :func:`loads_report` and :func:`decode_report` enforce before any other work."""

    document_bytes: int = 16 * 1024 * 1024
    lines: int = 10_000
    plan: int = 10_000
    batches: int = 30_000
    description: int = 1_000
    evidence_name: int = 255
    label: int = 64
    zone: int = 64
    string: int = 1_000  # the longest string value anywhere (description)


LIMITS: Final = ReportLimits()
U64, U256 = uint(UINT64_MAX), uint(UINT256_MAX)


@dataclass(frozen=True, slots=True)
class SiteRef:
    """The site reported on: its path (``enterprise/site``) and id (keccak256 of the path)."""

    path: str
    id: bytes
    JSON: ClassVar[tuple[tuple[str, str, Kind], ...]] = (
        ("path", "path", text(256)), ("id", "id", BYTES32))

    def __post_init__(self) -> None:
        check_fields(self)
        try:
            expected = site_id(self.path)
        except ValueError as exc:
            raise FormatError("path", str(exc)) from None
        if self.id != expected:
            raise FormatError("id", f"expected site_id(path) 0x{expected.hex()}, "
                                    f"got 0x{self.id.hex()}")

    @classmethod
    def of(cls, path: str) -> SiteRef:
        """The reference of site ``path``."""
        return cls(path, site_id(path))


@dataclass(frozen=True, slots=True)
class ReportPeriod:
    """``[start, end)`` in Unix seconds, the IANA zone its calendar is read in and its label
    (``2026-10``)."""

    start: int
    end: int
    zone: str
    label: str
    JSON: ClassVar[tuple[tuple[str, str, Kind], ...]] = (
        ("start", "start", U64), ("end", "end", U64), ("zone", "zone", text(LIMITS.zone)),
        ("label", "label", text(LIMITS.label)))

    def __post_init__(self) -> None:
        check_fields(self)
        if self.start >= self.end:
            raise FormatError("end", f"period end {self.end} not after start {self.start}")


@dataclass(frozen=True, slots=True)
class MethodologyRef:
    """The methodology version applied: its id (a code), version and contract address."""

    id: str
    version: int
    address: bytes
    JSON: ClassVar[tuple[tuple[str, str, Kind], ...]] = (
        ("id", "id", CODE), ("version", "version", sint(1, 2**32 - 1)),
        ("address", "address", ADDRESS))

    def __post_init__(self) -> None:
        check_fields(self)


@dataclass(frozen=True, slots=True)
class ChainRef:
    """The chain and registries the report is submitted to and its batches anchored in."""

    chain_id: int
    report_registry: bytes
    anchor_registry: bytes
    methodology_registry: bytes
    JSON: ClassVar[tuple[tuple[str, str, Kind], ...]] = (
        ("chainId", "chain_id", U256), ("reportRegistry", "report_registry", ADDRESS),
        ("anchorRegistry", "anchor_registry", ADDRESS),
        ("methodologyRegistry", "methodology_registry", ADDRESS))

    def __post_init__(self) -> None:
        check_fields(self)


@dataclass(frozen=True, slots=True)
class PlanLine:
    """One monitoring-plan line the report used: meter path, emission source, cumulative
    quantity, counter modulus (``None``: never wraps) and maximum rate (quantity units per
    second, ``None``: none given)."""

    meter_path: str
    source: str
    quantity: str
    counter_modulus: int | None
    max_rate: Fraction | None
    JSON: ClassVar[tuple[tuple[str, str, Kind], ...]] = (
        ("meterPath", "meter_path", METER_PATH), ("source", "source", CODE),
        ("quantity", "quantity", QUANTITY),
        ("counterModulus", "counter_modulus", optional(uint(UINT256_MAX))),
        ("maxRate", "max_rate", optional(RATE)))

    def __post_init__(self) -> None:
        check_fields(self)
        if self.counter_modulus is not None and self.counter_modulus < 2:
            raise FormatError("counterModulus", f"a modulus is at least 2, got "
                                                f"{self.counter_modulus}")


@dataclass(frozen=True, slots=True)
class ReadingRef:
    """A boundary reading of a measured line: seq, timestamp and counter value."""

    seq: int
    timestamp: int
    value: int
    JSON: ClassVar[tuple[tuple[str, str, Kind], ...]] = (
        ("seq", "seq", U64), ("timestamp", "timestamp", U64),
        ("value", "value", sint(-(2**255), 2**255 - 1)))

    def __post_init__(self) -> None:
        check_fields(self)


@dataclass(frozen=True, slots=True)
class MeasuredLine:
    """The activity of one meter (one device) over the period, from its signed readings:
    ``amount`` in the source's integer ``unit``, its ``grams`` CO2e, the boundary readings
    (``None`` when there is none on that side) and the data-quality counts of
    ``accounting_rules.counters.PeriodEnergy``."""

    source: str
    scope: int
    unit: str
    amount: int
    grams: int
    meter_path: str
    meter: bytes
    device: bytes
    quantity: str
    start_reading: ReadingRef | None
    end_reading: ReadingRef | None
    readings: int
    gap_records: int
    bridged_steps: int
    bridged_seconds: int
    rollovers: int
    meter_changes: int
    unexplained_decreases: int
    KIND: ClassVar[str] = "measured"
    JSON: ClassVar[tuple[tuple[str, str, Kind], ...]] = (
        ("source", "source", CODE), ("scope", "scope", choice(1, 2)), ("unit", "unit", CODE),
        ("amount", "amount", U256), ("grams", "grams", U256),
        ("meterPath", "meter_path", METER_PATH), ("meter", "meter", BYTES32),
        ("device", "device", ADDRESS), ("quantity", "quantity", QUANTITY),
        ("startReading", "start_reading", optional(nested(ReadingRef))),
        ("endReading", "end_reading", optional(nested(ReadingRef))),
        ("readings", "readings", U64), ("gapRecords", "gap_records", U64),
        ("bridgedSteps", "bridged_steps", U64), ("bridgedSeconds", "bridged_seconds", U64),
        ("rollovers", "rollovers", U64), ("meterChanges", "meter_changes", U64),
        ("unexplainedDecreases", "unexplained_decreases", U64))

    def __post_init__(self) -> None:
        check_fields(self)
        if self.meter != meter_id(self.meter_path):
            raise FormatError("meter", f"expected meter_id(meterPath) "
                                       f"0x{meter_id(self.meter_path).hex()}")

    @property
    def evidence(self) -> bytes:
        """The calculator's evidence of a measured line: zero."""
        return ZERO32


@dataclass(frozen=True, slots=True)
class ManualLine:
    """An activity entered by hand (an invoice, a purchase ledger): ``id`` in the ledger,
    ``amount`` in the source's integer ``unit``, ``grams`` CO2e, ``evidence`` = keccak256 of the
    evidence file (its name and media type beside it), a description and when it was entered."""

    id: int
    source: str
    scope: int
    unit: str
    amount: int
    grams: int
    evidence: bytes
    evidence_name: str
    media_type: str
    description: str
    entered_at: int
    KIND: ClassVar[str] = "manual"
    JSON: ClassVar[tuple[tuple[str, str, Kind], ...]] = (
        ("id", "id", U64), ("source", "source", CODE), ("scope", "scope", choice(1, 2)),
        ("unit", "unit", CODE), ("amount", "amount", U256), ("grams", "grams", U256),
        ("evidence", "evidence", BYTES32),
        ("evidenceName", "evidence_name", text(LIMITS.evidence_name)),
        ("mediaType", "media_type", enum(*MEDIA_TYPES)),
        ("description", "description", text(LIMITS.description, empty=True, lines=True)),
        ("enteredAt", "entered_at", U64))

    def __post_init__(self) -> None:
        check_fields(self)
        if self.evidence == ZERO32:
            raise FormatError("evidence", "a manual line needs the hash of its evidence file")


#: A line of a report: measured or manual.
Line = MeasuredLine | ManualLine


def _check_line(value: object, name: str) -> Line:
    if not isinstance(value, MeasuredLine | ManualLine):
        raise FormatError(name, f"expected a MeasuredLine or ManualLine, got "
                                f"{type(value).__name__}")
    return value


def _encode_line(line: Line) -> dict[str, Any]:
    return {"kind": line.KIND, **encode_record(line)}


def _decode_line(obj: object, where: str) -> Line:
    kind = obj.get("kind") if isinstance(obj, dict) else None
    cls: type[Line] | None = {"measured": MeasuredLine, "manual": ManualLine}.get(
        kind if isinstance(kind, str) else "")
    if cls is None:
        raise FormatError(f"{where}.kind", f"expected \"measured\" or \"manual\", got {kind!r:.40}")
    return decode_record(cls, obj, where, extra=("kind",))


@dataclass(frozen=True, slots=True)
class Totals:
    """Grams CO2e by scope and in total, as the calculator sums the lines."""

    scope1: int
    scope2: int
    total: int
    JSON: ClassVar[tuple[tuple[str, str, Kind], ...]] = (
        ("scope1", "scope1", U256), ("scope2", "scope2", U256), ("total", "total", U256))

    def __post_init__(self) -> None:
        check_fields(self)


@dataclass(frozen=True, slots=True)
class BatchRef:
    """An anchored batch the report's evidence uses: device, batch sequence number, Merkle root."""

    device: bytes
    batch_seq: int
    root: bytes
    JSON: ClassVar[tuple[tuple[str, str, Kind], ...]] = (
        ("device", "device", ADDRESS), ("batchSeq", "batch_seq", U64), ("root", "root", BYTES32))

    def __post_init__(self) -> None:
        check_fields(self)


@dataclass(frozen=True, slots=True)
class Batches:
    """The batches (sorted by ``(device, batchSeq)``, unique) and the root committing to them."""

    root: bytes
    items: tuple[BatchRef, ...]
    JSON: ClassVar[tuple[tuple[str, str, Kind], ...]] = (
        ("root", "root", BYTES32), ("items", "items", array(nested(BatchRef), LIMITS.batches)))

    def __post_init__(self) -> None:
        check_fields(self)
        _strictly_sorted([(b.device, b.batch_seq) for b in self.items], "items",
                         "sorted by (device, batchSeq) and unique")

    @classmethod
    def of(cls, items: list[BatchRef] | tuple[BatchRef, ...]) -> Batches:
        """The batches of ``items`` (any order, duplicates dropped) with their root."""
        unique = tuple(sorted(set(items), key=lambda b: (b.device, b.batch_seq)))
        return cls(batches_root(unique), unique)


_LINE = Kind(_check_line, _encode_line, _decode_line)


@dataclass(frozen=True, slots=True)
class ReportDocument:
    """A parsed ``trustmrv-report/1`` document (field by field as in the module docstring)."""

    enterprise: bytes
    site: SiteRef | None
    period: ReportPeriod
    methodology: MethodologyRef
    chain: ChainRef
    plan: tuple[PlanLine, ...]
    lines: tuple[Line, ...]
    totals: Totals
    batches: Batches
    supersedes: bytes
    created_at: int
    JSON: ClassVar[tuple[tuple[str, str, Kind], ...]] = (
        ("enterprise", "enterprise", ADDRESS), ("site", "site", optional(nested(SiteRef))),
        ("period", "period", nested(ReportPeriod)),
        ("methodology", "methodology", nested(MethodologyRef)),
        ("chain", "chain", nested(ChainRef)),
        ("plan", "plan", array(nested(PlanLine), LIMITS.plan)),
        ("lines", "lines", array(_LINE, LIMITS.lines)),
        ("totals", "totals", nested(Totals)), ("batches", "batches", nested(Batches)),
        ("supersedes", "supersedes", BYTES32), ("createdAt", "created_at", U64))

    def __post_init__(self) -> None:
        check_fields(self)
        _strictly_sorted([p.meter_path for p in self.plan], "plan",
                         "sorted by meterPath and unique")
        measured = [line for line in self.lines if isinstance(line, MeasuredLine)]
        manual = [line for line in self.lines if isinstance(line, ManualLine)]
        if list(self.lines) != [*measured, *manual]:
            raise FormatError("lines", "measured lines come before manual lines")
        _strictly_sorted([(m.meter_path, m.device) for m in measured], "lines",
                         "measured lines sorted by (meterPath, device) and unique")
        _strictly_sorted([m.id for m in manual], "lines", "manual lines sorted by id and unique")

    @property
    def measured(self) -> tuple[MeasuredLine, ...]:
        """The measured lines, in document order."""
        return tuple(line for line in self.lines if isinstance(line, MeasuredLine))

    @property
    def manual(self) -> tuple[ManualLine, ...]:
        """The manual lines, in document order."""
        return tuple(line for line in self.lines if isinstance(line, ManualLine))


def _strictly_sorted(keys: list[Any], name: str, rule: str) -> None:
    for index in range(1, len(keys)):
        if not keys[index - 1] < keys[index]:
            raise FormatError(name, f"{rule}: item {index} is out of order or repeated")


# -- the document as JSON -------------------------------------------------------------------------


def encode_report(doc: ReportDocument) -> dict[str, Any]:
    """The JSON object of ``doc`` (every integer a string, no JSON numbers)."""
    return {"format": REPORT_FORMAT, **encode_record(doc)}


def decode_report(obj: object) -> ReportDocument:
    """The document of a parsed JSON object, strictly (module docstring); raises
    :class:`FormatError` at the JSON path of the first problem."""
    if not isinstance(obj, dict):
        raise FormatError("$", "expected a JSON object")
    if obj.get("format") != REPORT_FORMAT:
        raise FormatError("$.format", f"expected {REPORT_FORMAT!r}, got {obj.get('format')!r:.60}")
    return decode_record(ReportDocument, obj, "$", extra=("format",))


def loads_report(data: bytes) -> ReportDocument:
    """The document in ``data`` (UTF-8 JSON of at most ``LIMITS.document_bytes``, no duplicate
    keys, no numbers, strings of at most ``LIMITS.string`` characters): :func:`decode_report`."""
    return decode_report(loads_strict(data, max_bytes=LIMITS.document_bytes,
                                      max_string=LIMITS.string))


def canonical_bytes(doc: ReportDocument) -> bytes:
    """The canonical (RFC 8785) bytes of ``doc``: sorted keys, no spaces, UTF-8."""
    return canonical_json(encode_report(doc))


def document_hash(doc: ReportDocument) -> bytes:
    """keccak256 of :func:`canonical_bytes`: the on-chain Report's ``document`` field."""
    return keccak256(canonical_bytes(doc))


# -- figures derived from a document --------------------------------------------------------------


def activities(doc: ReportDocument) -> tuple[Activity, ...]:
    """The calculator input of ``doc``: its lines in order as ``Activity(source, amount,
    evidence)`` (evidence zero for measured lines)."""
    return tuple(Activity(line.source, line.amount, line.evidence) for line in doc.lines)


def scope_sums(lines: tuple[Line, ...]) -> Totals:
    """The totals the lines' own ``grams`` and ``scope`` add up to (the calculator's sums)."""
    scope1 = sum(line.grams for line in lines if line.scope == 1)
    scope2 = sum(line.grams for line in lines if line.scope == 2)
    return Totals(scope1, scope2, scope1 + scope2)


def batch_leaf(item: BatchRef) -> bytes:
    """``keccak256(keccak256(abi.encode(address device, uint64 batchSeq, bytes32 root)))``."""
    encoded = bytes(12) + item.device + item.batch_seq.to_bytes(32, "big") + item.root
    return keccak256(keccak256(encoded))


def batches_root(items: tuple[BatchRef, ...] | list[BatchRef]) -> bytes:
    """The root of ``mrv_core.merkle.MerkleTree`` (sorted leaves, OpenZeppelin
    StandardMerkleTree) over :func:`batch_leaf` of each item; 32 zero bytes for none."""
    if not items:
        return ZERO32
    return MerkleTree([batch_leaf(item) for item in items]).root
