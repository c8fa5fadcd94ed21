"""Deployment: the system deploys from the committed artifacts; the deployment file is strict."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from mrv_core.chain import (
    CONTRACTS,
    Deployment,
    System,
    check_artifacts,
    connect,
    load_artifacts,
)
from mrv_core.errors import ConfigError, WrongChain

from .conftest import Actors


def test_deployment_records_what_was_deployed(actors: Actors) -> None:
    deployment = actors.system.deployment
    artifacts = load_artifacts()
    assert deployment.chain_id == actors.chain.chain_id
    assert deployment.evm_version == artifacts.evm_version() == "paris"
    assert set(deployment.contracts) == set(CONTRACTS)
    assert check_artifacts(deployment, artifacts) == []
    anchors = actors.system.anchors.functions
    assert anchors.deviceRegistry().call() == deployment.address("DeviceRegistry")
    assert anchors.maxClockSkew().call() == deployment.max_clock_skew
    assert actors.system.has_role("DEFAULT_ADMIN_ROLE", actors.admin.address)
    assert not actors.system.has_role("REGULATOR_ROLE", actors.admin.address)
    actors.system.check_code()


def test_deployment_file_round_trip(actors: Actors, tmp_path: Path) -> None:
    path = tmp_path / "deployment.json"
    actors.system.deployment.write(path)
    assert Deployment.read(path) == actors.system.deployment
    assert json.loads(path.read_text())["format"] == "trustmrv-deployment/1"


@pytest.mark.parametrize("change", [
    lambda d: d.update(format="trustmrv-deployment/2"),
    lambda d: d.update(chainId=31337),
    lambda d: d["contracts"].pop("AnchorRegistry"),
    lambda d: d["contracts"].update(Extra="0x" + "00" * 20),
    lambda d: d["artifacts"].update(Consortium="0x1234"),
    lambda d: d.update(deployer="not an address"),
])
def test_malformed_deployment_files_are_refused(actors: Actors, tmp_path: Path,
                                                change: object) -> None:
    doc = actors.system.deployment.to_json()
    change(doc)  # type: ignore[operator]
    path = tmp_path / "deployment.json"
    path.write_text(json.dumps(doc))
    with pytest.raises(ConfigError, match="not a valid deployment file"):
        Deployment.read(path)


def test_missing_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        Deployment.read(tmp_path / "absent.json")


def test_a_deployment_of_another_chain_is_refused(actors: Actors) -> None:
    other = dataclasses.replace(actors.system.deployment, chain_id=1)
    with pytest.raises(WrongChain, match="chainId 1"):
        System(actors.chain, other)


def test_a_deployment_used_without_a_node_says_none_was_named(actors: Actors) -> None:
    """A fresh-clone user ran ``mrv report show`` without ``--rpc`` on the demo's anvil
    deployment and read only that chainIds differ: the embedded chain it got is named now."""
    anvil = dataclasses.replace(actors.system.deployment, chain_id=31337)
    embedded = connect(None)
    assert embedded.embedded and embedded.chain_id != 31337
    with pytest.raises(WrongChain) as caught:
        System(embedded, anvil)
    assert str(caught.value).startswith("the deployment file is for chainId 31337, the node is "
                                        f"chainId {embedded.chain_id}: no node was named")
    assert "--rpc URL or MRV_RPC_URL" in str(caught.value)


def test_addresses_without_code_are_refused(actors: Actors) -> None:
    contracts = dict(actors.system.deployment.contracts, ReportRegistry=b"\x42" * 20)
    moved = dataclasses.replace(actors.system.deployment, contracts=contracts)
    with pytest.raises(WrongChain, match="no ReportRegistry code"):
        System(actors.chain, moved).check_code()


def test_a_changed_build_is_reported(actors: Actors) -> None:
    hashes = dict(actors.system.deployment.artifact_hashes, AnchorRegistry=b"\x00" * 32)
    changed = dataclasses.replace(actors.system.deployment, artifact_hashes=hashes)
    assert check_artifacts(changed, load_artifacts()) == ["AnchorRegistry"]
