"""Recompute: a ledger's emissions from the readings it holds (docs/api.md, "Monitoring plan
and recompute"; spec11 sections 1 and 5).

- :mod:`.plan`: the monitoring plan (:class:`PlanPoint`, :func:`load_plan`), and
  :mod:`.plan_route` its routes ``PUT``/``GET /v1/plan``;
- :mod:`.evidence`: one counter's :class:`MeterFigure` for a period from its sparse readings;
- :mod:`.figures`: :func:`meter_figures`, every counter of a plan under a site.
"""

from .evidence import MeterFigure, counter_figure
from .figures import meter_figures, plan_counters
from .plan import PlanPoint, StoredPlan, check_plan, load_plan, replace_plan, stored_plan

__all__ = ["MeterFigure", "PlanPoint", "StoredPlan", "check_plan", "counter_figure",
           "load_plan", "meter_figures", "plan_counters", "replace_plan", "stored_plan"]
