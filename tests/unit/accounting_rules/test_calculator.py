"""The reference calculator: known answers computed by hand, every error with its arguments, and
the order of the checks (docs/accounting.md section 1.4; the contract must agree on all of it)."""

from __future__ import annotations

import pytest

from accounting_rules import (
    AccountingOverflow,
    Activity,
    DuplicateOverride,
    Emission,
    InvalidActivity,
    InvalidPeriod,
    Methodology,
    MissingEvidence,
    NoFactorForPeriod,
    Result,
    UnknownSource,
    activity,
    compute,
    load_methodology,
)
from accounting_rules.codes import ZERO32, encode_code
from factories import EVIDENCE, beijing
from mrv_core.codec import UINT64_MAX, UINT256_MAX

LOCATION = load_methodology("cn.electricity.location", 1)
MARKET = load_methodology("cn.electricity.market", 1)
COMBUSTION = load_methodology("cn.combustion.stationary", 1)
HEAT = load_methodology("cn.heat.purchased", 1)
AR5 = load_methodology("ipcc.fugitive", 1)
AR6 = load_methodology("ipcc.fugitive", 2)
MACHINERY = load_methodology("cn.machinery", 1)
#: A month of data year 2022 (Beijing time).
MARCH_2022 = (beijing(2022, 3), beijing(2022, 4))
MAX = UINT256_MAX


def one(methodology: Methodology, source: str, quantity: str | int,
        period: tuple[int, int] = MARCH_2022) -> int:
    result = compute(methodology, *period, [activity(methodology, source, quantity)])
    assert result.total == result.emissions[0].grams
    return result.total


# -- known answers ---------------------------------------------------------------------------------

def test_natural_gas_10000_nm3_with_the_defaults() -> None:
    """10,000 Nm3 = 10,000,000 dm3 of natural gas, default parameters:

        10,000,000 dm3 x 38,931 J/dm3      = 389,310,000,000 J       (389.31 GJ)
                       x 15,300 gC/GJ      = 5,956,443,000,000,000   (/10^9: 5,956,443 gC)
                       x 9,900 (99 %)      = 58,968,785,700,000,000,000
                       x 44                = 2,594,626,570,800,000,000,000
        + 60,000,000,000,000, then / 120,000,000,000,000 (12 x 10^9 x 10^4)
                                           = 21,621,888 g  (exactly 21,621,888.09 before rounding)

    i.e. 389.31 GJ x 15.3 tC/TJ x 99 % x 44/12 = 21.62 tCO2.
    """
    assert one(COMBUSTION, "fuel.natural_gas", "10000 Nm3") == 21_621_888
    assert 10_000_000 * 38_931 * 15_300 * 9_900 * 44 == 2_594_626_570_800_000_000_000
    assert one(MACHINERY, "fuel.natural_gas", "10000 Nm3") == 21_621_888


def test_diesel_one_tonne() -> None:
    """1 t = 1,000,000 g x 42,652 J/g x 20,200 gC/GJ x 9,800 x 44 = 371,509,156,480,000,000,000;
    / 1.2 x 10^14 = 3,095,909.64 -> 3,095,910 g (42.652 GJ x 20.2 tC/TJ x 98 % x 44/12 =
    3.0959 tCO2)."""
    assert 1_000_000 * 42_652 * 20_200 * 9_800 * 44 == 371_509_156_480_000_000_000
    assert one(COMBUSTION, "fuel.diesel", "1 t") == 3_095_910


def test_version_2_defaults_raw_coal_gasoline_and_coke_oven_gas() -> None:
    v2 = load_methodology("cn.combustion.stationary", 2)
    # 20.908 GJ/t x 26.37 tC/TJ x 94 % x 44/12 = 1.900299... tCO2/t
    assert one(v2, "fuel.raw_coal", "1 t") == 1_900_299
    # 43.070 GJ/t x 18.9 tC/TJ x 98 % x 44/12 = 2.925056 tCO2/t
    assert one(v2, "fuel.gasoline", "1 t") == 2_925_056
    # 179.81 GJ x 13.58 tC/TJ x 99 % x 44/12 = 8.863806 tCO2 per 10^4 Nm3
    assert one(v2, "fuel.coke_oven_gas", "10000 Nm3") == 8_863_806
    assert one(v2, "fuel.natural_gas", "10000 Nm3") == 21_621_888  # unchanged from v1
    with pytest.raises(NoFactorForPeriod):
        one(COMBUSTION, "fuel.raw_coal", "1 t")  # v1 has no default


