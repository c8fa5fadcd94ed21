"""The monitoring plan (EU MRR term; spec11 section 1): per enterprise, the metering points that
feed activity data, each a :class:`PlanPoint`.

A line names a meter path (ISA-95, five levels: ``mrv_core.reading.validate_meter_path``), the
emission ``source`` it feeds (a code some shipped methodology covers:
:func:`accounting_rules.coverage.source_unit`, the edge node's mapping rule), the CUMULATIVE
``quantity`` its energy is read from, which must be the quantity the source's methodology takes
as its activity (:func:`accounting_rules.coverage.check_activity_quantity`:
``energy.active.import:Wh`` for ``electricity.grid``, purchased electricity, never the export
register), and the counter's rollover rule: ``counterModulus`` (a decimal string,
or null: the counter never wraps) and ``maxRate`` (``"num/den"`` quantity units per second, or
null: 0, no decrease is a rollover), which are ``accounting_rules.counters.RolloverRule``.

**Whose paths.** A meter path's first level names the enterprise (``demo-co``), but the
enterprise is an address: the two cannot be compared. The rule chosen here: every line of one
enterprise's plan has the same first level, and no other enterprise's plan uses that first
level (409 otherwise), so a first level belongs to one enterprise in this ledger. Recompute
reads only readings signed by devices of the plan's enterprise (``device_streams.enterprise``,
from the DeviceRegistry), so another enterprise's device cannot feed a plan whatever path it
signs.

A plan is replaced whole (:func:`replace_plan`), by an ``enterprise_admin`` (``PUT /v1/plan``)
or an operator (``mrv api plan set``), with who and when. Errors: :class:`PlanRefused`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from fractions import Fraction

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from accounting_rules.counters import RolloverRule
from accounting_rules.coverage import check_activity_quantity, source_unit
from accounting_rules.errors import SourceNotCovered, WrongActivityQuantity
from mrv_core.codec import INT256_MAX, format_address
from mrv_core.errors import InvalidMeterPath
from mrv_core.quantities import QUANTITIES, QuantityKind
from mrv_core.reading import validate_meter_path, validate_site_path

from ..db.models import PlanPointRow, as_utc
from ..errors import PlanRefused
from ..queries import under_path

__all__ = ["MAX_PLAN_POINTS", "PlanPoint", "StoredPlan", "check_plan", "encode_point",
           "format_rate", "load_plan", "replace_plan", "stored_plan"]

#: The most lines one plan holds (a large site has a few thousand metering points).
MAX_PLAN_POINTS = 10_000
_UINT = re.compile(r"(0|[1-9][0-9]{0,76})\Z")
_RATE = re.compile(r"(0|[1-9][0-9]{0,76})/([1-9][0-9]{0,76})\Z")


@dataclass(frozen=True, slots=True)
class PlanPoint:
    """One monitoring plan line: ``meter_path``, emission ``source``, cumulative ``quantity``,
    ``counter_modulus`` (``None``: never wraps) and ``max_rate`` (units per second; ``None``:
    0)."""

    meter_path: str
    source: str
    quantity: str
    counter_modulus: int | None
    max_rate: Fraction | None

    def rule(self) -> RolloverRule:
        """The counter's rollover rule (``accounting_rules.counters``)."""
        return RolloverRule(self.counter_modulus,
                            self.max_rate if self.max_rate is not None else 0)


@dataclass(frozen=True)
class StoredPlan:
    """An enterprise's plan as stored: its lines by meter path, when and by whom it was last
    set (``None`` for an enterprise without a plan)."""

    points: tuple[PlanPoint, ...]
    updated_at: datetime | None
    updated_by: str | None


def format_rate(rate: Fraction) -> str:
    """``"num/den"`` of a rate, in lowest terms (``Fraction(1193046)`` is ``"1193046/1"``)."""
    return f"{rate.numerator}/{rate.denominator}"


def encode_point(point: PlanPoint) -> dict[str, str | None]:
    """A line in the JSON form of ``PUT /v1/plan`` (integers as decimal strings)."""
    return {"meterPath": point.meter_path, "source": point.source, "quantity": point.quantity,
            "counterModulus": None if point.counter_modulus is None
            else str(point.counter_modulus),
            "maxRate": None if point.max_rate is None else format_rate(point.max_rate)}


