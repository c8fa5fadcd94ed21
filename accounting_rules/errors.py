"""Typed errors of the accounting package, all under :class:`mrv_core.errors.MethodologyError`.

Five groups, by the phase that fails:

- :class:`UnitError`: an amount cannot be converted exactly into a source's integer unit;
- :class:`DefinitionError`: a methodology breaks an invariant of the engine (the contract's
  constructor refuses the same tables; a few checks here are stricter and say so);
- :class:`DataFileError`: a data file in ``accounting_rules/data`` is malformed, or a stored
  integer disagrees with the published figure written beside it;
- :class:`CounterError`: the readings of a cumulative counter cannot be turned into energy as
  given (``accounting_rules.counters``);
- :class:`AccountingError`: ``compute`` failed. These map one to one onto the custom errors of the
  ``FactorMethodology`` contract (:data:`CONTRACT_ERROR`) and carry the same arguments under the
  same names (:meth:`AccountingError.contract_args`), so a differential test compares failures as
  values.

Every error is also a ``ValueError`` (bad input); an overflow is also an ``OverflowError``.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import ClassVar

from mrv_core.errors import MethodologyError

from .codes import encode_code, is_code, show_code

__all__ = [
    "CONSTRUCTOR_ERROR",
    "CONTRACT_ERROR",
    "PANIC_OVERFLOW",
    "AccountingError",
    "AccountingOverflow",
    "CounterError",
    "DataFileError",
    "DefinitionError",
    "DuplicateKey",
    "DuplicateOverride",
    "DuplicateSource",
    "EmptyPeriod",
    "InconsistentFactorUnits",
    "InconsistentReadings",
    "InexactAmount",
    "InvalidActivity",
    "InvalidEvidenceFile",
    "InvalidFactor",
    "InvalidMeterChange",
    "InvalidMethodology",
    "InvalidPeriod",
    "InvalidPeriodSpec",
    "InvalidSourceSpec",
    "InvalidSummary",
    "MalformedAmount",
    "MissingEvidence",
    "NegativeAmount",
    "NoFactorForPeriod",
    "OverlappingPeriods",
    "PublishedMismatch",
    "ReportError",
    "ReportRenderError",
    "UnexplainedDecrease",
    "UnitError",
    "UnitMismatch",
    "UnknownFactor",
    "UnknownMethodology",
    "UnknownParameter",
    "UnknownSource",
    "UnknownTarget",
    "UnknownUnit",
    "WrongActivityQuantity",
    "error_from_contract",
]

#: Solidity's panic code for checked arithmetic overflow or underflow.
PANIC_OVERFLOW = 0x11


# --- units ---------------------------------------------------------------------------------------


class UnitError(MethodologyError, ValueError):
    """An amount cannot be converted exactly into the integer unit ``unit``."""

    def __init__(self, quantity: object, unit: str, problem: str) -> None:
        self.quantity = quantity
        self.unit = unit
        self.problem = problem
        super().__init__(f"amount {quantity!r:.80} for unit {unit!r}: {problem}")


class MalformedAmount(UnitError):
    """Not a plain decimal number with an optional unit (exponents, NaN, separators, floats...)."""


class NegativeAmount(UnitError):
    """Activity amounts and factors are never negative."""


class UnknownUnit(UnitError):
    """The unit after the number is not one the engine knows."""


class UnitMismatch(UnitError):
    """The unit is known but measures something else (``kWh`` for a source in ``g``)."""


class InexactAmount(UnitError):
    """The amount does not land on an integer in the target unit, or exceeds ``uint256``."""


# --- methodology definitions ---------------------------------------------------------------------


class DefinitionError(MethodologyError, ValueError):
    """A methodology, source spec or factor row breaks an invariant of the engine.

    ``contract_error`` names the ``FactorMethodology`` constructor error for the same defect (its
    arguments are indices into the constructor's arrays; these errors name codes instead). Errors
    without one are checks stricter than the contract's.
    """

    contract_error: ClassVar[str | None] = None


class InvalidMethodology(DefinitionError):
    """The methodology's own fields (id, version, title, spec hash) are invalid."""


class InvalidSourceSpec(DefinitionError):
    """A source spec is malformed on its own (a few problems are stricter than the contract's:
    unknown unit names, a deduction in another unit or scope than its target)."""

    contract_error = "FactorMethodologyInvalidSourceSpec"

    def __init__(self, source: object, problem: str) -> None:
        self.source = source
        self.problem = problem
        super().__init__(f"source {source!r:.60}: {problem}")


class DuplicateSource(DefinitionError):
    """Two source specs share one code."""

    contract_error = "FactorMethodologyDuplicateSource"

    def __init__(self, source: str) -> None:
        self.source = source
        super().__init__(f"source {source!r} is declared twice")


class UnknownTarget(DefinitionError):
    """A deduction or override targets a code that is not an emission source, or an override
    replaces a parameter its target does not have."""

    contract_error = "FactorMethodologyUnknownTarget"

    def __init__(self, source: str, target: str,
                 problem: str = "is not an emission source") -> None:
        self.source = source
        self.target = target
        super().__init__(f"source {source!r} targets {target!r}, which {problem}")


class InvalidFactor(DefinitionError):
    """A factor row's own fields are invalid (key, value range, unit, citation). The contract
    checks only that the key is non-zero; the rest is stricter or is range-checked by the ABI."""

    contract_error = "FactorMethodologyZeroKey"

    def __init__(self, key: object, problem: str) -> None:
        self.key = key
        self.problem = problem
        super().__init__(f"factor {key!r:.60}: {problem}")


class EmptyPeriod(InvalidFactor):
    """A factor row's ``[validFrom, validUntil)`` is empty."""

    contract_error = "FactorMethodologyEmptyPeriod"

    def __init__(self, key: object, valid_from: int, valid_until: int) -> None:
        self.valid_from = valid_from
        self.valid_until = valid_until
        super().__init__(key, f"empty period [{valid_from}, {valid_until})")


class DuplicateKey(DefinitionError):
    """Two factor rows share one key."""

    contract_error = "FactorMethodologyDuplicateKey"

    def __init__(self, key: str) -> None:
        self.key = key
        super().__init__(f"factor key {key!r} is used twice")


class UnknownParameter(DefinitionError):
    """A factor row names a (source, parameter) that no emission source has."""

    contract_error = "FactorMethodologyUnknownParameter"

    def __init__(self, key: str, source: str, parameter: str) -> None:
        self.key = key
        self.source = source
        self.parameter = parameter
        super().__init__(f"factor {key!r}: no emission source {source!r} with parameter "
                         f"{parameter!r}")


class OverlappingPeriods(DefinitionError):
    """A row overlaps an earlier row (in table order) of the same (source, parameter)."""

    contract_error = "FactorMethodologyOverlappingPeriods"

    def __init__(self, key: str, other: str) -> None:
        self.key = key
        self.other = other
        super().__init__(f"factor {key!r} overlaps {other!r} of the same source and parameter")


class InconsistentFactorUnits(DefinitionError):
    """Rows of one (source, parameter), or an override of it, disagree on unit or decimals. The
    engine multiplies raw integers, so they must share one scale. Stricter than the contract."""

    def __init__(self, key: str, problem: str) -> None:
        self.key = key
        self.problem = problem
        super().__init__(f"{key!r}: {problem}")


# --- data files ----------------------------------------------------------------------------------


class DataFileError(MethodologyError, ValueError):
    """A methodology data file is malformed at ``where``
    (``cn.heat.purchased/v1.json $.factors[0]``)."""

    def __init__(self, where: str, problem: str) -> None:
        self.where = where
        self.problem = problem
        super().__init__(f"{where}: {problem}")


class PublishedMismatch(DataFileError):
    """A stored integer is not the published figure beside it, converted exactly (a typo)."""


class UnknownMethodology(MethodologyError, LookupError):
    """No data file for this methodology id (and version)."""

    def __init__(self, methodology_id: str, version: int | None) -> None:
        self.methodology_id = methodology_id
        self.version = version
        shown = methodology_id if version is None else f"{methodology_id} v{version}"
        super().__init__(f"no methodology {shown!r} in accounting_rules/data")


# --- counters ------------------------------------------------------------------------------------


class CounterError(MethodologyError, ValueError):
    """The readings of a cumulative counter, its meter changes or a period asked of them cannot
    be used as given (``accounting_rules.counters``)."""


class InconsistentReadings(CounterError):
    """Two readings share a seq with different values or times, timestamps go backwards in seq
    order, or a value lies outside ``[0, modulus)``."""


class InvalidMeterChange(CounterError):
    """A signed meter change does not fit the readings around it (its time lies outside the
    step its ``nextSeq`` falls in), or two changes contradict each other."""


class UnexplainedDecrease(CounterError):
    """A counter decreased where neither a plausible rollover nor a signed meter change explains
    it (raised only when the caller asks for strictness; otherwise it is reported)."""

    def __init__(self, from_seq: int, to_seq: int, from_value: int, to_value: int) -> None:
        self.from_seq, self.to_seq = from_seq, to_seq
        self.from_value, self.to_value = from_value, to_value
        super().__init__(f"counter fell from {from_value} (seq {from_seq}) to {to_value} "
                         f"(seq {to_seq}) with no plausible rollover and no signed meter change")


class InvalidPeriodSpec(MethodologyError, ValueError):
    """A calendar period cannot be formed: unknown IANA zone or granularity, instants out of
    range or reversed (``accounting_rules.periods``)."""


class InvalidSummary(MethodologyError, ValueError):
    """An emission summary cannot be formed from what was given: a quantity whose unit is not
    the source's, counter periods of different periods, a count beyond its field's type
    (``accounting_rules.summaries``)."""


# --- compute -------------------------------------------------------------------------------------


class InvalidActivity(MethodologyError, ValueError):
    """An input that the contract's ABI could not even encode (a negative amount, a 31-byte
    evidence hash, a period bound beyond ``uint64``). No contract error corresponds."""


class AccountingError(MethodologyError, ValueError):
    """``compute`` failed as the ``FactorMethodology`` contract's ``compute`` reverts.

    ``contract_error`` is the Solidity error name; :meth:`contract_args` the arguments by their
    Solidity names, with ``bytes32`` as 32 bytes and integers as ``int`` (what
    :class:`mrv_core.errors.ContractRevert` decodes).
    """

    contract_error: ClassVar[str]

    def contract_args(self) -> dict[str, object]:
        """The revert's arguments by name."""
        raise NotImplementedError


class InvalidPeriod(AccountingError):
    """``periodStart >= periodEnd``."""

    contract_error = "MethodologyInvalidPeriod"

    def __init__(self, period_start: int, period_end: int) -> None:
        self.period_start = period_start
        self.period_end = period_end
        super().__init__(f"empty or reversed period [{period_start}, {period_end})")

    def contract_args(self) -> dict[str, object]:
        return {"periodStart": self.period_start, "periodEnd": self.period_end}


def _raw(source: str | bytes) -> bytes:
    """A code as its 32 bytes (text that is no valid code: its UTF-8, cut or padded to 32)."""
    if isinstance(source, bytes):
        return source
    return encode_code(source) if is_code(source) else source.encode()[:32].ljust(32, b"\x00")


class UnknownSource(AccountingError):
    """The methodology has no source ``source`` (32 bytes)."""

    contract_error = "MethodologyUnknownSource"

    def __init__(self, source: str | bytes) -> None:
        self.source = _raw(source)
        super().__init__(f"unknown activity source {show_code(self.source)}")

    def contract_args(self) -> dict[str, object]:
        return {"source": self.source}


class NoFactorForPeriod(AccountingError):
    """No row of one of ``source``'s parameters covers the whole period, and no override."""

    contract_error = "MethodologyNoFactorForPeriod"

    def __init__(self, source: str | bytes, period_start: int, period_end: int) -> None:
        self.source = _raw(source)
        self.period_start = period_start
        self.period_end = period_end
        super().__init__(f"no factor of {show_code(self.source)} covers the whole period "
                         f"[{period_start}, {period_end})")

    def contract_args(self) -> dict[str, object]:
        return {"source": self.source, "periodStart": self.period_start,
                "periodEnd": self.period_end}


class UnknownFactor(AccountingError):
    """No factor row has the key ``key`` (the contract's ``factor(key)`` view)."""

    contract_error = "MethodologyUnknownFactor"

    def __init__(self, key: str | bytes) -> None:
        self.key = _raw(key)
        super().__init__(f"unknown factor key {show_code(self.key)}")

    def contract_args(self) -> dict[str, object]:
        return {"key": self.key}


class MissingEvidence(AccountingError):
    """The deduction or override line ``index`` has a zero evidence hash."""

    contract_error = "MethodologyMissingEvidence"

    def __init__(self, index: int) -> None:
        self.index = index
        super().__init__(f"activity {index} deducts or overrides without evidence (zero hash)")

    def contract_args(self) -> dict[str, object]:
        return {"index": self.index}


class DuplicateOverride(AccountingError):
    """A second line of the override source ``source`` in one computation."""

    contract_error = "MethodologyDuplicateOverride"

    def __init__(self, source: str | bytes) -> None:
        self.source = _raw(source)
        super().__init__(f"override {show_code(self.source)} given twice in one computation")

    def contract_args(self) -> dict[str, object]:
        return {"source": self.source}


class AccountingOverflow(AccountingError, OverflowError):
    """An intermediate value exceeded 2^256 - 1: the contract panics with code 0x11."""

    contract_error = "Panic(0x11)"

    def __init__(self, step: str) -> None:
        self.step = step
        super().__init__(f"arithmetic overflow (2^256 - 1 exceeded) at {step}")

    def contract_args(self) -> dict[str, object]:
        return {"code": PANIC_OVERFLOW}


#: ``FactorMethodology`` constructor error name -> the Python error for the same defect.
CONSTRUCTOR_ERROR: Mapping[str, type[DefinitionError]] = MappingProxyType({
    cls.contract_error: cls
    for cls in (InvalidSourceSpec, DuplicateSource, UnknownTarget, InvalidFactor, DuplicateKey,
                UnknownParameter, EmptyPeriod, OverlappingPeriods)
    if cls.contract_error is not None
})

#: Contract error name -> Python error class. ``Panic(0x11)`` is Solidity's checked-arithmetic
#: panic (``Panic(uint256 code)`` with code 0x11).
CONTRACT_ERROR: Mapping[str, type[AccountingError]] = MappingProxyType({
    cls.contract_error: cls
    for cls in (InvalidPeriod, UnknownSource, NoFactorForPeriod, UnknownFactor, MissingEvidence,
                DuplicateOverride, AccountingOverflow)
})


def error_from_contract(name: str, args: Mapping[str, object]) -> AccountingError | None:
    """The Python error equal to a decoded revert (``ContractRevert.error``, ``.args_by_name``),
    or ``None`` when the revert is not a compute error of the engine."""
    try:
        if name == "Panic":
            return AccountingOverflow("contract") if args["code"] == PANIC_OVERFLOW else None
        if name == InvalidPeriod.contract_error:
            return InvalidPeriod(_int(args["periodStart"]), _int(args["periodEnd"]))
        if name == UnknownSource.contract_error:
            return UnknownSource(_bytes(args["source"]))
        if name == NoFactorForPeriod.contract_error:
            return NoFactorForPeriod(_bytes(args["source"]), _int(args["periodStart"]),
                                     _int(args["periodEnd"]))
        if name == UnknownFactor.contract_error:
            return UnknownFactor(_bytes(args["key"]))
        if name == MissingEvidence.contract_error:
            return MissingEvidence(_int(args["index"]))
        if name == DuplicateOverride.contract_error:
            return DuplicateOverride(_bytes(args["source"]))
    except (KeyError, TypeError):
        return None
    return None


def _int(value: object) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError("expected an integer")
    return value


def _bytes(value: object) -> bytes:
    if not isinstance(value, bytes) or len(value) != 32:
        raise TypeError("expected 32 bytes")
    return value


# --- reports -------------------------------------------------------------------------------------


class ReportError(MethodologyError, ValueError):
    """A report document cannot be built from what was given (``accounting_rules.reports``): a
    meter outside the reported site, a quantity not in its source's unit, a period that the
    measured figures do not share, an evidence file of a kind a report does not take."""


class ReportRenderError(ReportError):
    """A report document cannot be rendered as given: its figures are not its methodology's
    or its render context does not belong to it (``accounting_rules.reports.render_view``), or
    the PDF engine failed or tried to fetch a resource (``accounting_rules.reports.render``)."""


class InvalidEvidenceFile(ReportError):
    """An evidence file's bytes start as a PDF, PNG or JPEG but are not one
    (``accounting_rules.reports.manual.check_evidence_file``): a truncated or corrupt image, an
    image past the pixel bound, a PDF without its trailer. ``media_type`` is what the first
    bytes say; the message names what was expected and what was found."""

    def __init__(self, media_type: str, expected: str, actual: str) -> None:
        self.media_type, self.expected, self.actual = media_type, expected, actual
        super().__init__(f"an evidence file that starts as {media_type} is not one: expected "
                         f"{expected}, got {actual}")


# --- source coverage and monitoring plans (issue 11) ---------------------------------------------


class SourceNotCovered(MethodologyError, LookupError):
    """No shipped, non-composite methodology declares the emission source as an emission without
    deductions, or several do (``accounting_rules.coverage``): the message names the source
    and the ids found."""

    def __init__(self, source: str, found: tuple[str, ...]) -> None:
        self.source, self.found = source, found
        shown = "none" if not found else ", ".join(found)
        super().__init__(f"emission source {source!r:.60}: expected exactly one shipped, "
                         f"non-composite methodology declaring it as an emission source without "
                         f"deductions, found {shown}")


class WrongActivityQuantity(MethodologyError, ValueError):
    """A metering point feeds an emission source from another quantity than the one the
    source's methodology takes as its activity (``accounting_rules.coverage.activity_quantity``):
    exported electricity for ``electricity.grid``, whose activity is electricity taken from the
    grid. ``expected`` is that quantity's code (empty when no meter register measures the
    activity), ``actual`` the one given."""

    def __init__(self, source: str, methodology_id: str, expected: str, actual: str) -> None:
        self.source, self.methodology_id = source, methodology_id
        self.expected, self.actual = expected, actual
        wanted = expected or "none: no meter register measures its activity"
        super().__init__(f"source {source} is fed by the quantity {methodology_id} takes as its "
                         f"activity: expected {wanted}, got {actual!r:.60}")


# --- report supersession (issue 11, review finding 5) --------------------------------------------


class SupersessionMismatch(ReportError):
    """A report's ``supersedes`` names a report on chain of another enterprise, site, period or
    methodology id (``accounting_rules.reports.onchain.submit_report``, before anything is
    sent): a correction replaces the report of the same scope. ``field`` is the Report field
    that differs; the message names both values."""

    def __init__(self, previous: str, field: str, expected: str, actual: str) -> None:
        self.previous, self.field = previous, field
        super().__init__(f"a correction supersedes the report of the same enterprise, site, "
                         f"period and methodology id: {previous} has {field} {expected}, this "
                         f"report has {actual}")

