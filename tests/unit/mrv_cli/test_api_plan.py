"""``mrv api plan set`` refuses a line whose quantity is not the one its source's methodology
takes as its activity (review finding: ``energy.active.export:Wh`` was accepted for
``electricity.grid``, purchased electricity): exit 2, one line naming the file, the line, the
expected and the given quantity, nothing stored."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mrv_cli.main import main

ENTERPRISE = "0x" + "aa" * 20


def test_plan_set_refuses_the_export_register_for_purchased_electricity(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps({"points": [{
        "meterPath": "demo-co/wuxi-plant/hall-1/line-1/main", "source": "electricity.grid",
        "quantity": "energy.active.export:Wh", "counterModulus": None, "maxRate": None}]}))
    database = tmp_path / "ledger.sqlite"
    code = main(["api", "plan", "set", "--enterprise", ENTERPRISE, str(plan),
                 "--database", f"sqlite:///{database}"])
    err = capsys.readouterr().err
    assert code == 2 and len(err.splitlines()) == 1 and "Traceback" not in err, err
    assert f"{plan}: points[0].quantity: source electricity.grid is fed by the quantity " \
           "cn.electricity.location takes as its activity: expected energy.active.import:Wh, " \
           "got 'energy.active.export:Wh'" in err, err
    assert not database.exists()