def _point(index: int, line: dict[str, str | None]) -> PlanPoint:
    """One line checked (module docstring); raises :class:`PlanRefused` naming its field."""
    def refuse(field: str, detail: str) -> PlanRefused:
        return PlanRefused(422, "plan", f"points[{index}].{field}: {detail}",
                           path=f"$.points[{index}].{field}")

    path, source, quantity = line.get("meterPath"), line.get("source"), line.get("quantity")
    try:
        validate_meter_path(path)
    except InvalidMeterPath as exc:
        raise refuse("meterPath", str(exc)) from None
    assert isinstance(path, str)
    dots = next((level for level in path.split("/") if level in (".", "..")), None)
    if dots is not None:
        raise refuse("meterPath", f"{path!r:.90} has a level {dots!r}, which reads like a file "
                                  "path (this or the parent directory): a level is a name")
    if not isinstance(source, str):
        raise refuse("source", "expected an emission source code")
    try:
        unit = source_unit(source)
    except SourceNotCovered as exc:
        raise refuse("source", str(exc)) from None
    known = QUANTITIES.get(quantity) if isinstance(quantity, str) else None
    if known is None or known.kind is not QuantityKind.CUMULATIVE:
        raise refuse("quantity", f"expected a cumulative quantity code in {unit}, got "
                                 f"{quantity!r:.60}")
    try:
        check_activity_quantity(source, known.code)
    except WrongActivityQuantity as exc:
        raise refuse("quantity", str(exc)) from None
    modulus_text, rate_text = line.get("counterModulus"), line.get("maxRate")
    modulus = None
    if modulus_text is not None:
        if _UINT.match(modulus_text) is None or not 2 <= int(modulus_text) <= INT256_MAX:
            raise refuse("counterModulus", f"expected a decimal integer in [2, 2**255 - 1] or "
                                           f"null, got {modulus_text!r:.90}")
        modulus = int(modulus_text)
    rate = None
    if rate_text is not None:
        match = _RATE.match(rate_text)
        if match is None or max(int(match[1]), int(match[2])) > INT256_MAX:
            raise refuse("maxRate", f"expected \"num/den\" (decimal integers, den >= 1) or "
                                    f"null, got {rate_text!r:.90}")
        rate = Fraction(int(match[1]), int(match[2]))
    return PlanPoint(path, source, known.code, modulus, rate)


def check_plan(lines: Sequence[dict[str, str | None]]) -> list[PlanPoint]:
    """The plan's lines checked (module docstring): each line, then at most
    :data:`MAX_PLAN_POINTS` lines, no meter path twice, one first level. Raises
    :class:`PlanRefused` (422) naming the line."""
    if len(lines) > MAX_PLAN_POINTS:
        raise PlanRefused(422, "plan", f"a plan holds at most {MAX_PLAN_POINTS} points, got "
                                       f"{len(lines)}", path="$.points")
    points = [_point(i, line) for i, line in enumerate(lines)]
    seen: dict[str, int] = {}
    for i, point in enumerate(points):
        if point.meter_path in seen:
            raise PlanRefused(422, "plan", f"points[{i}].meterPath: {point.meter_path} is "
                                           f"already points[{seen[point.meter_path]}]",
                              path=f"$.points[{i}].meterPath")
        seen[point.meter_path] = i
        first, own = point.meter_path.split("/")[0], points[0].meter_path.split("/")[0]
        if first != own:
            raise PlanRefused(422, "plan", f"points[{i}].meterPath: every point of a plan is "
                                           f"under one enterprise level ({own!r}), got "
                                           f"{first!r}", path=f"$.points[{i}].meterPath")
    return points


def replace_plan(session: Session, enterprise: bytes, points: Sequence[PlanPoint], *,
                 actor: str, now: datetime) -> None:
    """Replace ``enterprise``'s plan by ``points`` (from :func:`check_plan`; empty: no plan)
    in ``session``'s transaction. Raises :class:`PlanRefused` (409) when another enterprise's
    plan holds the same first level."""
    if points:
        first = points[0].meter_path.split("/")[0]
        other = session.scalar(select(PlanPointRow.enterprise).where(
            under_path(PlanPointRow.meter_path, first),
            PlanPointRow.enterprise != enterprise).limit(1))
        if other is not None:
            raise PlanRefused(409, "plan", f"the enterprise level {first!r} is in the plan of "
                                           f"{format_address(other)}: a level belongs to one "
                                           "enterprise", path="$.points[0].meterPath")
    session.execute(delete(PlanPointRow).where(PlanPointRow.enterprise == enterprise))
    session.add_all(PlanPointRow(
        enterprise=enterprise, meter_path=p.meter_path, source=p.source, quantity=p.quantity,
        counter_modulus=p.counter_modulus,
        max_rate=None if p.max_rate is None else format_rate(p.max_rate),
        updated_at=now, updated_by=actor) for p in points)
    session.flush()


def _from_row(row: PlanPointRow) -> PlanPoint:
    rate = None
    if row.max_rate is not None:
        numerator, denominator = row.max_rate.split("/")
        rate = Fraction(int(numerator), int(denominator))
    return PlanPoint(row.meter_path, row.source, row.quantity, row.counter_modulus, rate)


def stored_plan(session: Session, enterprise: bytes, site_path: str | None = None
                ) -> StoredPlan:
    """``enterprise``'s plan (the lines under ``site_path``, ``enterprise/site``, when given),
    in meter path order. Raises ``InvalidMeterPath`` for a malformed site path."""
    query = select(PlanPointRow).where(PlanPointRow.enterprise == enterprise)
    if site_path is not None:
        validate_site_path(site_path)
        query = query.where(under_path(PlanPointRow.meter_path, site_path))
    rows = session.scalars(query.order_by(PlanPointRow.meter_path)).all()
    if not rows:
        return StoredPlan((), None, None)
    latest = max(rows, key=lambda r: as_utc(r.updated_at))
    return StoredPlan(tuple(_from_row(r) for r in rows), as_utc(latest.updated_at),
                      latest.updated_by)


def load_plan(session: Session, enterprise: bytes, site_path: str | None) -> list[PlanPoint]:
    """The plan lines of ``enterprise`` under ``site_path`` (``None``: all), by meter path
    (spec11 section 5)."""
    return list(stored_plan(session, enterprise, site_path).points)