def test_one_mwh_of_2022_national_grid_electricity() -> None:
    """1,000,000 Wh x 536,600 gCO2/MWh / 1,000,000 = 536,600 g (0.5366 tCO2/MWh)."""
    assert one(LOCATION, "electricity.grid", "1 MWh") == 536_600
    assert one(LOCATION, "electricity.grid", 1_000_000) == 536_600


def test_each_data_year_and_region() -> None:
    year_2021 = (beijing(2021, 6), beijing(2021, 7))
    year_2023 = (beijing(2023), beijing(2024))
    assert one(LOCATION, "electricity.grid", "1 MWh", year_2021) == 556_800
    assert one(LOCATION, "electricity.grid.east", "1 MWh", year_2023) == 550_000
    assert one(LOCATION, "electricity.grid.southwest", "1 MWh") == 226_800
    # the latest data year is open-ended: it stands for later years
    assert one(LOCATION, "electricity.grid", "1 MWh", (beijing(2030), UINT64_MAX)) == 530_600


def test_rounding_is_half_up_once_per_line() -> None:
    # 1 Wh x 536,600 = 536,600 -> 0.5366 g -> 1 g;  1 Wh at 2021's 556,800 -> 1 g
    assert one(LOCATION, "electricity.grid", "1 Wh") == 1
    # 5 g CH4 x 27.9 = 139.5 -> 140 (half up);  7 g -> 195.3 -> 195
    assert one(AR6, "gas.ch4", "5 g") == 140
    assert one(AR6, "gas.ch4", "7 g") == 195
    # two 1 Wh lines are 1 g each, not one line of 2 Wh (1.0732 -> 1): rounding is per line
    result = compute(LOCATION, *MARCH_2022, [Activity("electricity.grid", 1)] * 2)
    assert result.total == 2
    assert one(LOCATION, "electricity.grid", "2 Wh") == 1


def test_fugitive_gases() -> None:
    """1 kg SF6: 1,000 g x 235,000 (23500 in tenths) / 10 = 23,500,000 g (AR5), 25,200,000 (AR6)."""
    assert one(AR5, "gas.sf6", "1 kg") == 23_500_000
    assert one(AR6, "gas.sf6", "1 kg") == 25_200_000
    assert one(AR5, "gas.ch4", "1 kg") == 28_000
    assert one(AR5, "process.co2_shielding_gas", "2.5 kg") == 2_500


def test_market_based_certificates_exceeding_consumption_give_zero() -> None:
    lines = [Activity("electricity.grid", 1_000_000),
             Activity("electricity.gec", 1_500_000, EVIDENCE)]
    result = compute(MARKET, *MARCH_2022, lines)
    assert result == Result((Emission(2, 0), Emission(2, 0)), 0, 0, 0)


def test_market_based_pool_is_consumed_in_input_order() -> None:
    """Pool 0.4 + 0.3 MWh against 0.5 + 1 MWh at 585,600 gCO2/MWh (2022, excluding market-traded
    non-fossil): the first line is fully covered (0.5 of 0.7), the second pays for 0.8 MWh =
    468,480 g."""
    lines = [Activity("electricity.gec", 400_000, EVIDENCE),
             Activity("electricity.grid", 500_000),
             Activity("electricity.green_contract", 300_000, EVIDENCE),
             Activity("electricity.grid", 1_000_000)]
    result = compute(MARKET, *MARCH_2022, lines)
    assert [e.grams for e in result.emissions] == [0, 0, 0, 468_480]
    assert result.scope2 == result.total == 468_480


