"""The device directory on real chains (the embedded one and anvil): every change of a device's
standing the DeviceRegistry can make, read by ``refresh()`` and answered at the seconds around it;
incremental reads, confirmations, the rate-limited refresh for unknown devices, a reorganisation
and an RPC outage."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import pytest
from integration.chain.support import METADATA, SITE
from integration.conftest import free_port
from integration.ledger_api.chain.support import Registry

from factories import signed_readings
from ledger_api.chain import DeviceDirectory, DeviceRegistered, DeviceRevoked, Reason
from ledger_api.errors import ChainReadUnavailable
from mrv_core.chain import Chain, ChainSettings, System, connect
from mrv_core.errors import ConfigError
from mrv_core.keys import DeviceKey


def reasons(directory: DeviceDirectory, device: bytes, times: list[int]) -> list[Reason | None]:
    return [s.reason for s in directory.check(device, times)]


def test_the_directory_answers_every_change_of_standing_at_the_seconds_around_it(
        registry: Registry) -> None:
    actors = registry.actors
    system, d1 = actors.system, actors.device.address
    skew = system.deployment.max_clock_skew
    directory = DeviceDirectory(system)
    first = directory.refresh()
    assert [type(e) for e in first.added] == [DeviceRegistered]
    registered = int(actors.chain.w3.eth.get_block(system.device_record(d1)[2])["timestamp"])

    suspended = registry.suspend(d1)
    reinstated = registry.reinstate(d1)
    d2, d3 = DeviceKey.generate(), DeviceKey.generate()
    registry.tick()
    system.register_device(actors.enterprise, d2, SITE, METADATA)
    registry.tick()
    rotated = registry.block_time(system.rotate_device(actors.enterprise, d2.address, d3,
                                                       METADATA))
    revoked = registry.revoke(d1)
    registry.tick()
    stopped = registry.block_time(system.revoke_role(actors.admin, "ENTERPRISE_ROLE",
                                                     actors.enterprise.address))
    system.grant_role(actors.admin, "ENTERPRISE_ROLE", actors.enterprise.address)
    registry.tick()
    reactivated = registry.block_time(system.reactivate_enterprise(actors.admin,
                                                                   actors.enterprise.address))
    times = [registered, suspended, reinstated, rotated, revoked, stopped, reactivated]
    assert times == sorted(set(times))  # one second apart at least, so "around" is unambiguous

    second = directory.refresh()
    assert [type(e).__name__ for e in second.added] == [
        "DeviceSuspended", "DeviceReinstated", "DeviceRegistered", "DeviceRevoked",
        "DeviceRegistered", "DeviceRotated", "DeviceRevoked", "EnterpriseStopped",
        "EnterpriseReactivated"]
    assert directory.events == first.added + second.added
    assert directory.tolerance_s == skew == 300

    active, s, r = None, Reason.SUSPENDED, Reason.REVOKED
    assert reasons(directory, d1, [registered - skew - 1, registered - skew, registered]) == [
        Reason.NOT_YET_REGISTERED, active, active]
    assert reasons(directory, d1, [suspended - 1, suspended, reinstated - 1, reinstated]) == [
        active, s, s, active]
    assert reasons(directory, d1, [revoked, revoked + 1, stopped]) == [active, r, r]
    assert reasons(directory, d2.address, [rotated, rotated + 1]) == [active, r]
    assert reasons(directory, d3.address, [rotated - skew - 1, rotated, stopped - 1, stopped,
                                           reactivated - 1, reactivated]) == [
        Reason.NOT_YET_REGISTERED, active, active, Reason.ENTERPRISE_STOPPED,
        Reason.ENTERPRISE_STOPPED, active]
    standing = directory.standing(d3.address, reactivated)
    assert (standing.enterprise, standing.site) == (bytes.fromhex(actors.enterprise.address[2:]),
                                                    SITE)
    assert directory.book.devices[d3.address].predecessor == d2.address
    assert directory.standing(DeviceKey.generate().address, reactivated).reason is Reason.UNKNOWN

    # read again in requests of two blocks: the same events
    assert DeviceDirectory(system, max_block_range=2).refresh().added == directory.events
    # resumed from what a watcher persisted: the same answers, nothing read again
    resumed = DeviceDirectory(system, events=directory.events, cursor=directory.cursor)
    assert resumed.refresh().added == ()
    assert resumed.book == directory.book


def test_a_device_is_unknown_until_its_registration_has_the_confirmations_asked(
        registry: Registry) -> None:
    actors = registry.actors
    directory = DeviceDirectory(actors.system, confirmations=2)
    directory.refresh()
    key = DeviceKey.generate()
    actors.system.register_device(actors.enterprise, key, SITE, METADATA)
    directory.refresh()
    assert key.address not in directory.book.devices
    actors.admin.transfer(actors.enterprise.address, 1)
    directory.refresh()
    assert key.address not in directory.book.devices
    actors.admin.transfer(actors.enterprise.address, 1)
    directory.refresh()
    assert key.address in directory.book.devices
    assert directory.cursor is not None
    assert directory.cursor.block_number == actors.chain.block_number() - 2


def test_the_registration_tolerance_follows_the_max_clock_skew_set_on_chain(
        registry: Registry) -> None:
    actors = registry.actors
    directory = DeviceDirectory(actors.system)
    directory.refresh()
    registered = directory.book.devices[actors.device.address].registered_at
    assert directory.standing(actors.device.address, registered - 300).active
    actors.admin.send(actors.system.anchors.functions.setMaxClockSkew(60),
                      description="set maxClockSkew")
    directory.refresh()
    assert directory.tolerance_s == 60
    assert directory.standing(actors.device.address, registered - 60).active
    assert directory.standing(actors.device.address, registered - 61).reason is \
        Reason.NOT_YET_REGISTERED


@pytest.mark.parametrize("chain", ["embedded"], indirect=True)
def test_unusable_directory_settings_are_refused(registry: Registry) -> None:
    system = registry.actors.system
    with pytest.raises(ConfigError, match="confirmations must be 0 or more, got -1"):
        DeviceDirectory(system, confirmations=-1)
    with pytest.raises(ConfigError, match="max_block_range must be at least 1, got 0"):
        DeviceDirectory(system, max_block_range=0)
    directory = DeviceDirectory(system)
    directory.refresh()
    with pytest.raises(ConfigError, match="need a cursor"):
        DeviceDirectory(system, events=directory.events)


class CountingCalls:
    """Counts the requests ``system`` sends to its node (every one goes through
    ``Chain.retrying``)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, chain: Chain) -> None:
        self.count = 0
        retrying = chain.retrying

        def counted(what: str, request: Callable[[], Any]) -> Any:
            self.count += 1
            return retrying(what, request)

        monkeypatch.setattr(chain, "retrying", counted)

    def since(self, before: int) -> int:
        return self.count - before


