"""Properties of the calculator over generated inputs: the lines add up to the totals, a line is
the exact rational result rounded half up, scaling and splitting behave, and deductions never make
emissions negative. Any failure raised must be one the contract could raise."""

from __future__ import annotations

from fractions import Fraction
from math import floor

from hypothesis import example, given, settings
from hypothesis import strategies as st

from accounting_rules import (
    AccountingError,
    Activity,
    Methodology,
    Result,
    SourceKind,
    compute,
    load_methodology,
)
from accounting_rules.errors import CONTRACT_ERROR
from factories import EVIDENCE, activity_lists, beijing, computable_sources
from mrv_core.codec import UINT256_MAX

PERIOD = (beijing(2022, 3), beijing(2022, 4))
MACHINERY = load_methodology("cn.machinery", 1)
MARKET = load_methodology("cn.electricity.market", 1)
ALL = [load_methodology("cn.machinery", 1), MARKET, load_methodology("ipcc.fugitive", 2)]
#: Emission sources that compute without overrides in PERIOD, across the shipped methodologies.
EMITTING = [(m, code) for m in ALL for code in computable_sources(m, *PERIOD)
            if m.source(code).kind is SourceKind.EMISSION]
FAST = settings(max_examples=60, deadline=None)


def _default(m: Methodology, code: str) -> tuple[int, int, int]:
    """(product of the default parameters, numerator, denominator) of an emission source."""
    spec = m.source(code)
    product = 1
    for parameter in spec.parameters:
        product *= next(r.value for r in m.rows(code, parameter) if r.covers(*PERIOD))
    return product, spec.numerator, spec.denominator


def _check_sums(result: Result) -> None:
    assert result.scope1 == sum(e.grams for e in result.emissions if e.scope == 1)
    assert result.scope2 == sum(e.grams for e in result.emissions if e.scope == 2)
    assert result.total == result.scope1 + result.scope2 <= UINT256_MAX
    assert all(e.grams >= 0 and e.scope in (1, 2) for e in result.emissions)


@FAST
@given(st.data())
def test_lines_add_up_or_a_contract_error(data: st.DataObject) -> None:
    """Any mix of lines (unknown to none, evidence sometimes missing, overrides repeated, amounts
    up to 2^256 - 1): either the sums hold, or the failure is one the contract has."""
    m = data.draw(st.sampled_from(ALL))
    lines = data.draw(activity_lists(m))
    try:
        result = compute(m, *PERIOD, lines)
    except AccountingError as exc:
        assert type(exc) in CONTRACT_ERROR.values()
        return
    assert len(result.emissions) == len(lines)
    _check_sums(result)


@FAST
@given(st.data())
def test_valid_lines_always_compute_and_add_up(data: st.DataObject) -> None:
    m = data.draw(st.sampled_from(ALL))
    lines = data.draw(activity_lists(m, sources=computable_sources(m, *PERIOD),
                                     max_amount=10**40))
    lines = [Activity(line.source, line.amount, EVIDENCE) for line in lines]
    _check_sums(compute(m, *PERIOD, lines))


@FAST
@given(st.sampled_from(EMITTING), st.integers(min_value=0, max_value=10**30))
@example(EMITTING[0], 0)
def test_a_line_is_the_exact_result_rounded_half_up(choice: tuple[Methodology, str],
                                                    amount: int) -> None:
    m, code = choice
    product, numerator, denominator = _default(m, code)
    exact = Fraction(amount * product * numerator, denominator)
    assert compute(m, *PERIOD, [Activity(code, amount)]).total == floor(exact + Fraction(1, 2))


@FAST
@given(st.sampled_from(EMITTING), st.integers(min_value=0, max_value=10**25),
       st.integers(min_value=0, max_value=10**25), st.integers(min_value=1, max_value=10**6))
def test_scaling_and_splitting(choice: tuple[Methodology, str], a: int, b: int, k: int) -> None:
    """Whole multiples of the denominator scale exactly; splitting a line moves the sum by at most
    1 g (one rounding per line); more activity never emits less."""
    m, code = choice
    product, numerator, denominator = _default(m, code)

    def grams(amount: int) -> int:
        return compute(m, *PERIOD, [Activity(code, amount)]).total

    assert grams(k * denominator) == k * product * numerator
    split = compute(m, *PERIOD, [Activity(code, a), Activity(code, b)]).total
    assert abs(grams(a + b) - split) <= 1
    assert grams(a) <= grams(a + b)


@FAST
@given(st.lists(st.tuples(st.booleans(), st.integers(min_value=0, max_value=10**12)),
                max_size=10))
def test_deductions_never_make_emissions_negative(entries: list[tuple[bool, int]]) -> None:
    """Grid lines (False) and certificate lines (True) in any order: the certificates form one pool
    that the grid lines consume in input order; no line pays more than it would without
    certificates, none goes below zero, and certificates covering everything leave zero."""
    lines = [Activity("electricity.gec", amount, EVIDENCE) if is_certificate
             else Activity("electricity.grid", amount) for is_certificate, amount in entries]
    result = compute(MARKET, *PERIOD, lines)
    bare = compute(MARKET, *PERIOD, [line for line in lines if line.source == "electricity.grid"])
    grid = [e.grams for line, e in zip(lines, result.emissions, strict=True)
            if line.source == "electricity.grid"]
    assert all(0 <= with_pool <= alone for with_pool, alone
               in zip(grid, (e.grams for e in bare.emissions), strict=True))
    # the pool holds every certificate of the computation, wherever its line stands
    pool = sum(amount for is_certificate, amount in entries if is_certificate)
    factor = _default(MARKET, "electricity.grid")[0]
    expected = []
    for is_certificate, amount in entries:
        if not is_certificate:
            covered = min(pool, amount)
            pool -= covered
            expected.append(((amount - covered) * factor + 500_000) // 1_000_000)
    assert grid == expected
    consumption = sum(amount for is_certificate, amount in entries if not is_certificate)
    if consumption <= sum(amount for is_certificate, amount in entries if is_certificate):
        assert result.total == 0
    # every certificate line emits nothing
    assert all(e.grams == 0 for line, e in zip(lines, result.emissions, strict=True)
               if line.source == "electricity.gec")