def test_overrides_replace_a_default() -> None:
    """1 GJ of heat at a supplier's 95,000 gCO2/GJ instead of the default 110,000."""
    measured = Activity("heat.purchased#EF", 95_000, EVIDENCE)
    assert one(HEAT, "heat.purchased", "1 GJ") == 110_000
    result = compute(HEAT, *MARCH_2022, [activity(HEAT, "heat.purchased", "1 GJ"), measured])
    assert result.emissions == (Emission(2, 95_000), Emission(2, 0))
    assert result.total == 95_000


def test_a_fuel_without_defaults_needs_all_three_overrides() -> None:
    """1 t of raw coal with measured NCV 20,908 J/g, CC 26,370 gC/GJ, OF 94 %:
    1,000,000 x 20,908 x 26,370 x 9,400 x 44 = 228,035,861,856,000,000,000; / 1.2 x 10^14 =
    1,900,298.85 -> 1,900,299 g. (Measured values made up for the test, not defaults.)"""
    coal = activity(COMBUSTION, "fuel.raw_coal", "1 t")
    ncv = Activity("fuel.raw_coal#NCV", 20_908, EVIDENCE)
    cc = Activity("fuel.raw_coal#CC", 26_370, EVIDENCE)
    of = activity(COMBUSTION, "fuel.raw_coal#OF", "94 %", EVIDENCE)
    assert of.amount == 9_400
    assert compute(COMBUSTION, *MARCH_2022, [coal, ncv, cc, of]).total == 1_900_299
    assert 1_000_000 * 20_908 * 26_370 * 9_400 * 44 == 228_035_861_856_000_000_000
    for missing in (ncv, cc, of):
        lines = [line for line in (coal, ncv, cc, of) if line is not missing]
        with pytest.raises(NoFactorForPeriod):
            compute(COMBUSTION, *MARCH_2022, lines)


def test_a_period_crossing_a_data_year_has_no_factor() -> None:
    start, end = beijing(2022, 12, 31), beijing(2023, 1, 2)
    with pytest.raises(NoFactorForPeriod) as caught:
        compute(LOCATION, start, end, [Activity("electricity.grid", 1)])
    assert caught.value.contract_args() == {
        "source": encode_code("electricity.grid"), "periodStart": start, "periodEnd": end}
    # each side on its own is fine; exactly up to the boundary too
    assert compute(LOCATION, start, beijing(2023), [Activity("electricity.grid", 10**6)]).total \
        == 536_600
    assert compute(LOCATION, beijing(2023), end, [Activity("electricity.grid", 10**6)]).total \
        == 530_600


def test_before_the_first_data_year_there_is_no_factor() -> None:
    with pytest.raises(NoFactorForPeriod):
        compute(LOCATION, beijing(2020), beijing(2021), [Activity("electricity.grid", 1)])


def test_the_enterprise_methodology_splits_scopes() -> None:
    lines = [activity(MACHINERY, "electricity.grid.east", "100 MWh"),      # 56,170,000 g
             activity(MACHINERY, "fuel.natural_gas", "10000 Nm3"),         # 21,621,888 g
             activity(MACHINERY, "heat.purchased", "50 GJ"),              # 5,500,000 g
             activity(MACHINERY, "gas.hfc134a", "3 kg"),                  # 3,900,000 g
             activity(MACHINERY, "process.co2_shielding_gas", "120 kg")]  # 120,000 g
    result = compute(MACHINERY, *MARCH_2022, lines)
    assert result.emissions == (Emission(2, 56_170_000), Emission(1, 21_621_888),
                                Emission(2, 5_500_000), Emission(1, 3_900_000),
                                Emission(1, 120_000))
    assert (result.scope1, result.scope2, result.total) == (25_641_888, 61_670_000, 87_311_888)


def test_no_activities_is_zero() -> None:
    assert compute(LOCATION, 0, 1, []) == Result((), 0, 0, 0)


# -- overflow: every step checked against 2^256 - 1 ------------------------------------------------

def test_overflow_at_a_parameter_product() -> None:
    limit = MAX // 235_000
    assert MAX - limit * 235_000 >= 5  # so the rounding addend still fits below
    expected = (limit * 235_000 + 5) // 10
    assert compute(AR5, *MARCH_2022, [Activity("gas.sf6", limit)]).total == expected
    with pytest.raises(AccountingOverflow):
        compute(AR5, *MARCH_2022, [Activity("gas.sf6", limit + 1)])


