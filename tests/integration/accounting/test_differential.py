"""The differential test of docs/accounting.md: for every shipped methodology version, the
``FactorMethodology`` contract (published on each backend, ``conftest.py``) and the Python
calculator return identical integers, identical totals and identical failures on thousands of
generated cases.

Two tests per version. The bulk, one hypothesis test: every case on anvil at paris and on anvil at
its newest hardfork, both computing it at once over bare JSON-RPC (``eth_call`` with calldata
encoded by eth-abi; anvil's EVM is far faster than py-evm). The py-evm share: every explicit edge
case on the embedded chain (py-evm, the EVM the product runs in process), through
``EthereumTester.call``. Each case is a period and a list of activity lines; the calculator
(:func:`accounting_rules.compute`) and the contract (decoded, reverts included, as
:func:`accounting_rules.publishing.compute_on_chain` does) must return the same
:class:`~accounting_rules.Result`, or raise the same :class:`~accounting_rules.AccountingError`
type with the same contract arguments. ``compute_on_chain`` itself, through web3 and the
registry's code-hash check, is tested in ``test_publishing.py``.

What the cases cover:

- periods inside a factor row (its first and last second, a month, the whole row, random
  sub-periods, up to 2^64 - 1 for open-ended rows), across data-year boundaries, ending exactly at
  a boundary, before the first row, far in the future, empty and reversed;
- every source of every methodology, overrides (with and without evidence, duplicated, replacing
  a default or supplying a missing one: every fuel without defaults computes with its three
  measured parameters), deductions (pools consumed in input order, larger than the activity,
  without evidence, overflowing), repeated emission lines, unknown sources (other methodologies'
  codes, raw bytes, zero);
- amounts 0, meter-sized, large, exactly the largest amount that does not overflow and one more,
  and the first amount that overflows at each multiplication; overflowing override values and
  scope sums.

The explicit examples (:func:`edge_cases`) pin those edges deterministically; hypothesis adds the
rest, derandomized (a fixed seed and no example database; the engine's choices can still shift a
few percent of the cases between runs, as the printed counts show). A failure prints the case,
which then belongs in :func:`edge_cases`. Every version must see at least
:data:`MIN_CASES` cases and :data:`MIN_LINES` compared activity lines (the lines of cases both
engines computed, each line's scope and grams compared); the counts are printed at the end of the
run.

Cost: py-evm interprets ``compute`` at ~6 ms per call plus ~1 ms per activity line (27 to 184 s
per version when the bulk ran there); on anvil the bulk takes 20 to 40 s per version, mostly
hypothesis's generation and the Python calculator, and the edge cases on py-evm 2 to 10 s.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from math import prod
from typing import TypeVar

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from integration.accounting.support import (
    Deployed,
    Tally,
    compute_calldata,
    compute_direct,
    compute_result,
    send_compute,
    shallow,
)

from accounting_rules import (
    OPEN_ENDED,
    ZERO32,
    AccountingError,
    Activity,
    Methodology,
    Result,
    SourceKind,
    SourceSpec,
    compute,
    load_methodology,
    methodologies,
)
from accounting_rules.codes import encode_code
from factories import EVIDENCE, activity_lists, beijing
from mrv_core.codec import UINT64_MAX, UINT256_MAX
from mrv_core.hashing import keccak256

MAX = UINT256_MAX
DAY = 86_400
#: Every methodology version must see at least this many cases and compared activity lines.
MIN_CASES = 2_000
MIN_LINES = 5_000
#: Generated cases per version, besides the explicit examples (~40 to ~230 per version).
EXAMPLES = 2_000
#: Emission lines per generated case (overrides and deductions come on top). Short cases: the
#: EVM's cost is ~6 ms per call plus ~1 ms per line, and many short cases reach more edges than
#: a few long ones.
EMISSION_LINES = (1, 12)
#: A month inside a factor row of every shipped methodology (their latest rows are open-ended).
JUNE_2023 = (beijing(2023, 6), beijing(2023, 7))
#: Plausible measured values for overrides of parameters that have no default row.
PLAUSIBLE = {"NCV": 40_000, "CC": 20_000, "OF": 9_800, "EF": 500_000, "GWP": 10_000}
ALL_CODES = sorted({code for key in methodologies()
                    for code in load_methodology(*key).source_codes})
OTHER_EVIDENCE = keccak256(b"another certificate")

Case = tuple[tuple[int, int], list[Activity]]
T = TypeVar("T")
Outcome = tuple[str, object]


# -- what a methodology offers --------------------------------------------------------------------

class Profile:
    """One methodology's sources, overrides, deductions and factor periods, for generating cases."""

    def __init__(self, m: Methodology) -> None:
        self.m = m
        self.emission = [s for s in m.sources if s.kind is SourceKind.EMISSION]
        self.deductions = [s for s in m.sources if s.kind is SourceKind.DEDUCTION]
        self.override_specs = [s for s in m.sources if s.kind is SourceKind.OVERRIDE]
        self.overrides = {(s.target, s.parameters[0]): s.source for s in self.override_specs}
        self.row_periods = sorted({(r.valid_from, r.valid_until) for r in m.factors})
        self.first = min(r.valid_from for r in m.factors)
        self.boundaries = sorted({b for r in m.factors for b in (r.valid_from, r.valid_until)
                                  if b != OPEN_ENDED})
        self.unknown = [code for code in ALL_CODES if m.find_source(code) is None]
        self.unit_sum = [s for s in self.emission
                         if not s.parameters and s.numerator == s.denominator]
        self.activity_lists = activity_lists(m, max_lines=12)

    def default(self, source: str, parameter: str, period: tuple[int, int]) -> int | None:
        """The value of the row covering the whole period, if any."""
        return next((r.value for r in self.m.rows(source, parameter) if r.covers(*period)), None)

    def enableable(self, period: tuple[int, int]) -> list[SourceSpec]:
        """Emission sources that compute in ``period`` (overrides where a default is missing)."""
        return [s for s in self.emission
                if all(self.default(s.source, p, period) is not None
                       or (s.source, p) in self.overrides for p in s.parameters)]

    def values(self, spec: SourceSpec, period: tuple[int, int],
               overridden: dict[tuple[str, str], int]) -> list[int] | None:
        """The parameter values a line of ``spec`` uses, ``None`` when one is missing."""
        values = []
        for parameter in spec.parameters:
            value = overridden.get((spec.source, parameter),
                                   self.default(spec.source, parameter, period))
            if value is None:
                return None
            values.append(value)
        return values

    def overrides_for(self, spec: SourceSpec, period: tuple[int, int],
                      all_parameters: bool = False) -> dict[tuple[str, str], int]:
        """Override values making ``spec`` computable in ``period`` (the default value where there
        is one, so the override is visible only as a replacement)."""
        chosen = {}
        for parameter in spec.parameters:
            if (spec.source, parameter) not in self.overrides:
                continue
            default = self.default(spec.source, parameter, period)
            if default is None or all_parameters:
                chosen[spec.source, parameter] = default or PLAUSIBLE[parameter]
        return chosen

    def override_lines(self, chosen: dict[tuple[str, str], int]) -> list[Activity]:
        return [Activity(self.overrides[key], value, EVIDENCE) for key, value in chosen.items()]


