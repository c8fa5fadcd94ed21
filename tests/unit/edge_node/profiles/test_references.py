"""A meter's profile reference, one rule for the node's configuration and the simulator: a
value with a ``/`` is a profile file's path (``*.toml``), any other a shipped profile's id;
the two forms never meet, and each malformed one is refused saying which form was meant."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from unit.edge_node.profiles.support import CUSTOM, write_custom

from edge_node.errors import ProfileError
from edge_node.profiles import (
    check_profile_reference,
    is_profile_file,
    list_profiles,
    load_profile,
    load_profile_reference,
)


def test_a_relative_profile_file_is_read_against_the_base_given(tmp_path: Path) -> None:
    write_custom(tmp_path)
    profile = load_profile_reference("./profiles/plant.meter-x.toml", base=tmp_path)
    assert profile.id == "plant.meter-x"
    assert [(p.name, p.address) for p in profile.points] == [("energy_import", 100),
                                                              ("power_active", 7)]
    assert load_profile_reference(str(tmp_path / "profiles" / "plant.meter-x.toml")) == profile


def test_a_shipped_id_is_the_shipped_profile() -> None:
    assert load_profile_reference("abb.b2x") == load_profile("abb.b2x")


def test_a_file_claiming_a_shipped_id_is_refused(tmp_path: Path) -> None:
    path = write_custom(tmp_path, CUSTOM.replace('id = "plant.meter-x"', 'id = "generic"'),
                        name="generic")
    with pytest.raises(ProfileError, match=r"generic\.toml: id: 'generic' is a shipped profile"):
        load_profile_reference(str(path))


@pytest.mark.parametrize(("reference", "message"), [
    ("my-meter.toml", r"write a profile file as a path with a '/', e.g. './my-meter.toml'"),
    ("./profiles/my-meter.txt", r"a profile file's path ends in <id>\.toml"),
    ("Eastron SDM630", r"expected a shipped profile's id \(vendor\.model\) or a profile file"),
    ("", "expected a shipped profile's id"),
])
def test_a_malformed_reference_says_which_form_was_expected(reference: str,
                                                            message: str) -> None:
    with pytest.raises(ValueError, match=message):
        check_profile_reference(reference)
    with pytest.raises(ProfileError, match=message):
        load_profile_reference(reference)


def test_a_missing_or_broken_profile_file_names_the_file_and_key(tmp_path: Path) -> None:
    with pytest.raises(ProfileError, match=r"nothing\.toml"):
        load_profile_reference("./nothing.toml", base=tmp_path)
    path = write_custom(tmp_path, CUSTOM.replace('scale = "10"', "scale = 0.01"))
    with pytest.raises(ProfileError) as caught:
        load_profile_reference(str(path))
    assert caught.value.file == str(path) and caught.value.key == "points[0].scale"


@given(st.sampled_from(list_profiles()))
def test_no_shipped_id_reads_as_a_file(profile_id: str) -> None:
    assert not is_profile_file(profile_id)
    assert check_profile_reference(profile_id) == profile_id


@given(st.tuples(st.text(max_size=20), st.text(max_size=20), st.booleans()).map(
    lambda parts: f"{parts[0]}/{parts[1]}" + (".toml" if parts[2] else "")))
def test_every_reference_with_a_slash_is_a_file_never_an_id(reference: str) -> None:
    assert is_profile_file(reference)
    if reference.endswith(".toml"):
        assert check_profile_reference(reference) == reference
    else:
        with pytest.raises(ValueError, match=r"ends in <id>\.toml"):
            check_profile_reference(reference)