def test_overflow_at_the_rounding_addend() -> None:
    """An override of EF = 1: amount x 1 x 1 fits, + 500,000 does not."""
    lines = [Activity("heat.purchased", MAX), Activity("heat.purchased#EF", 1, EVIDENCE)]
    with pytest.raises(AccountingOverflow) as caught:
        compute(HEAT, 0, 1, lines)
    assert "denominator / 2" in caught.value.step
    fits = [Activity("heat.purchased", MAX - 500_000), lines[1]]
    assert compute(HEAT, 0, 1, fits).total == MAX // 1_000_000


def test_the_largest_line_and_an_overflowing_sum() -> None:
    big = Activity("process.co2_shielding_gas", MAX)
    assert compute(AR5, *MARCH_2022, [big]).total == MAX
    with pytest.raises(AccountingOverflow, match="scope 1 sum"):
        compute(AR5, *MARCH_2022, [big, Activity("process.co2_shielding_gas", 1)])
    # scope 1 and scope 2 each fit, their total does not
    mixed = [Activity("process.co2_shielding_gas", MAX),
             Activity("heat.purchased", 10**6), Activity("heat.purchased#EF", 1, EVIDENCE)]
    with pytest.raises(AccountingOverflow, match="total"):
        compute(MACHINERY, *MARCH_2022, mixed)


def test_overflow_of_a_deduction_pool() -> None:
    lines = [Activity("electricity.gec", MAX, EVIDENCE), Activity("electricity.gec", 1, EVIDENCE)]
    with pytest.raises(AccountingOverflow, match="deduction pool"):
        compute(MARKET, *MARCH_2022, lines)


def test_overflow_is_panic_0x11() -> None:
    with pytest.raises(OverflowError) as caught:
        compute(AR5, *MARCH_2022, [Activity("gas.sf6", MAX)])
    assert isinstance(caught.value, AccountingOverflow)
    assert caught.value.contract_error == "Panic(0x11)"
    assert caught.value.contract_args() == {"code": 0x11}


# -- errors and the order of the checks ------------------------------------------------------------

@pytest.mark.parametrize(("start", "end"), [(5, 5), (6, 5), (UINT64_MAX, 0)])
def test_invalid_period_comes_first(start: int, end: int) -> None:
    with pytest.raises(InvalidPeriod) as caught:
        compute(LOCATION, start, end, [Activity("unknown", 1)])
    assert caught.value.contract_args() == {"periodStart": start, "periodEnd": end}


def test_unknown_source_and_raw_bytes32_sources() -> None:
    with pytest.raises(UnknownSource) as caught:
        compute(LOCATION, 0, 1, [Activity("electricity.grid", 1), Activity("gas.sf6", 1)])
    assert caught.value.source == encode_code("gas.sf6")
    for raw in (bytes(32), b"\xff" * 32, b"electricity.grid\x00x".ljust(32, b"\0")):
        with pytest.raises(UnknownSource) as caught:
            compute(LOCATION, 0, 1, [Activity(raw, 1)])
        assert caught.value.source == raw
    # a raw bytes32 holding a known code is that source
    raw = encode_code("electricity.grid")
    assert compute(LOCATION, *MARCH_2022, [Activity(raw, 10**6)]).total == 536_600


def test_missing_evidence_on_deductions_and_overrides_only() -> None:
    with pytest.raises(MissingEvidence) as caught:
        compute(MARKET, *MARCH_2022, [Activity("electricity.grid", 1),
                                      Activity("electricity.gec", 1)])
    assert caught.value.contract_args() == {"index": 1}
    with pytest.raises(MissingEvidence):
        compute(HEAT, *MARCH_2022, [Activity("heat.purchased#EF", 1)])
    # evidence on an emission line is allowed and ignored
    assert compute(LOCATION, *MARCH_2022, [Activity("electricity.grid", 10**6, EVIDENCE)]).total \
        == 536_600


