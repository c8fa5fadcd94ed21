"""The edge node's configuration file: strict validation, errors naming file, line and key."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from unit.edge_node.profiles.support import CUSTOM, write_custom

from edge_node.acquisition import meter_profiles
from edge_node.config import ObservabilityConfig, load_config
from edge_node.config_file import describe_location, locate, toml_text
from edge_node.errors import ProfileError
from mrv_core.errors import ConfigError

VALID = """\
# a node with one TCP gateway and two meters
[device]
key_file = "device.json"
store = "data/edge.sqlite"
site = "acme/plant-1"

[chain]
rpc = "http://127.0.0.1:8545"
deployment = "deployment.json"

[[acquisition.connections]]
name = "gw1"
kind = "tcp"
host = "127.0.0.1"
port = 5020

[[acquisition.connections.meters]]
path = "acme/plant-1/utilities/incomer/M1"
unit_id = 1
profile = "eastron.sdm630"
interval = 60.0

[acquisition.connections.meters.report_by_exception.power_active]
deadband = 50
max_silence = 900.0

[[acquisition.connections.meters]]
path = "acme/plant-1/utilities/boiler/M2"
unit_id = 2
profile = "abb.b2x"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "edge.toml"
    path.write_text(text, encoding="utf-8")
    return path


def error_of(tmp_path: Path, text: str) -> str:
    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path, text))
    return str(caught.value)


def test_valid_file_loads_with_defaults_and_absolute_paths(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, VALID))
    assert config.device.store == tmp_path / "data" / "edge.sqlite"
    assert config.chain.deployment == tmp_path / "deployment.json"
    assert config.chain.anchor == "device" and config.chain.confirmations == 1
    assert [m.unit_id for m in config.meters] == [1, 2]
    assert config.meters[0].report_by_exception["power_active"].deadband == 50
    assert config.meters[1].interval == 60.0
    assert config.summaries.timezone == "Asia/Shanghai"


def test_out_of_range_value_names_its_line_and_key(tmp_path: Path) -> None:
    text = VALID.replace("unit_id = 2", "unit_id = 300")
    message = error_of(tmp_path, text)
    line = text.splitlines().index("unit_id = 300") + 1
    assert f"edge.toml:{line}: acquisition.connections[0].meters[1].unit_id:" in message


def test_string_for_a_number_is_refused_not_coerced(tmp_path: Path) -> None:
    text = VALID.replace("interval = 60.0", 'interval = "60"')
    message = error_of(tmp_path, text)
    line = text.splitlines().index('interval = "60"') + 1
    assert f"edge.toml:{line}: acquisition.connections[0].meters[0].interval:" in message


def test_unknown_key_is_an_error_at_its_line(tmp_path: Path) -> None:
    text = VALID.replace("port = 5020", "port = 5020\nprot = 5021")
    message = error_of(tmp_path, text)
    line = text.splitlines().index("prot = 5021") + 1
    assert (f"edge.toml:{line}: acquisition.connections[0].prot: "
            "Extra inputs are not permitted") in message


def test_nested_table_error_points_into_that_table(tmp_path: Path) -> None:
    text = VALID.replace("deadband = 50", "deadband = -1")
    message = error_of(tmp_path, text)
    line = text.splitlines().index("deadband = -1") + 1
    assert (f"edge.toml:{line}: acquisition.connections[0].meters[0].report_by_exception"
            ".power_active.deadband:") in message


def test_missing_required_key_points_at_its_table(tmp_path: Path) -> None:
    text = VALID.replace('profile = "abb.b2x"\n', "")
    message = error_of(tmp_path, text)
    header = [i for i, line in enumerate(text.splitlines(), 1)
              if line == "[[acquisition.connections.meters]]"][1]
    assert (f"edge.toml:{header}: acquisition.connections[0].meters[1].profile: "
            "Field required") in message


def test_syntax_error_names_the_line(tmp_path: Path) -> None:
    message = error_of(tmp_path, VALID.replace("port = 5020", "port = = 5020"))
    assert "not valid TOML" in message and "line 15" in message


