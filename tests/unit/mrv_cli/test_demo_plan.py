"""``mrv demo``'s plan, fixed before any work (``mrv_cli.demo.make_plan``, ``check_rpc``): the
period is the next calendar month in Beijing time that starts after the chain's clock with room
for the nodes to start, or its first ``--days`` days; options out of range are refused naming
the option; ``--rpc`` never leaves loopback."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mrv_cli.dates import BEIJING
from mrv_cli.demo import check_rpc, make_plan
from mrv_cli.demo.context import DemoContext, DemoPlan, NodeInfo, SiteReport
from mrv_core.errors import ConfigError

NOW = 1_796_000_000  # 2026-11-30T..., the chain's clock in most examples


def plan(*, chain_now: int = NOW, speed: int = 86_400, interval_min: int = 60,
         days: int | None = None) -> DemoPlan:
    return make_plan(out=Path("out"), rpc=None, days=days, interval_min=interval_min,
                     speed=speed, chain_now=chain_now)


@settings(max_examples=200, deadline=None)
@given(chain_now=st.integers(0, 2**33), speed=st.integers(60, 100_000),
       interval=st.sampled_from([5, 10, 15, 20, 30, 60, 120, 1440]),
       days=st.one_of(st.none(), st.integers(1, 31)))
def test_the_period_is_a_whole_beijing_month_or_its_first_days_after_the_chain_s_clock(
        chain_now: int, speed: int, interval: int, days: int | None) -> None:
    made = plan(chain_now=chain_now, speed=speed, interval_min=interval, days=days)
    start = datetime.fromtimestamp(made.period_start, BEIJING)
    end = datetime.fromtimestamp(made.period_end, BEIJING)
    assert (start.day, start.hour, start.minute, start.second) == (1, 0, 0, 0)
    # The simulated clock starts after the chain's time (block time never goes back), and the
    # period after the nodes had their start-up lead.
    assert made.period_start - made.lead_s > chain_now
    assert made.lead_s >= 5 * speed + 2 * interval * 60
    # No month starting after the lead was skipped.
    previous = datetime.fromtimestamp(made.period_start - 86_400, BEIJING).replace(day=1)
    assert int(previous.timestamp()) < chain_now + made.lead_s + 86_400
    if days is None or (days >= 28 and end.day == 1):
        assert (end.day, end.hour) == (1, 0) and end.month % 12 == (start.month + 1) % 12
    else:
        assert made.period_end - made.period_start == days * 86_400
        assert made.label.endswith(f"-01..{days:02d}")
    assert made.interval_s == interval * 60
    assert made.max_clock_skew >= 3 * speed and made.settled > made.period_end


@pytest.mark.parametrize(("overrides", "option"), [
    ({"interval_min": 7}, "--interval"), ({"interval_min": 0}, "--interval"),
    ({"interval_min": 2880}, "--interval"), ({"speed": 59}, "--speed"),
    ({"speed": 100_001}, "--speed"), ({"days": 0}, "--days"), ({"days": 32}, "--days"),
])
def test_an_option_out_of_range_is_refused_naming_it(overrides: dict[str, Any],
                                                     option: str) -> None:
    with pytest.raises(ConfigError, match=option):
        plan(**overrides)


@pytest.mark.parametrize("url", ["http://127.0.0.1:8545", "http://[::1]:8545",
                                 "http://127.0.0.2:1"])
def test_rpc_on_loopback_is_taken(url: str) -> None:
    assert check_rpc(url) == url


@pytest.mark.parametrize("url", ["http://10.0.0.1:8545", "https://127.0.0.1:8545",
                                 "http://localhost:8545", "127.0.0.1:8545", "",
                                 "http://0.0.0.0:8545", "ws://127.0.0.1:8546"])
def test_rpc_off_loopback_or_not_http_is_refused_without_resolving_a_name(url: str) -> None:
    with pytest.raises(ConfigError, match="--rpc"):
        check_rpc(url)


def test_demo_json_gives_back_the_context_it_was_written_from(tmp_path: Path) -> None:
    context = DemoContext(
        plan=make_plan(out=tmp_path, rpc="http://127.0.0.1:8545", days=2, interval_min=15,
                       speed=43_200, chain_now=NOW, all_methodologies=True),
        chain_url="http://127.0.0.1:8545", deployment=tmp_path / "deployment.json",
        api_url="http://127.0.0.1:8600", api_keys={"regulator": "mrv_0123456789abcdef_x"},
        keys={"enterprise": tmp_path / "keys" / "enterprise.json"},
        password_file=tmp_path / "keys" / "password.txt", enterprise=b"\x11" * 20,
        clock_file=tmp_path / "clock.json", database_url="sqlite:///ledger.sqlite",
        simulator_control=("127.0.0.1", 4242),
        nodes=[NodeInfo("demo-co/wuxi-plant", b"\x22" * 20, tmp_path / "edge.toml",
                        (("demo-co/wuxi-plant/a/b/M1", 1, "generic"),))],
        written={"bundles": tmp_path / "bundles"})
    assert DemoContext.load(context.save()) == context
    reported = replace(context, reports={
        "demo-co/wuxi-plant": SiteReport(b"\x33" * 32, b"\x44" * 32),
        "demo-co/suzhou-plant": SiteReport(b"\x55" * 32, b"\x66" * 32)})
    assert DemoContext.load(reported.save()) == reported
    assert list(DemoContext.load(reported.save()).reports) == list(reported.reports)