def test_known_devices_cost_no_chain_call_and_unknown_ones_refresh_at_most_once_per_interval(
        registry: Registry, monkeypatch: pytest.MonkeyPatch) -> None:
    actors = registry.actors
    now = [1000.0]
    directory = DeviceDirectory(actors.system, unknown_refresh_interval_s=5.0,
                                clock=lambda: now[0])
    directory.refresh()
    late = DeviceKey.generate()
    actors.system.register_device(actors.enterprise, late, SITE, METADATA)
    calls = CountingCalls(monkeypatch, actors.chain)
    latest = actors.chain.latest_timestamp()

    assert directory.standing(late.address, latest).active  # unknown: one refresh finds it
    assert calls.count > 0
    before = calls.count
    answers = directory.check(late.address, list(range(latest - 5000, latest + 5000)))
    assert len(answers) == 10_000 and answers[-1].active and calls.since(before) == 0

    strangers = [DeviceKey.generate().address for _ in range(50)]
    now[0] += 1  # a flood of unknown signers within the interval after that refresh
    assert all(directory.standing(s, latest).reason is Reason.UNKNOWN for s in strangers)
    assert calls.since(before) == 0
    now[0] += 5  # the interval is over: the next unknown signer refreshes once
    assert directory.standing(strangers[0], latest).reason is Reason.UNKNOWN
    after = calls.count
    assert after > before
    assert all(directory.standing(s, latest).reason is Reason.UNKNOWN for s in strangers)
    assert calls.since(after) == 0


def _snapshot(chain: Chain) -> Callable[[], None]:
    """Take a snapshot of the chain; return what reverts to it (a reorganisation)."""
    if chain.embedded:
        tester: Any = chain.w3.provider.ethereum_tester  # type: ignore[attr-defined]
        snapshot = tester.take_snapshot()
        return lambda: tester.revert_to_snapshot(snapshot)
    provider: Any = chain.w3.provider
    snapshot = provider.make_request("evm_snapshot", [])["result"]
    return lambda: provider.make_request("evm_revert", [snapshot])


