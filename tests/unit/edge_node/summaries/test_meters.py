"""Which point of a configured meter a summary reads: the one cumulative, non-export point of
its profile in the source's unit, with the node's counter rule."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from unit.edge_node.test_config import VALID

from accounting_rules.counters import RolloverRule
from edge_node.acquisition.poller import meter_profiles
from edge_node.config import NodeConfig, load_config
from edge_node.errors import SummaryConfigError
from edge_node.node import rollover_rule
from edge_node.profiles.model import Profile
from edge_node.store import Store
from edge_node.summaries import SummaryMeter, SummaryTask, node_summaries, summary_meters
from factories import TEST_KEY
from mrv_core.errors import ConfigError

M1 = "acme/plant-1/utilities/incomer/M1"


def config_text(profile: str, source: str, points: str) -> str:
    """test_config's valid file (meters M1, an SDM630, and M2, an ABB B2x) with M1's profile and
    points replaced and a ``[summaries]`` table naming M1's source."""
    text = VALID.replace('profile = "eastron.sdm630"\n', f'profile = "{profile}"\n{points}')
    return text + f'\n[summaries]\nsources = {{ "{M1}" = "{source}" }}\n'


Rules = dict[tuple[str, str], RolloverRule | None]


def node_parts(tmp_path: Path, text: str) -> tuple[NodeConfig, dict[str, Profile], Rules]:
    """The configuration, profiles and counter rules as the node builds them."""
    path = tmp_path / "edge.toml"
    path.write_text(text, encoding="utf-8")
    config = load_config(path)
    profiles = meter_profiles(config.acquisition)
    rules: Rules = {
        (m.path, p.name): rollover_rule(p, p.ratio.of(m.ct_ratio, m.pt_ratio), m.interval)
        for m in config.meters for p in profiles[m.profile].points}
    return config, profiles, rules


def meters_of(tmp_path: Path, profile: str = "eastron.sdm630", source: str = "electricity.grid",
              points: str = "") -> list[SummaryMeter]:
    return summary_meters(*node_parts(tmp_path, config_text(profile, source, points)))


def test_a_meter_with_a_source_reads_its_import_energy_counter(tmp_path: Path) -> None:
    (meter,) = meters_of(tmp_path)  # M2 has no source: no summary
    assert (meter.path, meter.source, meter.quantity) \
        == (M1, "electricity.grid", "energy.active.import:Wh")
    assert meter.rule == RolloverRule(modulus=None)  # the SDM630's float counter never wraps


def test_a_meter_reading_no_counter_in_the_sources_unit_is_refused(tmp_path: Path) -> None:
    with pytest.raises(SummaryConfigError, match=re.escape(
            "exactly one cumulative, non-export point in Wh for electricity.grid, found none")):
        meters_of(tmp_path, points='points = ["power_active", "energy_export"]\n')
    with pytest.raises(SummaryConfigError, match=re.escape("in kJ for heat.purchased, found none")):
        meters_of(tmp_path, source="heat.purchased")


def test_a_source_no_methodology_covers_is_refused_naming_the_line_and_key(
        tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        meters_of(tmp_path, source="electricity.gec")
    assert re.search(r"edge\.toml:\d+: summaries\.sources.*'electricity\.gec'.*found none",
                     str(caught.value)), str(caught.value)


def test_the_node_gets_a_task_only_when_enabled_with_sources(tmp_path: Path,
                                                             store: Store) -> None:
    def task_of(text: str) -> SummaryTask | None:
        config, profiles, rules = node_parts(tmp_path, text)
        return node_summaries(config, store, TEST_KEY, profiles, rules)

    enabled = task_of(config_text("eastron.sdm630", "electricity.grid", ""))
    assert enabled is not None
    assert enabled.methodology_ids == ("cn.electricity.location",)
    assert enabled.versions.ids == ("cn.electricity.location",) and enabled.versions.as_of == -1
    assert (enabled.site, enabled.settings.zone) == ("acme/plant-1", "Asia/Shanghai")
    assert task_of(config_text("eastron.sdm630", "electricity.grid", "")
                   + "enabled = false\n") is None
    assert task_of(VALID) is None  # no sources
