"""Parameter overrides in a report: manual lines that replace a methodology's default parameter.

A report document marks a line ``measured`` or ``manual``, nothing more. A manual line whose
``source`` is an **override source** of the report's methodology (``SourceKind.OVERRIDE``, such
as ``fuel.natural_gas#OF``) is no activity: its ``amount`` is a parameter value in the unit of
the parameter's rows (``1e-4``, ``J/dm3``...), which the calculator uses instead of the default
row for every line of the target source (``accounting_rules.calculator``, step 2). The override
line emits 0 g itself; its effect is on the target's lines (``fuel.natural_gas#OF`` = 0 zeroes
every natural gas line). The methodology accepts any value with any non-zero evidence hash, so
whether the evidence supports it is for a reader to judge: :func:`parameter_overrides` finds
these lines, with the default each one replaces, so the rendered report and ``mrv bundle
verify`` can show them beside each other.
"""

from __future__ import annotations

from dataclasses import dataclass

from mrv_core.codec import format_hex

from ..model import FactorRow, Methodology, SourceKind
from ._humane import decimal_text, grouped
from .document import ManualLine, ReportDocument

__all__ = ["ParameterOverride", "parameter_overrides"]


@dataclass(frozen=True, slots=True)
class ParameterOverride:
    """One override line of a report: ``number`` is its 1-based position among the document's
    lines (as the rendered report numbers them); ``default`` is the methodology's row of
    (``target``, ``parameter``) that covers the whole period, or ``None`` when there is none
    (a fuel shipped without defaults)."""

    number: int
    line: ManualLine
    target: str
    parameter: str
    default: FactorRow | None

    @property
    def value_text(self) -> str:
        """The override value in the parameter's unit (an override is stored with 0 decimals,
        the unit of the rows it replaces: ``accounting_rules.model``)."""
        return f"{grouped(self.line.amount)} {self.line.unit}"

    @property
    def default_text(self) -> str:
        """The default value in its unit with its factor key, or that there is none."""
        row = self.default
        if row is None:
            return "none: no default row covers the period"
        return f"{decimal_text(row.value, row.decimals)} {row.unit} ({row.key})"

    def describe(self) -> str:
        """One line of text: parameter, default, value and evidence hash."""
        return (f"parameter override {self.line.source} (line {self.number}, manual id "
                f"{self.line.id}): {self.target} {self.parameter} = {self.value_text}, "
                f"methodology default {self.default_text}; evidence keccak256 "
                f"{format_hex(self.line.evidence)} ({_terminal_safe(self.line.evidence_name)})")


def _terminal_safe(text: str) -> str:
    """``text`` as it is when every character shows, else its escaped ``repr``: a name from a
    document made before the ledger refused format characters (or forged) must not reorder or
    hide what a terminal prints around it (``U+202E`` shows as ``\\u202e``)."""
    return text if text.isprintable() else ascii(text)


def parameter_overrides(doc: ReportDocument, methodology: Methodology
                        ) -> tuple[ParameterOverride, ...]:
    """The override lines of ``doc`` under ``methodology`` (the document's own version), in
    document order. A source the methodology does not know is skipped: the calculator refuses
    that document anyway."""
    found: list[ParameterOverride] = []
    for number, line in enumerate(doc.lines, 1):
        if not isinstance(line, ManualLine):
            continue
        spec = methodology.find_source(line.source)
        if spec is None or spec.kind is not SourceKind.OVERRIDE or spec.target is None:
            continue
        parameter = spec.parameters[0]
        default = next((row for row in methodology.rows(spec.target, parameter)
                        if row.covers(doc.period.start, doc.period.end)), None)
        found.append(ParameterOverride(number, line, spec.target, parameter, default))
    return tuple(found)
