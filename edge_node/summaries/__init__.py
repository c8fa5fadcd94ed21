"""Local emission summaries: hourly and daily ``EmissionSummary`` records per meter and site,
signed by the device and committed as leaves of its batches (docs/edge.md, "Local emission
summaries")."""

from .methodologies import InForce, MethodologyVersions, methodology_for_source, source_unit
from .task import SummaryMeter, SummarySettings, SummaryTask, node_summaries, summary_meters

__all__ = [
    "InForce",
    "MethodologyVersions",
    "SummaryMeter",
    "SummarySettings",
    "SummaryTask",
    "methodology_for_source",
    "node_summaries",
    "source_unit",
    "summary_meters",
]