def safe_max(spec: SourceSpec, values: Sequence[int]) -> int:
    """The largest amount whose line does not overflow (section 1.4 step 6)."""
    product = prod(values) * spec.numerator
    return MAX if product == 0 else max(0, (MAX - spec.denominator // 2) // product)


def first_overflows(spec: SourceSpec, values: Sequence[int]) -> list[int]:
    """For each step of the line's arithmetic, the smallest amount that overflows there (or
    earlier): after each parameter, after the numerator, after adding half the denominator."""
    steps = []
    running = 1
    for factor in (*values, spec.numerator):
        running *= factor
        if running > 1:
            steps.append(MAX // running + 1)
    if running:
        steps.append(safe_max(spec, values) + 1)
    return sorted({amount for amount in steps if amount <= MAX})


# -- the explicit examples ------------------------------------------------------------------------

def every_source_once(p: Profile, period: tuple[int, int], amount: int,
                      deducted: int | None = None) -> list[Activity]:
    """One line of every source: every override (so every fuel has its measured parameters), every
    deduction, every emission source."""
    lines = []
    for spec in p.override_specs:
        target = p.m.source(str(spec.target))
        default = p.default(target.source, spec.parameters[0], period)
        value = 0 if amount == 0 else default or PLAUSIBLE[spec.parameters[0]]
        lines.append(Activity(spec.source, value, EVIDENCE))
    lines += [Activity(s.source, amount if deducted is None else deducted, EVIDENCE)
              for s in p.deductions]
    return lines + [Activity(s.source, amount) for s in p.emission]


def edge_cases(p: Profile) -> list[Case]:
    """The edges of every rule, for one methodology, as explicit cases."""
    june = JUNE_2023
    cases: list[Case] = [
        (june, []),
        (june, every_source_once(p, june, 0)),
        (june, every_source_once(p, june, 10**9, deducted=10**8)),
        (june, every_source_once(p, june, 2**128, deducted=2**127)),
        (june, every_source_once(p, june, 10**6) * 2),  # repeated lines; overrides twice: fails
    ]
    # Each emission source: 0, 1, a meter-sized amount and the largest amount that does not
    # overflow in one case; alone, the first amount that overflows at each step of its arithmetic.
    # A fuel without defaults gets its three measured parameters; one with defaults, also with
    # all of them replaced by equal measured values.
    for spec in p.emission:
        for everything in (False, True):
            chosen = p.overrides_for(spec, june, all_parameters=everything)
            if everything and not chosen:
                continue
            values = p.values(spec, june, chosen)
            assert values is not None, spec.source
            head = p.override_lines(chosen)
            largest = safe_max(spec, values)
            cases.append((june, [*head, *(Activity(spec.source, amount)
                                          for amount in (0, 1, 10**6, largest, largest - 1))]))
            if not everything:
                cases += [(june, [*head, Activity(spec.source, amount)])
                          for amount in first_overflows(spec, values)]
    # Periods: every boundary crossed, touched from either side, the first row's start, before
    # anything, far in the future, empty and reversed; each with one line of every source.
    periods = [(0, 1), (0, UINT64_MAX), (UINT64_MAX - 1, UINT64_MAX), (UINT64_MAX, UINT64_MAX),
               (1, 0), (june[1], june[0]), (p.first - 366 * DAY, p.first - 335 * DAY)]
    for boundary in p.boundaries:
        periods += [(boundary - 1, boundary + 1), (boundary - 15 * DAY, boundary + 16 * DAY),
                    (boundary - 1, boundary), (boundary, boundary + 1), (boundary, boundary)]
    for valid_from, valid_until in p.row_periods:
        periods += [(valid_from, valid_until), (valid_until - 1, valid_until)]
    cases += [(period, every_source_once(p, period, 10**6)) for period in periods]
    # Unknown sources: another methodology's code, raw bytes, zero; and the order of the checks.
    known = Activity(p.emission[0].source, 10**6)
    raw_known = encode_code(p.emission[0].source)
    unknowns = [Activity(code, 1) for code in p.unknown[:3]] + [
        Activity("fuel.unobtainium", 0), Activity(ZERO32, 1), Activity(b"\xff" * 32, 1),
        Activity(raw_known[:31] + b"\x01", 1), Activity(p.emission[0].source.upper(), 1)]
    cases += [(june, [known, line, known]) for line in unknowns]
    cases.append((june, [Activity(raw_known, 10**6), known]))  # raw bytes of a known code
    cases.append(((1, 0), [unknowns[0]]))  # the period is checked first
    # Overrides: without evidence, twice, after an unknown source, overflowing.
    for spec in p.override_specs[:6]:
        target = p.m.source(str(spec.target))
        line = Activity(spec.source, 1_000, EVIDENCE)
        bare = Activity(spec.source, 1_000)
        emit = Activity(target.source, 10**6)
        cases += [
            (june, [emit, line, emit]),
            (june, [emit, bare]),
            (june, [line, Activity(spec.source, 2_000, OTHER_EVIDENCE)]),
            (june, [line, bare]),
            (june, [bare, line]),
            (june, [unknowns[0], bare]),
            (june, [bare, unknowns[0]]),
            (june, [Activity(spec.source, MAX, EVIDENCE), emit]),
            (june, [Activity(spec.source, 0, EVIDENCE), Activity(target.source, MAX)]),
        ]
    # Deductions: pools equal to, larger and smaller than the activity, consumed in input order,
    # listed after the lines they cover, without evidence, overflowing.
    for spec in p.deductions:
        target = str(spec.target)
        others = [Activity(d.source, 7, EVIDENCE) for d in p.deductions if d is not spec]

        def pool(amount: int, evidence: bytes = EVIDENCE, spec: SourceSpec = spec) -> Activity:
            return Activity(spec.source, amount, evidence)

        def emit(amount: int, target: str = target) -> Activity:
            return Activity(target, amount)

        cases += [
            (june, [pool(10**6), emit(10**6)]),
            (june, [pool(15 * 10**5), emit(10**6)]),
            (june, [emit(10), pool(15), emit(10), emit(10), *others, emit(3)]),
            (june, [emit(10**6), emit(1), pool(10**6 - 1)]),
            (june, [pool(0), emit(5)]),
            (june, [pool(MAX), emit(MAX), emit(1)]),
            (june, [pool(MAX), pool(1), emit(1)]),
            (june, [pool(MAX), *others, emit(1)]),
            (june, [emit(1), pool(10, ZERO32)]),
            (june, [pool(10, ZERO32), unknowns[0]]),
            ((june[0] - 365 * DAY * 5, june[0]), [pool(10), emit(1)]),
            ((june[0] - 365 * DAY * 5, june[0]), [pool(10)]),
        ]
    # Scope sums: a source whose grams are its amount overflows them.
    for spec in p.unit_sum:
        cases += [(june, [Activity(spec.source, MAX), Activity(spec.source, 0)]),
                  (june, [Activity(spec.source, MAX), Activity(spec.source, 1)]),
                  (june, [Activity(spec.source, MAX - 5), Activity(spec.source, 5)])]
        for other in p.emission:
            if other.scope != spec.scope:  # scope1 = MAX, scope2 > 0: the total overflows
                cases += [(june, [Activity(spec.source, MAX), Activity(other.source, 10**6)]),
                          (june, [Activity(spec.source, MAX), Activity(other.source, 0)])]
                break
    return cases


# -- generated cases ------------------------------------------------------------------------------
#
# Strategies are built once, here: hypothesis validates every new strategy object, which would
# cost more than the drawing itself when a case has 50 lines.

SMALL_AMOUNTS = st.sampled_from([0, 1, 2, 499_999, 500_000, 999_999, 1_000_000, 10**9])
METER_AMOUNTS = st.integers(0, 10**12)
LARGE_AMOUNTS = st.integers(0, 2**64)
ANY_UINT256 = st.integers(0, MAX)
HUGE_VALUES = st.sampled_from([MAX, 2**255, 2**128, 2**64])
PLAUSIBLE_VALUES = st.integers(0, 10**7)
DEDUCTED = st.integers(0, 10**10)
LENGTHS = st.sampled_from([1, DAY, 30 * DAY, 31 * DAY, 365 * DAY, 366 * DAY])
OFFSETS = st.sampled_from([0, 1, DAY, 31 * DAY, 366 * DAY])
ANY_START = st.integers(0, UINT64_MAX - 1)
ANY_TIME = st.integers(0, UINT64_MAX)
DURATIONS = st.integers(1, 2 * 366 * DAY)
EMISSION_EVIDENCE = st.sampled_from([ZERO32, EVIDENCE])
MODES = st.sampled_from(["normal"] * 7 + ["stress"] * 2 + ["wild"])
FAULTS = st.sampled_from(["none", "duplicate", "no evidence", "unknown"])
EMISSION_LINE_COUNTS = st.integers(*EMISSION_LINES)
RAW_SOURCES = st.binary(min_size=32, max_size=32)
_BELOW = [st.integers(0, n) for n in range(64)]


def below(draw: st.DrawFn, n: int) -> int:
    """A number in ``[0, n)``."""
    return draw(_BELOW[n - 1]) if n <= len(_BELOW) else draw(st.integers(0, n - 1))


def choose(draw: st.DrawFn, options: Sequence[T]) -> T:
    return options[below(draw, len(options))]


@st.composite
def periods(draw: st.DrawFn, p: Profile) -> tuple[int, int]:
    """Mostly periods inside a factor row; also at and across boundaries, and anywhere."""
    pick = below(draw, 10)
    if pick <= 6:  # a sub-period of a row: its start, a day, a month, a year, or anything
        valid_from, valid_until = choose(draw, p.row_periods)
        start = choose(draw, [valid_from,
                              draw(st.integers(valid_from, min(valid_until - 1,
                                                               valid_from + 3 * 366 * DAY))),
                              draw(st.integers(valid_from, valid_until - 1))])
        end = min(start + draw(LENGTHS), valid_until)
        return start, end if below(draw, 2) else draw(st.integers(start + 1, valid_until))
    if pick <= 8:  # ending at, starting at or crossing a boundary; now and then empty or reversed
        boundary = choose(draw, [*p.boundaries, p.first])
        start = max(0, boundary - draw(OFFSETS))
        end = min(UINT64_MAX, boundary + draw(OFFSETS))
        return (end, start) if below(draw, 10) == 0 else (start, end)
    start = draw(ANY_START)
    if below(draw, 4) == 0:  # any pair: half of them empty or reversed
        return start, draw(ANY_TIME)
    return start, min(UINT64_MAX, start + draw(DURATIONS))


def unknown_line(draw: st.DrawFn, p: Profile) -> Activity:
    """A line of a source the methodology does not know: another methodology's code, a code
    differing in case, raw bytes (zero, all ones, a known code with a trailing byte, random)."""
    raw_known = encode_code(p.emission[0].source)
    source: str | bytes = choose(draw, [
        *p.unknown, "fuel.unobtainium", p.emission[0].source.upper(), ZERO32, b"\xff" * 32,
        raw_known[:31] + b"\x01", draw(RAW_SOURCES)])
    return Activity(source, draw(METER_AMOUNTS), draw(EMISSION_EVIDENCE))


def factor_value(draw: st.DrawFn, default: int | None, parameter: str, stress: bool) -> int:
    """A measured parameter value: the default, a neighbour, anything plausible, or (stress) up
    to 2^256 - 1."""
    usual = default if default is not None else PLAUSIBLE[parameter]
    pick = below(draw, 10 if stress else 8)
    if pick <= 3:
        return choose(draw, [usual, usual + 1, max(0, usual - 1), 0, 1])
    if pick <= 7:
        return draw(PLAUSIBLE_VALUES)
    return draw(HUGE_VALUES) if pick == 8 else draw(ANY_UINT256)


def amount(draw: st.DrawFn, spec: SourceSpec, values: Sequence[int] | None, stress: bool) -> int:
    """An activity amount: mostly meter-sized, sometimes large or near the largest that does not
    overflow (a 64th of it, so that the scope sums of a case cannot overflow); under stress
    exactly the largest, the first overflow of each step, or any uint256."""
    pick = below(draw, 20 if stress else 18)
    if pick <= 5:
        return draw(SMALL_AMOUNTS)
    if pick <= 12:
        return draw(METER_AMOUNTS)
    if pick <= 15:
        return draw(LARGE_AMOUNTS)
    if pick <= 17:
        top = MAX if values is None else safe_max(spec, values)
        top = top if stress else top // 64
        return choose(draw, [top, max(0, top - 1), top // 2])
    if pick == 18 and values is not None and (over := first_overflows(spec, values)):
        return choose(draw, over)
    return draw(ANY_UINT256)


@st.composite
def cases(draw: st.DrawFn, p: Profile) -> Case:
    """A period and activity lines: mostly lines that compute (sources with factors for the
    period, the overrides a fuel needs, deductions), sometimes with faults injected (stress), and
    sometimes anything (the factories' ``activity_lists`` plus unknown sources)."""
    period = draw(periods(p))
    mode = draw(MODES)
    if mode == "wild":
        lines = draw(p.activity_lists)
        for _ in range(below(draw, 3)):
            lines.insert(below(draw, len(lines) + 1), unknown_line(draw, p))
        return period, lines
    stress = mode == "stress"
    enableable = p.enableable(period)
    pool = enableable or p.emission
    enabled = [spec for spec in pool if below(draw, 4) == 0] or [choose(draw, pool)]
    special: list[Activity] = []
    overridden: dict[tuple[str, str], int] = {}
    for spec in enabled:
        for parameter in spec.parameters:
            if (spec.source, parameter) not in p.overrides:
                continue
            default = p.default(spec.source, parameter, period)
            if default is None or below(draw, 4) == 0:
                value = factor_value(draw, default, parameter, stress)
                overridden[spec.source, parameter] = value
                special.append(Activity(p.overrides[spec.source, parameter], value, EVIDENCE))
    for spec in p.deductions:
        for _ in range(below(draw, 3)):
            deducted = amount(draw, spec, [], stress) if stress else draw(DEDUCTED)
            special.append(Activity(spec.source, deducted, EVIDENCE))
    values = {spec.source: p.values(spec, period, overridden) for spec in enabled}
    lines = []
    for _ in range(draw(EMISSION_LINE_COUNTS)):
        spec = choose(draw, enabled)
        lines.append(Activity(spec.source, amount(draw, spec, values[spec.source], stress),
                              draw(EMISSION_EVIDENCE)))
    if stress:
        fault = draw(FAULTS)
        if fault == "duplicate" and overridden:
            twice = choose(draw, special[:len(overridden)])
            special.append(Activity(twice.source, draw(PLAUSIBLE_VALUES), OTHER_EVIDENCE))
        elif fault == "no evidence" and special:
            index = below(draw, len(special))
            special[index] = Activity(special[index].source, special[index].amount, ZERO32)
        elif fault == "unknown":
            special.append(unknown_line(draw, p))
    for line in special:  # overrides and deductions anywhere among the emission lines
        lines.insert(below(draw, len(lines) + 1), line)
    return period, lines


# -- the test -------------------------------------------------------------------------------------

def outcome(run: Callable[[], Result]) -> Outcome:
    """``("ok", result)`` or ``(error type, its contract arguments)``."""
    try:
        return "ok", run()
    except AccountingError as exc:
        return type(exc).__name__, exc.contract_args()


def checker(nodes: Sequence[Deployed], m: Methodology, tally: Tally) -> Callable[[Case], None]:
    """The check of one case: the calculator's outcome equals the contract's on every one of
    ``nodes`` (the embedded chain alone, or anvil nodes, which compute the case at the same time);
    counted once in ``tally``."""
    key = (m.id, m.version)

    def check(case: Case) -> None:
        (start, end), lines = case
        python = outcome(lambda: compute(m, start, end, lines))
        if nodes[0].rpc is None:
            (embedded,) = nodes
            address = embedded.address(key)
            outcomes = [(embedded, outcome(lambda: shallow(
                lambda: compute_direct(embedded, address, start, end, lines))))]
        else:
            calldata = compute_calldata(start, end, lines)
            for node in nodes:
                send_compute(node, node.address(key), calldata)
            outcomes = [(node, outcome(lambda: compute_result(
                node, node.rpc.receive())))  # type: ignore[union-attr]  # noqa: B023
                        for node in nodes]
        for node, contract in outcomes:
            assert contract == python, (f"the contract and the calculator differ for {m.id} "
                                        f"v{m.version} on {node.backend}")
        tally.record(len(lines), None if python[0] == "ok" else python[0])

    return check


@pytest.mark.parametrize("key", methodologies(), ids=lambda key: f"{key[0]}-v{key[1]}")
def test_contract_and_calculator_agree_on_the_edge_cases_on_py_evm(
        embedded: Deployed, key: tuple[str, int],
        record_property: Callable[[str, object], None]) -> None:
    """The py-evm share: every explicit edge case on the embedded chain (py-evm), the EVM the
    product runs in process."""
    m = load_methodology(*key)
    tally = Tally()
    began = time.perf_counter()
    check = checker([embedded], m, tally)
    for case in edge_cases(Profile(m)):
        check(case)
    tally.seconds = time.perf_counter() - began
    record_property("figure", ("TrustMRV differential test: edge cases on py-evm (embedded)",
                               f"{m.id} v{m.version}", tally.summary()))
    assert tally.ok_cases > 0 and tally.errors, tally.summary()


@pytest.mark.parametrize("key", methodologies(), ids=lambda key: f"{key[0]}-v{key[1]}")
def test_contract_and_calculator_agree_on_anvil(
        anvil_paris: Deployed, anvil_latest: Deployed, key: tuple[str, int],
        record_property: Callable[[str, object], None]) -> None:
    """The bulk: the edge cases and :data:`EXAMPLES` generated cases, each computed by the
    calculator once and by the contract on anvil at paris and at anvil's newest hardfork, over
    JSON-RPC (far faster than py-evm)."""
    m = load_methodology(*key)
    profile = Profile(m)
    tally = Tally()
    began = time.perf_counter()
    test = settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
                    )(given(case=cases(profile))(checker([anvil_paris, anvil_latest], m, tally)))
    for case in edge_cases(profile):
        test = example(case=case)(test)
    test()
    tally.seconds = time.perf_counter() - began
    record_property("figure", ("TrustMRV differential test: contract vs Python calculator "
                               "(anvil paris and anvil latest, each case on both)",
                               f"{m.id} v{m.version}", tally.summary()))

    assert tally.cases >= MIN_CASES and tally.lines >= MIN_LINES, tally.summary()
    # Both outcomes were exercised: computed cases and identical failures.
    assert tally.ok_cases > 0 and tally.errors, tally.summary()
