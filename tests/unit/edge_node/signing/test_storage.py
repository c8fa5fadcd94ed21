"""Polling stopped at the disk hard limit as ``storage`` gap runs (``edge_node.signing.storage``):
one run per (meter, point), covering the whole stop, counting exactly the polls the interval
would have made (at least one), each a valid signed ``Gap`` of class ``storage``."""

from __future__ import annotations

from fractions import Fraction

from hypothesis import example, given
from hypothesis import strategies as st

from edge_node.signing.storage import STORAGE, MeterPoints, PollingStop
from factories import METER_PATHS, TEST_DOMAIN, TEST_KEY
from mrv_core.reading import meter_id
from mrv_core.records import ERROR_CLASSES, Gap
from mrv_core.verify import verify_signed_record

POINTS = [("energy_import", "energy.active.import:Wh"), ("power_active", "power.active:W")]
T0 = 1_767_225_600


def test_storage_is_a_gap_record_error_class() -> None:
    assert STORAGE in ERROR_CLASSES


def test_every_point_of_every_meter_gets_one_run_over_the_whole_stop() -> None:
    meters = [MeterPoints(METER_PATHS[0], 60.0, POINTS), MeterPoints(METER_PATHS[1], 0.2,
                                                                     POINTS[:1])]
    runs = PollingStop(T0).close(T0 + 601, meters)
    assert [(r.meter, r.point, r.from_timestamp, r.to_timestamp, r.failed_polls, r.error_class)
            for r in runs] == [
        (METER_PATHS[0], "energy_import", T0, T0 + 601, 10, STORAGE),
        (METER_PATHS[0], "power_active", T0, T0 + 601, 10, STORAGE),
        (METER_PATHS[1], "energy_import", T0, T0 + 601, 3005, STORAGE)]


def test_a_stop_shorter_than_an_interval_or_a_clock_gone_back_is_one_poll() -> None:
    meters = [MeterPoints(METER_PATHS[0], 60.0, POINTS[:1])]
    (short,) = PollingStop(T0).close(T0 + 5, meters)
    (back,) = PollingStop(T0).close(T0 - 100, meters)
    assert (short.failed_polls, back.failed_polls) == (1, 1)
    assert (back.from_timestamp, back.to_timestamp) == (T0, T0)


@given(span=st.integers(min_value=0, max_value=10**11),
       interval=st.sampled_from([0.1, 0.2, 0.25, 1.0, 1.5, 60.0, 900.0, 86_400.0]))
@example(span=1, interval=0.2)  # 1 // 0.2 is 4.0 in binary floating point
@example(span=10**11, interval=0.1)  # past the uint32 field
def test_failed_polls_are_the_polls_the_interval_would_have_made(span: int,
                                                                  interval: float) -> None:
    (run,) = PollingStop(T0).close(T0 + span, [MeterPoints(METER_PATHS[0], interval,
                                                           POINTS[:1])])
    exact = Fraction(span) / Fraction(str(interval))
    assert run.failed_polls == max(1, min(2**32 - 1, int(exact)))
    gap = Gap(device=TEST_KEY.address, meter=meter_id(run.meter), quantity=run.quantity,
              next_seq=7, from_timestamp=run.from_timestamp, to_timestamp=run.to_timestamp,
              failed_polls=run.failed_polls, error_class=run.error_class, salt=bytes(32))
    signed = TEST_KEY.sign_record(gap, TEST_DOMAIN, run.meter)
    verify_signed_record(signed, TEST_DOMAIN)