def test_duplicate_override() -> None:
    line = Activity("heat.purchased#EF", 1, EVIDENCE)
    with pytest.raises(DuplicateOverride) as caught:
        compute(HEAT, *MARCH_2022, [line, Activity("heat.purchased", 1), line])
    assert caught.value.contract_args() == {"source": encode_code("heat.purchased#EF")}
    # several deduction lines are fine: they add up
    gec = Activity("electricity.gec", 1, EVIDENCE)
    compute(MARKET, *MARCH_2022, [gec, gec])


def test_the_first_pass_checks_lines_in_input_order() -> None:
    no_evidence = Activity("electricity.gec", 1)
    unknown = Activity("nope", 1)
    with pytest.raises(MissingEvidence):
        compute(MARKET, *MARCH_2022, [no_evidence, unknown])
    with pytest.raises(UnknownSource):
        compute(MARKET, *MARCH_2022, [unknown, no_evidence])
    # evidence is checked before duplication
    override = Activity("heat.purchased#EF", 1, EVIDENCE)
    with pytest.raises(MissingEvidence) as caught:
        compute(HEAT, *MARCH_2022, [override, Activity("heat.purchased#EF", 1)])
    assert caught.value.index == 1


def test_the_first_pass_completes_before_any_factor_is_looked_up() -> None:
    crossing = (beijing(2022, 12, 31), beijing(2023, 1, 2))
    lines = [Activity("electricity.grid", 1), Activity("electricity.gec", 1)]
    with pytest.raises(MissingEvidence):
        compute(MARKET, *crossing, lines)
    pool_overflow = [Activity("electricity.grid", 1), Activity("electricity.gec", MAX, EVIDENCE),
                     Activity("electricity.gec", 1, EVIDENCE)]
    with pytest.raises(AccountingOverflow):
        compute(MARKET, *crossing, pool_overflow)


def test_lines_are_computed_in_input_order() -> None:
    overflowing = Activity("gas.sf6", MAX)
    missing_factor = Activity("fuel.coke", 1)
    with pytest.raises(AccountingOverflow):
        compute(MACHINERY, *MARCH_2022, [overflowing, missing_factor])
    with pytest.raises(NoFactorForPeriod):
        compute(MACHINERY, *MARCH_2022, [missing_factor, overflowing])


def test_a_line_resolves_every_parameter_before_multiplying() -> None:
    """NCV is overridden with a value that overflows at once, but CC has no row: the line's
    parameters are all resolved first (section 1.4 step 5 before step 6)."""
    lines = [Activity("fuel.coke", 2), Activity("fuel.coke#NCV", MAX, EVIDENCE)]
    with pytest.raises(NoFactorForPeriod):
        compute(COMBUSTION, *MARCH_2022, lines)


def test_sums_are_checked_after_every_line() -> None:
    """Two maximal scope-1 lines overflow the scope-1 sum, but a later line without a factor is
    reported first: the sums are step 4, after all lines."""
    big = Activity("process.co2_shielding_gas", MAX)
    crossing = (beijing(2022, 12, 31), beijing(2023, 1, 2))
    with pytest.raises(NoFactorForPeriod):
        compute(MACHINERY, *crossing, [big, big, Activity("electricity.grid", 1)])


@pytest.mark.parametrize("bad", [
    lambda: Activity("electricity.grid", -1),
    lambda: Activity("electricity.grid", MAX + 1),
    lambda: Activity("electricity.grid", True),
    lambda: Activity("electricity.grid", 1.0),  # type: ignore[arg-type]
    lambda: Activity("electricity.grid", 1, bytes(31)),
    lambda: Activity("not a code", 1),
    lambda: Activity(b"short", 1),
    lambda: compute(LOCATION, -1, 1, []),
    lambda: compute(LOCATION, 0, UINT64_MAX + 1, []),
    lambda: compute(LOCATION, 0, 1, [("electricity.grid", 1, ZERO32)]),  # type: ignore[list-item]
])
def test_inputs_the_abi_cannot_encode_are_refused(bad: object) -> None:
    with pytest.raises(InvalidActivity):
        bad()  # type: ignore[operator]
