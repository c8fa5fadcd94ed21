"""The measured figures of a plan for a period: :func:`meter_figures` (spec11 section 5).

Each plan point (``ledger_api.recompute.plan``) under the site is read from the counters the
ledger holds for its meter path, **signed by devices of the plan's enterprise** (the
DeviceRegistry's enterprise of the device, ``device_streams.enterprise``): a device of another
enterprise that signs the same path feeds no figure. A point with no such device yet gives no
figure (nothing measured); two devices reporting one path give two. Figures come in (meter
path, device) order, the order of a report's measured lines (spec11 section 2).
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from accounting_rules.errors import InconsistentReadings

from ..db.models import DeviceStreamRow, MeterStreamRow
from .evidence import MeterFigure, counter_figures
from .plan import PlanPoint, load_plan

__all__ = ["meter_figures", "plan_counters"]


def plan_counters(session: Session, enterprise: bytes, points: list[PlanPoint]
                  ) -> list[tuple[PlanPoint, bytes, bytes]]:
    """(point, device, meter id) of every counter of ``points`` signed by a device of
    ``enterprise``, in (meter path, device) order."""
    by_path = {p.meter_path: p for p in points}
    paths = sorted(by_path)
    found: list[tuple[PlanPoint, bytes, bytes]] = []
    for i in range(0, len(paths), 500):
        rows = session.execute(
            select(MeterStreamRow.meter_path, MeterStreamRow.device, MeterStreamRow.meter)
            .join(DeviceStreamRow, DeviceStreamRow.device == MeterStreamRow.device)
            .where(DeviceStreamRow.enterprise == enterprise,
                   MeterStreamRow.meter_path.in_(paths[i:i + 500])))
        found += [(by_path[path], device, meter) for path, device, meter in rows]
    return sorted(found, key=lambda f: (f[0].meter_path, f[1]))


def meter_figures(session: Session, enterprise: bytes, site_path: str | None, start: int,
                  end: int) -> list[MeterFigure]:
    """The :class:`MeterFigure` of every counter of ``enterprise``'s plan under ``site_path``
    (``None``: the whole plan) for ``[start, end)`` (Unix seconds), in (meter path, device)
    order. Raises ``InconsistentReadings`` for ``start >= end`` and the counter arithmetic's
    errors for a history it refuses."""
    if type(start) is not int or type(end) is not int or not 0 <= start < end:
        raise InconsistentReadings(f"a period is [start, end) with 0 <= start < end, got "
                                   f"[{start!r}, {end!r})")
    points = load_plan(session, enterprise, site_path)
    return counter_figures(session, plan_counters(session, enterprise, points), start, end)