@pytest.mark.parametrize(("change", "expected"), [
    (("unit_id = 2", "unit_id = 1"), "unit ids must be distinct"),
    (("boiler/M2", "incomer/M1"), "meter paths must be distinct"),
    (("[[acquisition.connections]]", "[summaries.sources]\n\"acme/plant-1/a/b/c\" = "
      "\"electricity.grid\"\n\n[[acquisition.connections]]"), "which is no configured meter"),
    (("acme/plant-1/utilities/boiler", "acme/plant-2/utilities/boiler"),
     "is not under the node's site 'acme/plant-1'"),
    (('host = "127.0.0.1"\n', ""), "Field required"),
    (('site = "acme/plant-1"', 'site = "acme"'), "site must be 'enterprise/site'"),
    (("[chain]\n", '[chain]\nanchor = "relayer"\n'), "anchor = 'relayer' needs relayer_url"),
    (("[[acquisition.connections]]", "[observability]\nlisten = \"10.0.0.1:9108\"\n\n"
                                     "[[acquisition.connections]]"),
     "listen must be a loopback address"),
    (("[[acquisition.connections]]", "[summaries]\ntimezone = \"Mars/Olympus\"\n\n"
                                     "[[acquisition.connections]]"),
     "unknown IANA time zone 'Mars/Olympus'"),
    (("[[acquisition.connections]]",
      "[retention]\ndisk_budget_mib = 10\ndisk_hard_limit_mib = 5\n\n[[acquisition.connections]]"),
     "disk_hard_limit_mib (5) is below"),
    (("path = \"acme/plant-1/utilities/incomer/M1\"", "path = \"acme/plant-1/M1\""),
     "meter path needs 5 levels"),
])
def test_inconsistent_settings_are_refused_with_a_reason(tmp_path: Path,
                                                         change: tuple[str, str],
                                                         expected: str) -> None:
    old, new = change
    assert old in VALID
    assert expected in error_of(tmp_path, VALID.replace(old, new, 1))


def test_unreadable_or_binary_files_are_config_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "missing.toml")
    with pytest.raises(ConfigError, match="not a regular file"):
        load_config(tmp_path)
    binary = tmp_path / "b.toml"
    binary.write_bytes(b"\xff\xfe[device]")
    with pytest.raises(ConfigError, match="not UTF-8"):
        load_config(binary)


def test_describe_location_reads_like_the_file() -> None:
    assert describe_location(("meters", 2, "exception", "power", "deadband")) == \
        "meters[2].exception.power.deadband"
    assert describe_location(()) == "(top level)"


@given(st.lists(st.integers(min_value=1, max_value=200), min_size=1, max_size=8))
def test_locate_finds_the_key_of_every_array_element(units: list[int]) -> None:
    text = "".join(f"[[meters]]\npath = \"p{i}\"\nunit_id = {u}\n" for i, u in enumerate(units))
    for index in range(len(units)):
        assert locate(text, ("meters", index, "unit_id")) == 3 * index + 3
        assert locate(text, ("meters", index, "profile")) == 3 * index + 1


def test_the_init_template_loads_unchanged(tmp_path: Path) -> None:
    from edge_node.config_template import TemplateMeter, render_config

    text = render_config(
        site="acme/plant-1", key_file="device-key.json", store="edge.sqlite",
        rpc="http://127.0.0.1:8545", deployment="deployment.json", modbus_host="127.0.0.1",
        modbus_port=5020, meters=[
            TemplateMeter("acme/plant-1/utilities/incomer/M1", "eastron.sdm630", 1,
                          "electricity.grid"),
            TemplateMeter("acme/plant-1/utilities/boiler/M2", "abb.b2x", 2),
        ])
    config = load_config(write(tmp_path, text))
    assert [m.path for m in config.meters] == ["acme/plant-1/utilities/incomer/M1",
                                               "acme/plant-1/utilities/boiler/M2"]
    assert config.summaries.sources == {"acme/plant-1/utilities/incomer/M1": "electricity.grid"}
    assert config.uplink is None
    assert config.device.key_file == tmp_path / "device-key.json"


