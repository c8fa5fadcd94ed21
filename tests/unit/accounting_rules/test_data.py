"""The shipped data files: every file loads, every stored integer is the published figure the
project's research gave (transcribed here independently of the files), citations say how each was
verified, the composite equals its components, and the spec hashes are pinned."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest

from accounting_rules import (
    OPEN_ENDED,
    SourceKind,
    latest_version,
    load_document,
    load_methodology,
    methodologies,
)
from accounting_rules.datafile import (
    canonical_json,
    materialise,
    methodology_from_document,
    read_document,
    spec_hash,
)
from accounting_rules.errors import DataFileError, PublishedMismatch, UnknownMethodology
from accounting_rules.units import to_fraction
from factories import beijing
from mrv_core.hashing import keccak256

DATA = Path(__file__).resolve().parents[3] / "accounting_rules" / "data"

#: Pinned: any change to a data file (a factor, a citation, a word of the specification) changes
#: its hash. A published version must never change; a corrected one is a new version.
SPEC_HASHES = {
    ("cn.combustion.stationary", 1):
        "56c1609939fedf981db4f8cf09b72479e6a3b3afbe5669966cec2095be2bb3d5",
    ("cn.combustion.stationary", 2):
        "3a24eba36dec592aa6c6c35950593bd19b4905dc697c0ae287ddd41b4e62913b",
    ("cn.electricity.location", 1):
        "1f71c7c3ce66920855ea85336fd9f9f3bec192cda07282956cbd6b250678b5d5",
    ("cn.electricity.location", 2):
        "a971ff036c46c3b8b7e557b0ddcda03a8b73e1fecfec31de06cda0aec9922121",
    ("cn.electricity.market", 1):
        "a87bc757717f887dfb702350dfdc869d4dcd4299e6ad3de2144f005a4f5ad643",
    ("cn.heat.purchased", 1):
        "e4d6cdbd973b4bd22eddd9d6b30c7e08dd354ce8a2eca9a81a205eabf12cd3ec",
    ("cn.machinery", 1):
        "f3665cc45a2a62a60a61dcf3face17fc34ef0760028870d128d1859b5bb91996",
    ("cn.machinery", 2):
        "e970dbf7eb383dedab203006ac725713db065b53205a479829a4ab5b4350fd09",
    ("ipcc.fugitive", 1):
        "91e308a8177fe6c7729d5b19d62f26ba6221993dc535deb58b96c68fa2ffd60f",
    ("ipcc.fugitive", 2):
        "d83e64b5c8535c92249fbe4cc452aac93070115de7b7c8bb51aad85156f0b45d",
    ("ipcc.fugitive", 3):
        "afbb709dd9aa1d54eda0565d03cafe1c0f35cd3647dcf56e33fdde79ac5b067e",
}

TWO = "two independent secondary sources"
ONE = "one secondary source"
REGIONS = ("north", "northeast", "east", "central", "northwest", "south", "southwest")
#: The grid factors as researched (tCO2/MWh) and how each was verified, by data year.
NATIONAL = {2021: ("0.5568", TWO), 2022: ("0.5366", TWO), 2023: ("0.5306", TWO)}
EXCLUDING_MARKET = {2021: ("0.5942", ONE), 2022: ("0.5856", TWO), 2023: ("0.6096", TWO)}
REGIONAL = {
    2021: (("0.7120", "0.6012", "0.5992", "0.5354", "0.5951", "0.4326", "0.2113"), ONE),
    2022: (("0.6776", "0.5564", "0.5617", "0.5395", "0.5857", "0.3869", "0.2268"), TWO),
    2023: (("0.6361", "0.5122", "0.5500", "0.5271", "0.5543", "0.4042", "0.2472"), ONE),
}
ANNOUNCEMENT = {2021: "公告2024年第12号", 2022: "公告2024年第33号", 2023: "公告2025年第47号"}
GWP = {  # gas: (AR5, AR6 Table 7.SM.7)
    "sf6": ("23500", "25200"), "hfc134a": ("1300", "1530"), "hfc32": ("677", "771"),
    "hfc125": ("3170", "3740"), "hfc143a": ("4800", "5810"), "ch4": ("28", "27.9"),
    "n2o": ("265", "273"), "nf3": ("16100", "17400"),
}
FUELS = ("natural_gas", "diesel", "gasoline", "lpg", "fuel_oil", "raw_coal", "coke", "crude_oil",
         "kerosene", "coke_oven_gas")


def test_the_shipped_methodologies() -> None:
    assert methodologies() == tuple(sorted(SPEC_HASHES))
    assert latest_version("ipcc.fugitive") == 3
    assert load_methodology("ipcc.fugitive").version == 3
    assert load_methodology("ipcc.fugitive", 1).version == 1
    with pytest.raises(UnknownMethodology):
        load_methodology("cn.nothing")
    with pytest.raises(UnknownMethodology):
        load_methodology("ipcc.fugitive", 4)


@pytest.mark.parametrize(("mid", "version"), sorted(SPEC_HASHES))
def test_spec_hash_is_pinned_and_is_keccak_of_the_canonical_document(mid: str, version: int
                                                                      ) -> None:
    m = load_methodology(mid, version)
    assert m.spec_hash.hex() == SPEC_HASHES[(mid, version)]
    assert m.spec_hash == keccak256(canonical_json(load_document(mid, version)))
    assert (m.id, m.version) == (mid, version)


@pytest.mark.parametrize(("mid", "version"), sorted(SPEC_HASHES))
def test_the_hash_ignores_formatting_and_covers_every_field(mid: str, version: int) -> None:
    path = DATA / mid / f"v{version}.json"
    document = read_document(path.read_bytes(), path.name)
    reformatted = json.dumps(document, indent=7, ensure_ascii=True).encode()
    assert spec_hash(read_document(reformatted, "x")) == spec_hash(document)
    changed = dict(document, specification=[*document["specification"], "one more line"])
    assert spec_hash(changed) != spec_hash(document)


def test_canonical_json_is_sorted_compact_utf8() -> None:
    assert canonical_json({"b": 1, "a": ["电", None]}) == '{"a":["电",null],"b":1}'.encode()


@pytest.mark.parametrize(("mid", "version"), sorted(SPEC_HASHES))
def test_every_value_is_its_published_figure(mid: str, version: int) -> None:
    for row in load_methodology(mid, version).factors:
        assert to_fraction(row.published, row.unit) * 10**row.decimals == row.value, row.key
        assert row.decimals == 0
        assert row.citation.verification


def _row(mid: str, key: str) -> Any:
    return load_methodology(mid, 1).factor(key)


@pytest.mark.parametrize("year", [2021, 2022, 2023])
def test_grid_factors_as_researched(year: int) -> None:
    until = OPEN_ENDED if year == 2023 else beijing(year + 1)
    expected = [("electricity.grid", f"elec.grid.{year}", NATIONAL[year])]
    figures, verified = REGIONAL[year]
    expected += [(f"electricity.grid.{region}", f"elec.grid.{region}.{year}", (figure, verified))
                 for region, figure in zip(REGIONS, figures, strict=True)]
    for source, key, (figure, verification) in expected:
        row = _row("cn.electricity.location", key)
        assert (row.source, row.parameter, row.unit) == (source, "EF", "gCO2/MWh")
        assert row.value == int(figure.replace(".", "")) * 100  # 0.5366 -> 536600
        assert row.published == f"{figure} tCO2/MWh"
        assert (row.valid_from, row.valid_until) == (beijing(year), until)
        assert row.citation.verification.startswith(verification)
        assert ANNOUNCEMENT[year] in row.citation.document
        assert row.citation.publication.startswith("生态环境部、国家统计局")
    figure, verification = EXCLUDING_MARKET[year]
    row = _row("cn.electricity.market", f"elec.market.grid.{year}")
    assert row.value == int(figure.replace(".", "")) * 100
    assert (row.valid_from, row.valid_until) == (beijing(year), until)
    assert row.citation.verification.startswith(verification)
    assert "不包括市场化交易的非化石能源电量" in row.citation.table


#: Provincial factors (tCO2/MWh) for 2021, 2022, 2023, a second transcription of the research
#: notes for a third of the provinces: the highest and lowest, and one of each regional grid.
PROVINCIAL = {
    "hebei": ("0.7901", "0.7252", "0.6516"), "tianjin": ("0.7355", "0.7041", "0.6796"),
    "shanxi": ("0.7222", "0.7096", "0.6634"), "neimenggu": ("0.7025", "0.6849", "0.6479"),
    "yunnan": ("0.1235", "0.1073", "0.1333"), "sichuan": ("0.1255", "0.1404", "0.1564"),
    "qinghai": ("0.1326", "0.1567", "0.1796"), "heilongjiang": ("0.6342", "0.5368", "0.5229"),
    "shanghai": ("0.5834", "0.5849", "0.5737"), "hubei": ("0.3672", "0.4364", "0.4044"),
    "shaanxi": ("0.6336", "0.6558", "0.6335"), "guangdong": ("0.4715", "0.4403", "0.4419"),
    "chongqing": ("0.4743", "0.5227", "0.5581"),
}
TWO_TABLES = "two secondary sources (data tables in public code repositories"


def test_location_v2_keeps_v1_and_adds_30_provinces() -> None:
    v1, v2 = (load_methodology("cn.electricity.location", v) for v in (1, 2))
    assert v2.sources[:len(v1.sources)] == v1.sources
    assert len(v2.sources) == len(v1.sources) + 30
    kept = v2.factors[:len(v1.factors)]
    for old, new in zip(v1.factors, kept, strict=True):  # only the verification notes changed
        assert dataclasses.replace(new, citation=old.citation) == old
        if new.citation != old.citation:
            assert old.citation.verification.startswith(ONE)
            assert new.citation.verification.startswith(TWO_TABLES)
            assert dataclasses.replace(new.citation, verification="x") == dataclasses.replace(
                old.citation, verification="x")
    provinces = v2.factors[len(v1.factors):]
    assert len(provinces) == 90 and len({row.source for row in provinces}) == 30
    for row in provinces:
        national = v2.factor(f"elec.grid.{row.key.rsplit('.', 1)[1]}")
        assert (row.valid_from, row.valid_until, row.unit) == (
            national.valid_from, national.valid_until, "gCO2/MWh")
        assert row.citation.document == national.citation.document
        assert row.citation.table.startswith("省级电力平均二氧化碳排放因子")
        assert row.citation.verification.startswith(TWO_TABLES)
        assert 100_000 < row.value < 800_000
    for province, figures in PROVINCIAL.items():
        for year, figure in zip((2021, 2022, 2023), figures, strict=True):
            row = v2.factor(f"elec.{province}.{year}")
            assert row.source == f"electricity.grid.{province}"
            assert row.value == int(figure.replace(".", "")) * 100
            assert row.published == f"{figure} tCO2/MWh"


def test_data_years_are_beijing_years() -> None:
    assert _row("cn.electricity.location", "elec.grid.2022").valid_from == 1_640_966_400
    assert beijing(2022) == 1_640_966_400  # 2021-12-31T16:00:00Z


def test_combustion_defaults_only_for_natural_gas_and_diesel() -> None:
    m = load_methodology("cn.combustion.stationary", 1)
    values = {(row.source, row.parameter): (row.value, row.unit) for row in m.factors}
    assert values == {
        ("fuel.natural_gas", "NCV"): (38_931, "J/dm3"),
        ("fuel.natural_gas", "CC"): (15_300, "gC/GJ"),
        ("fuel.natural_gas", "OF"): (9_900, "1e-4"),
        ("fuel.diesel", "NCV"): (42_652, "J/g"),
        ("fuel.diesel", "CC"): (20_200, "gC/GJ"),
        ("fuel.diesel", "OF"): (9_800, "1e-4"),
    }
    for row in m.factors:
        assert (row.valid_from, row.valid_until) == (beijing(2000), OPEN_ENDED)
        assert "NOT checked against the text of the standard" in row.citation.verification
    for fuel in FUELS:
        spec = m.source(f"fuel.{fuel}")
        assert (spec.scope, spec.kind, spec.parameters) == (1, SourceKind.EMISSION,
                                                            ("NCV", "CC", "OF"))
        assert (spec.numerator, spec.denominator) == (44, 12 * 10**9 * 10**4)
        assert spec.unit == ("dm3" if fuel in ("natural_gas", "coke_oven_gas") else "g")
        for parameter in ("NCV", "CC", "OF"):
            override = m.source(f"fuel.{fuel}#{parameter}")
            assert (override.kind, override.target, override.parameters) == (
                SourceKind.OVERRIDE, f"fuel.{fuel}", (parameter,))
    assert "needs all three" in m.specification and "NoFactorForPeriod" in m.specification


#: The default parameters cn.combustion.stationary v2 adds (NCV in GJ/t or GJ/10^4 Nm3, CC in
#: tC/TJ, OF in %), transcribed from the research notes.
DEFAULTS_V2 = {
    "gasoline": ("43.070", "18.9", "98"), "lpg": ("50.179", "17.2", "98"),
    "fuel_oil": ("41.816", "21.1", "98"), "raw_coal": ("20.908", "26.37", "94"),
    "coke": ("28.435", "29.5", "93"), "crude_oil": ("41.816", "20.1", "98"),
    "kerosene": ("43.070", "19.6", "98"), "coke_oven_gas": ("179.81", "13.58", "99"),
}


def test_combustion_v2_adds_a_default_for_every_fuel() -> None:
    v1, v2 = (load_methodology("cn.combustion.stationary", v) for v in (1, 2))
    assert v2.sources == v1.sources
    assert v2.factors[:len(v1.factors)] == v1.factors
    added = {(row.source, row.parameter): row for row in v2.factors[len(v1.factors):]}
    assert len(added) == 3 * len(DEFAULTS_V2)
    for fuel, (ncv, cc, of) in DEFAULTS_V2.items():
        gas = fuel == "coke_oven_gas"
        expected = {
            "NCV": (round(float(ncv) * (100 if gas else 1000)), "J/dm3" if gas else "J/g",
                    f"{ncv} GJ/10^4 Nm3" if gas else f"{ncv} GJ/t"),
            "CC": (round(float(cc) * 1000), "gC/GJ", f"{cc} tC/TJ"),
            "OF": (int(of) * 100, "1e-4", f"{of} %"),
        }
        for parameter, (value, unit, published) in expected.items():
            row = added[f"fuel.{fuel}", parameter]
            assert (row.value, row.unit, row.published) == (value, unit, published), row.key
            assert (row.valid_from, row.valid_until) == (beijing(2000), OPEN_ENDED)
            assert "NOT checked against the text of the standard" in row.citation.verification
    assert "indirectly" in added["fuel.raw_coal", "NCV"].citation.verification
    assert "173.854" in added["fuel.coke_oven_gas", "NCV"].citation.verification
    every_fuel = {spec.source for spec in v2.sources if spec.kind is SourceKind.EMISSION}
    assert {source for source, _ in added} | {"fuel.natural_gas", "fuel.diesel"} == every_fuel


def test_machinery_v2_differs_only_in_its_combustion_component() -> None:
    v1, v2 = (load_methodology("cn.machinery", v) for v in (1, 2))
    assert v2.composed_of == tuple((i, 2 if i == "cn.combustion.stationary" else v)
                                   for i, v in v1.composed_of)
    assert v2.sources == v1.sources
    assert set(v1.factors) < set(v2.factors)
    assert {row.source for row in set(v2.factors) - set(v1.factors)} == {
        f"fuel.{fuel}" for fuel in DEFAULTS_V2}


def test_heat_default_and_override() -> None:
    m = load_methodology("cn.heat.purchased", 1)
    row = m.factor("heat.purchased.EF")
    assert (row.value, row.unit, row.valid_until) == (110_000, "gCO2/GJ", OPEN_ENDED)
    assert row.citation.verification.startswith(ONE)
    assert "附录" in row.citation.table
    assert m.source("heat.purchased#EF").target == "heat.purchased"


#: AR6 WG I Chapter 7 Table 7.15, GWP-100 of methane: fossil and non-fossil.
CH4_FOSSIL, CH4_NON_FOSSIL = "29.8", "27.0"


@pytest.mark.parametrize("version", [1, 2, 3])
def test_gwp_as_researched(version: int) -> None:
    m = load_methodology("ipcc.fugitive", version)
    report = ("ar5", "ar6", "ar6")[version - 1]
    for gas, figures in GWP.items():
        row = m.factor(f"gwp.{report}.{gas}")
        figure = figures[min(version, 2) - 1]
        table = ("Table 8.A.1", "Table 7.SM.7", "Table 7.SM.7")[version - 1]
        if version == 3 and gas == "ch4":  # fugitive methane is fossil methane
            figure, table = CH4_FOSSIL, "Table 7.15, GWP-100: CH4-fossil"
        assert row.source == f"gas.{gas}"
        assert row.value == int(to_fraction(figure, "1e-1") * 10)
        assert row.published == f"{figure} tCO2e/t"
        assert (row.valid_from, row.valid_until) == (beijing(1990), OPEN_ENDED)
        assert row.citation.table.startswith(table)
    shielding = m.source("process.co2_shielding_gas")
    assert (shielding.parameters, shielding.numerator, shielding.denominator) == ((), 1, 1)
    assert {spec.scope for spec in m.sources} == {1}


def test_fugitive_v3_is_v2_with_the_fossil_methane_value_of_table_7_15() -> None:
    v2, v3 = (load_methodology("ipcc.fugitive", v) for v in (2, 3))
    assert v3.sources == v2.sources
    changed = [(old, new) for old, new in zip(v2.factors, v3.factors, strict=True) if old != new]
    ((old, new),) = changed
    assert old.key == new.key == "gwp.ar6.ch4" and old.published == "27.9 tCO2e/t"
    assert new.published == f"{CH4_FOSSIL} tCO2e/t" and new.value == 298
    assert "Chapter 7" in new.citation.document and "supplementary" not in new.citation.document
    assert f"CH4-non-fossil: {CH4_NON_FOSSIL}" in new.citation.table
    # v2's row is neither Table 7.15 value, and v3's specification says so.
    assert old.published.split()[0] not in (CH4_FOSSIL, CH4_NON_FOSSIL)
    assert "mislabelled" in v3.specification and "CH4-fossil value 29.8" in v3.specification


def test_the_composite_is_exactly_its_components() -> None:
    composite = load_methodology("cn.machinery", 1)
    parts = [("cn.electricity.location", 1), ("cn.combustion.stationary", 1),
             ("cn.heat.purchased", 1), ("ipcc.fugitive", 1)]
    assert composite.composed_of == tuple(parts)
    components = [load_methodology(*part) for part in parts]
    assert composite.sources == tuple(s for c in components for s in c.sources)
    assert composite.factors == tuple(f for c in components for f in c.factors)
    document = load_document("cn.machinery", 1)
    assert [entry["specHash"] for entry in document["composedOf"]] == [
        "0x" + c.spec_hash.hex() for c in components]
    scopes = {spec.source: spec.scope for spec in composite.sources}
    assert scopes["electricity.grid.east"] == scopes["heat.purchased"] == 2
    assert scopes["fuel.natural_gas"] == scopes["gas.sf6"] == 1
    assert scopes["process.co2_shielding_gas"] == 1


# -- strict parsing --------------------------------------------------------------------------------

def _heat() -> dict[str, Any]:
    return json.loads((DATA / "cn.heat.purchased" / "v1.json").read_text(encoding="utf-8"))


def _load(document: dict[str, Any] | bytes) -> None:
    raw = document if isinstance(document, bytes) else json.dumps(document).encode()
    methodology_from_document(read_document(raw, "test.json"), "test.json")


def test_the_unchanged_file_loads() -> None:
    _load(_heat())


def test_a_typo_in_a_value_is_caught() -> None:
    document = _heat()
    document["factors"][0]["value"] = "11000"
    with pytest.raises(PublishedMismatch):
        _load(document)
    document["factors"][0]["value"] = "110000"
    document["factors"][0]["published"] = "0.011 tCO2/GJ"
    with pytest.raises(PublishedMismatch):
        _load(document)
    document["factors"][0]["published"] = "0.11 tCO2/MWh"
    with pytest.raises(DataFileError):
        _load(document)


@pytest.mark.parametrize("mutate", [
    lambda d: d.update(format="trustmrv-methodology/2"),
    lambda d: d.update(extra=1),
    lambda d: d.pop("title"),
    lambda d: d.update(version="1"),
    lambda d: d.update(specification="one string"),
    lambda d: d.update(sources=[]),
    lambda d: d.update(composedOf=[]),
    lambda d: d["sources"][0].update(kind="emitter"),
    lambda d: d["sources"][0].update(numerator=1),
    lambda d: d["sources"][0].update(denominator="01000000"),
    lambda d: d["sources"][0].pop("description"),
    lambda d: d["factors"][0].update(validFrom="2000-01-01T00:00:00"),
    lambda d: d["factors"][0].update(validFrom="2000-01-01"),
    lambda d: d["factors"][0].update(validFrom="2000-02-30T00:00:00+08:00"),
    lambda d: d["factors"][0].update(validFrom="1960-01-01T00:00:00+08:00"),
    lambda d: d["factors"][0].update(value="-110000"),
    lambda d: d["factors"][0].update(value=110000),
    lambda d: d["factors"][0]["citation"].update(doi="10.1000/1"),
])
def test_malformed_files_are_refused(mutate: Any) -> None:
    document = _heat()
    mutate(document)
    with pytest.raises(DataFileError):
        _load(document)


@pytest.mark.parametrize("raw", [
    b'{"format": "trustmrv-methodology/1", "format": "x"}',
    b'{"version": 1.0}',
    b'{"version": NaN}',
    b"[" * 100 + b"]" * 100,
    b"\xff",
    b" " * (1 << 20) + b"{}",
])
def test_unsafe_json_is_refused(raw: bytes) -> None:
    with pytest.raises(DataFileError):
        read_document(raw, "test.json")


def test_a_bad_definition_names_its_place_in_the_file() -> None:
    document = _heat()
    document["sources"][1]["target"] = "heat.nowhere"
    with pytest.raises(ValueError, match=r"heat\.nowhere") as caught:
        _load(document)
    assert any("test.json" in note for note in caught.value.__notes__)


def test_materialise_refuses_nested_or_missing_components() -> None:
    heat = read_document((DATA / "cn.heat.purchased" / "v1.json").read_bytes(), "heat")
    composite = {"format": "trustmrv-methodology/1", "id": "c", "version": 1, "title": "C",
                 "specification": ["c"], "composedOf": [{"id": "cn.heat.purchased",
                                                          "version": 1}]}
    assert materialise(composite, [heat], "c")["sources"] == heat["sources"]
    with pytest.raises(DataFileError, match="missing"):
        materialise(composite, [], "c")
    nested = dict(composite, id="cn.heat.purchased")
    with pytest.raises(DataFileError, match="plain"):
        materialise(composite, [nested], "c")
    twice = dict(composite, composedOf=composite["composedOf"] * 2)
    with pytest.raises(DataFileError, match="twice"):
        materialise(twice, [heat, heat], "c")
