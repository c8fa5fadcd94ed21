"""docs/edge.md, section "Acquisition": its configuration example is a valid configuration the
poller accepts with the shipped profiles, and its error-class table names every class."""

from __future__ import annotations

import asyncio
import re
import tomllib
from pathlib import Path

from edge_node.acquisition import AcquisitionSettings, ErrorClass, Event, Poller
from edge_node.profiles import list_profiles, load_profile

DOC = Path(__file__).resolve().parents[2] / "docs" / "edge.md"


def _section() -> str:
    text = DOC.read_text(encoding="utf-8")
    start = text.index("\n## Acquisition\n")
    end = text.find("\n## ", start + 1)
    return text[start:] if end < 0 else text[start:end]


def test_the_toml_example_is_a_configuration_the_poller_accepts() -> None:
    blocks = re.findall(r"```toml\n(.*?)```", _section(), flags=re.S)
    assert len(blocks) == 1
    settings = AcquisitionSettings.model_validate(tomllib.loads(blocks[0])["acquisition"])
    meter = settings.connections[0].meters[0]
    assert (meter.ct_ratio, meter.report_by_exception["power_active"].deadband) == (40, 50)
    queue: asyncio.Queue[Event] = asyncio.Queue()
    profiles = {pid: load_profile(pid) for pid in list_profiles()}
    assert Poller(settings, profiles, queue).plan(meter.path)


def test_the_error_class_table_names_every_class() -> None:
    section = _section()
    assert all(f"`{error.value}`" in section for error in ErrorClass)