def test_a_leading_byte_order_mark_is_dropped_and_lines_still_count_from_the_first(
        tmp_path: Path) -> None:
    # Windows Notepad saves UTF-8 with EF BB BF first; tomllib refused line 1 of such a file.
    path = tmp_path / "edge.toml"
    path.write_bytes(b"\xef\xbb\xbf" + VALID.encode("utf-8"))
    assert load_config(path).device.site == "acme/plant-1"
    bad = VALID.replace("port = 5020", "port = 70000")
    path.write_bytes(b"\xef\xbb\xbf" + bad.encode("utf-8"))
    line = bad.splitlines().index("port = 70000") + 1
    with pytest.raises(ConfigError, match=rf"edge\.toml:{line}: acquisition\.connections\[0\]"
                                          r"\.port"):
        load_config(path)


@given(st.text(alphabet=st.characters(exclude_categories=("Cs",)), max_size=40))
def test_toml_text_drops_one_byte_order_mark_and_nothing_else(text: str) -> None:
    assert toml_text(text.encode("utf-8")) == (text[1:] if text.startswith("\ufeff") else text)
    assert toml_text(b"\xef\xbb\xbf" + text.encode("utf-8")) == text


def test_a_second_byte_order_mark_or_utf16_is_still_refused(tmp_path: Path) -> None:
    path = tmp_path / "edge.toml"
    path.write_bytes(b"\xef\xbb\xbf\xef\xbb\xbf" + VALID.encode("utf-8"))
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(path)
    path.write_bytes(VALID.encode("utf-16"))
    with pytest.raises(ConfigError, match=r"not UTF-8 text \(byte 0\)"):
        load_config(path)


def test_a_meter_path_with_a_look_alike_letter_is_refused_naming_its_line(
        tmp_path: Path) -> None:
    # U+0430 CYRILLIC SMALL LETTER A in place of the Latin a of "boiler" (hostile review).
    text = VALID.replace('"acme/plant-1/utilities/boiler/M2"',
                         '"acme/plant-1/utilities/boil\u0435r/M2"')
    line = text.splitlines().index('path = "acme/plant-1/utilities/boil\u0435r/M2"') + 1
    message = error_of(tmp_path, text)
    assert f"edge.toml:{line}: acquisition.connections[0].meters[1].path: " in message
    assert "mixes the scripts Cyrillic, Latin (U+0435 CYRILLIC SMALL LETTER IE" in message
    site = error_of(tmp_path, VALID.replace('site = "acme/plant-1"', 'site = "\u0430cme/plant-1"'))
    assert "edge.toml:5: device.site: " in site and "U+0430 CYRILLIC SMALL LETTER A" in site


# -- a meter model the project does not ship: the plant's own profile file ------------------------

def test_a_meter_may_name_its_own_profile_file_relative_to_the_config(tmp_path: Path) -> None:
    write_custom(tmp_path)
    text = VALID.replace('profile = "abb.b2x"', 'profile = "./profiles/plant.meter-x.toml"')
    config = load_config(write(tmp_path, text))
    assert config.meters[1].profile == str(tmp_path / "profiles" / "plant.meter-x.toml")
    profiles = meter_profiles(config.acquisition)
    assert profiles[config.meters[1].profile].id == "plant.meter-x"
    assert profiles["eastron.sdm630"].id == "eastron.sdm630"


