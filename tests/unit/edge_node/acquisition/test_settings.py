"""Connection and meter settings: what the config file may say, and what it may not."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import pytest
from pydantic import ValidationError

from edge_node.acquisition.settings import AcquisitionSettings, RtuConnection, TcpConnection


def meter(**extra: Any) -> dict[str, Any]:
    return {"path": "acme/plant1/hall/line1/m1", "unit_id": 1, "profile": "generic", **extra}


def tcp(**extra: Any) -> dict[str, Any]:
    return {"kind": "tcp", "name": "gw1", "host": "127.0.0.1", "port": 5020,
            "meters": [meter()], **extra}


def test_toml_shaped_input_is_accepted_with_arrays_as_tuples() -> None:
    s = AcquisitionSettings.model_validate({"connections": [
        tcp(meters=[meter(ct=[200, 5], pt=[10_000, 100], points=["energy_import"],
                          report_by_exception={"power": {"deadband": 50}})]),
        {"kind": "rtu", "name": "bus1", "port": "/dev/ttyUSB0", "baudrate": 2400,
         "parity": "E", "meters": [meter(path="acme/plant1/hall/line1/m2", unit_id=2)]}]})
    gw, bus = s.connections
    assert isinstance(gw, TcpConnection) and isinstance(bus, RtuConnection)
    assert gw.meters[0].ct_ratio == 40 and gw.meters[0].pt_ratio == Fraction(100)
    assert gw.meters[0].points == ("energy_import",)
    assert gw.meters[0].report_by_exception["power"].max_silence == 900.0
    assert (bus.baudrate, bus.parity, bus.stopbits, bus.bytesize) == (2400, "E", 1, 8)
    with pytest.raises(ValidationError):
        gw.timeout = 5.0  # frozen


@pytest.mark.parametrize("host", ["127.0.0.1", "::1", "meter-gw.plant.example", "gw1"])
def test_hosts_are_addresses_or_host_names(host: str) -> None:
    assert TcpConnection.model_validate(tcp(host=host)).host == host


@pytest.mark.parametrize("host", ["tcp://127.0.0.1", "127.0.0.1:502", "-gw", "a b", "",
                                  "gw_1.local"])
def test_urls_ports_and_malformed_names_are_refused(host: str) -> None:
    with pytest.raises(ValidationError, match="host"):
        TcpConnection.model_validate(tcp(host=host))


@pytest.mark.parametrize(("bad", "field"), [
    ({"meters": [meter(), meter(path="acme/plant1/hall/line1/m2")]}, "unit ids"),
    ({"meters": [meter(unit_id=248)]}, "unit_id"),
    ({"meters": [meter(path="not/a/path")]}, "path"),
    ({"meters": [meter(ct=[0, 5])]}, "ct"),
    ({"meters": [meter(interval=0)]}, "interval"),
    ({"meters": [meter(interval="60")]}, "interval"),  # strict: no strings for numbers
    ({"meters": []}, "meters"),
    ({"timeout": -1}, "timeout"),
    ({"retries": 9}, "retries"),
    ({"colour": "red"}, "colour"),
])
def test_bad_values_are_refused_naming_the_key(bad: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError, match=field):
        TcpConnection.model_validate(tcp(**bad))


def test_names_and_meter_paths_are_unique_across_connections() -> None:
    with pytest.raises(ValidationError, match="connection names"):
        AcquisitionSettings.model_validate({"connections": [tcp(), tcp()]})
    with pytest.raises(ValidationError, match="meter paths"):
        AcquisitionSettings.model_validate({"connections": [tcp(), tcp(name="gw2")]})
    with pytest.raises(ValidationError, match="baudrate"):
        RtuConnection.model_validate({"name": "b", "port": "/dev/x", "baudrate": 1000,
                                      "meters": [meter()]})
