"""docs/edge.md, section "Local emission summaries": its configuration example is a valid
``[summaries]`` table, and the mapping from sources to methodologies it states is the code's."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from accounting_rules.model import SourceKind
from accounting_rules.registry import load_methodology, methodologies
from edge_node.config import SummariesConfig
from edge_node.summaries import methodology_for_source

DOC = Path(__file__).resolve().parents[2] / "docs" / "edge.md"


def _section() -> str:
    text = DOC.read_text(encoding="utf-8")
    start = text.index("\n## Local emission summaries\n")
    end = text.find("\n## ", start + 1)
    return text[start:] if end < 0 else text[start:end]


def test_the_toml_example_is_a_valid_summaries_table() -> None:
    (block,) = re.findall(r"```toml\n(.*?)```", _section(), flags=re.S)
    config = SummariesConfig.model_validate(tomllib.loads(block)["summaries"])
    assert (config.enabled, config.timezone) == (True, "Asia/Shanghai")
    assert sorted(config.sources.values()) == ["electricity.grid", "heat.purchased"]
    for source in config.sources.values():
        methodology_for_source(source)  # each maps to a methodology


def test_the_stated_mapping_is_the_codes() -> None:
    section = _section()
    stated = {"electricity.grid": "cn.electricity.location",
              "heat.purchased": "cn.heat.purchased"}
    for source, methodology_id in stated.items():
        assert f"`{source}`" in section and f"`{methodology_id}`" in section
        assert methodology_for_source(source) == methodology_id
    families = {"electricity.grid.": "cn.electricity.location", "fuel.":
                "cn.combustion.stationary", "gas.": "ipcc.fugitive"}
    for methodology_id, version in methodologies():
        for spec in load_methodology(methodology_id, version).sources:
            for prefix, expected in families.items():
                if spec.source.startswith(prefix) and spec.kind is SourceKind.EMISSION:
                    assert methodology_for_source(spec.source) == expected, spec.source