def test_a_broken_profile_file_is_one_error_naming_the_config_line_and_the_files_key(
        tmp_path: Path) -> None:
    path = write_custom(tmp_path, CUSTOM.replace('type = "int16"', 'type = "int12"'))
    text = VALID.replace('profile = "abb.b2x"', 'profile = "./profiles/plant.meter-x.toml"')
    with pytest.raises(ProfileError) as caught:
        load_config(write(tmp_path, text))
    line = text.splitlines().index('profile = "./profiles/plant.meter-x.toml"') + 1
    assert str(caught.value).splitlines() == [
        f"{tmp_path / 'edge.toml'}:{line}: acquisition.connections[0].meters[1].profile: "
        f"{path}: points[1].type: expected one of uint16, int16, uint32, int32, uint64, int64, "
        f"float32, float64, got 'int12'"]


@pytest.mark.parametrize(("profile", "problem"), [
    ('"./profiles/absent.toml"', "absent.toml: cannot read"),
    ('"plant.meter-x.toml"', "write a profile file as a path with a '/'"),
    ('"acme.unknown"', "no shipped profile 'acme.unknown'"),
])
def test_an_unusable_profile_reference_names_its_line(tmp_path: Path, profile: str,
                                                      problem: str) -> None:
    text = VALID.replace('profile = "abb.b2x"', f"profile = {profile}")
    line = text.splitlines().index(f"profile = {profile}") + 1
    message = error_of(tmp_path, text)
    assert f"edge.toml:{line}: acquisition.connections[0].meters[1].profile: " in message
    assert problem in message


def test_two_profile_files_with_one_id_are_refused(tmp_path: Path) -> None:
    first = write_custom(tmp_path)
    other = tmp_path / "other" / "plant.meter-x.toml"
    other.parent.mkdir()
    other.write_text(CUSTOM.replace('address = 7', 'address = 8'), encoding="utf-8")
    text = VALID.replace('profile = "eastron.sdm630"',
                         'profile = "./profiles/plant.meter-x.toml"').replace(
        'profile = "abb.b2x"', 'profile = "other/plant.meter-x.toml"')
    line = text.splitlines().index('profile = "other/plant.meter-x.toml"') + 1
    message = error_of(tmp_path, text)
    assert message == (f"{tmp_path / 'edge.toml'}:{line}: acquisition.connections[0].meters[1]"
                       f".profile: {other}: id: 'plant.meter-x' is also the id of {first}: one "
                       "id, one register map")


@pytest.mark.parametrize("listen", ["127.0.0.1:9108", "127.0.0.1:0", "[::1]:9108",
                                    "127.5.0.1:65535"])
def test_listen_accepts_a_loopback_literal_and_a_port(listen: str) -> None:
    assert ObservabilityConfig(listen=listen).listen == listen


@pytest.mark.parametrize("listen", ["::1:19111", "::1", "[127.0.0.1]:9108", "[::1:9108",
                                    "[::1%lo]:9108", "127.0.0.1:\u0663", "127.0.0.1:65536",
                                    ":9108", "[::1]"])
def test_listen_not_host_colon_port_with_bracketed_ipv6_is_refused(listen: str) -> None:
    # An unbracketed IPv6 address made the node print http://::1:19111 and mrv edge status
    # crash on it (issue 9, M4).
    with pytest.raises(ValueError, match=r"listen must be 'host:port' \(IPv6 in brackets"):
        ObservabilityConfig(listen=listen)


@pytest.mark.parametrize(("url", "named"), [
    ("http://127.0.0.1:18700/a\\nb", "U+000A (LINE FEED)"),
    ("http://127.0.0.1:18700/a b", "U+0020 (SPACE)"),
    ("http://10.0.0.1:18700", "plain http is allowed only to a loopback address"),
])
def test_an_uplink_url_the_node_cannot_use_is_refused_at_load_naming_the_key(
        tmp_path: Path, url: str, named: str) -> None:
    # Refused when the file loads (mrv edge status, run), not first when the uplink starts.
    message = error_of(tmp_path, VALID.replace(
        "[[acquisition.connections]]", f'[uplink]\nurl = "{url}"\n\n[[acquisition.connections]]',
        1))
    (line,) = [line for line in message.splitlines() if "uplink.url" in line]
    assert "edge.toml:" in line and named in line