def test_a_reorganisation_drops_the_events_of_the_blocks_it_removed(registry: Registry) -> None:
    actors = registry.actors
    directory = DeviceDirectory(actors.system)
    directory.refresh()
    kept = directory.events
    revert = _snapshot(actors.chain)
    registry.revoke(actors.device.address)
    gone = DeviceKey.generate()
    actors.system.register_device(actors.enterprise, gone, SITE, METADATA)
    assert [type(e) for e in directory.refresh().added] == [DeviceRevoked, DeviceRegistered]
    assert directory.standing(actors.device.address, 2**40).reason is Reason.REVOKED

    revert()  # the two blocks are gone; the chain grows again on another branch
    for _ in range(3):
        actors.admin.transfer(actors.enterprise.address, 1)
    refreshed = directory.refresh()
    assert [type(e) for e in refreshed.dropped] == [DeviceRevoked, DeviceRegistered]
    assert refreshed.added == () and directory.events == kept
    assert directory.standing(actors.device.address, 2**40).active
    assert directory.standing(gone.address, 2**40).reason is Reason.UNKNOWN
    assert directory.cursor is not None
    assert directory.cursor.block_number == actors.chain.block_number()


def test_an_unreachable_node_raises_a_typed_error_naming_the_read_and_keeps_the_state(
        anvil_url: str) -> None:
    from integration.chain.support import deploy_actors

    chain = connect(anvil_url, settings=ChainSettings(rpc_retries=1, retry_backoff_s=0.01))
    actors = deploy_actors(chain)
    directory = DeviceDirectory(System(chain, actors.system.deployment))
    directory.refresh()
    before = (directory.events, directory.cursor)
    provider: Any = chain.w3.provider
    provider.endpoint_uri = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    with pytest.raises(ChainReadUnavailable) as caught:
        directory.refresh()
    assert "eth_getBlockByNumber" in str(caught.value) and "unreachable" in str(caught.value)
    assert (directory.events, directory.cursor) == before
    assert directory.standing(actors.device.address, 2**40).active
    with pytest.raises(ChainReadUnavailable):  # an unknown device's refresh fails the same way
        directory.check(DeviceKey.generate().address, [2**40])


@pytest.mark.parametrize("chain", ["embedded"], indirect=True)
def test_readings_taken_during_a_suspension_can_be_anchored_after_it_yet_are_suspended(
        registry: Registry) -> None:
    """Why the directory judges suspension by the readings' time: the AnchorRegistry checks the
    device's status when anchoring, not the readings' timestamps (docs/api.md)."""
    actors = registry.actors
    suspended = registry.suspend(actors.device.address)
    reinstated = registry.reinstate(actors.device.address)
    readings = [actors.device.sign_reading(dataclasses.replace(r.reading, timestamp=suspended),
                                           actors.system.domain, r.meter_path)
                for r in signed_readings(2, key=actors.device)]
    batch = actors.device.close_batch(0, readings, actors.system.domain)
    actors.system.anchor(actors.device_tx, batch.header)
    assert actors.system.batch_root(actors.device.address, 0) == batch.header.root
    directory = DeviceDirectory(actors.system)
    directory.refresh()
    assert suspended < reinstated
    assert directory.standing(actors.device.address, suspended).reason is Reason.SUSPENDED


def test_against_a_node_slower_to_fail_than_the_interval_unknown_signers_wait_for_one_attempt(
        registry: Registry, monkeypatch: pytest.MonkeyPatch) -> None:
    # A dead node takes about 6 s to fail (retries) against a 5 s interval: callers that
    # queued behind one failing attempt used to make one attempt each, in turn, for minutes.
    now = [1000.0]
    directory = DeviceDirectory(registry.actors.system, unknown_refresh_interval_s=5.0,
                                clock=lambda: now[0])
    attempts = []

    def slow_failure() -> None:
        attempts.append(now[0])
        now[0] += 6.3
        raise ChainReadUnavailable("eth_getLogs", "the node is unreachable")

    monkeypatch.setattr(directory, "_refresh", slow_failure)
    latest = registry.actors.chain.latest_timestamp()
    stranger = DeviceKey.generate().address
    for _ in range(3):  # arrived during or right after the attempt: its failure, no new one
        with pytest.raises(ChainReadUnavailable, match="unreachable"):
            directory.standing(stranger, latest)
        now[0] += 1
    assert attempts == [1000.0]
    now[0] += 5  # the interval after the attempt's end is over: one new attempt
    with pytest.raises(ChainReadUnavailable):
        directory.standing(stranger, latest)
    assert len(attempts) == 2
