"""Recompute: a ledger's emissions from the readings it holds (docs/api.md, "Monitoring plan
and recompute"; spec11 sections 1 and 5).

- :mod:`.plan`: the monitoring plan (:class:`PlanPoint`, :func:`load_plan`), and
  :mod:`.plan_route` its routes ``PUT``/``GET /v1/plan``;
- :mod:`.evidence`: the counters' :class:`MeterFigure` for a period from their sparse
  readings;
- :mod:`.figures`: :func:`meter_figures`, every counter of a plan under a site;
- :mod:`.emissions`: per meter, site and source, and scope, with the version in force;
- :mod:`.discrepancies`: against the devices' signed summaries and a report's lines
  (:func:`~.discrepancies.compare_with_report`);
- :mod:`.emissions_route`: ``GET /v1/emissions``.
"""

from .evidence import MeterFigure, counter_figure, counter_figures
from .figures import meter_figures, plan_counters
from .plan import PlanPoint, StoredPlan, check_plan, load_plan, replace_plan, stored_plan

__all__ = ["MeterFigure", "PlanPoint", "StoredPlan", "check_plan", "counter_figure",
           "counter_figures", "load_plan", "meter_figures", "plan_counters", "replace_plan",
           "stored_plan"]
