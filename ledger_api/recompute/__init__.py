"""Recompute: a ledger's emissions from the readings it holds (docs/api.md, "Monitoring plan
and recompute"; spec11 sections 1 and 5).

- :mod:`.plan`: the monitoring plan (:class:`PlanPoint`, :func:`load_plan`), and
  :mod:`.plan_route` its routes ``PUT``/``GET /v1/plan``.
"""

from .plan import PlanPoint, StoredPlan, check_plan, load_plan, replace_plan, stored_plan

__all__ = ["PlanPoint", "StoredPlan", "check_plan", "load_plan", "replace_plan", "stored_plan"]
