"""The pure access rules (ledger_api.access.principals): what each role sees, and whose data."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from ledger_api.access.principals import (
    ENTERPRISE_ROLES,
    SEES,
    Data,
    Grant,
    Principal,
    Role,
    check_enterprise_for_role,
    roles_seeing,
    visible_enterprises,
)
from ledger_api.errors import PrincipalRefused

T = datetime(2026, 11, 30, tzinfo=UTC)
A, B, C = b"\xaa" * 20, b"\xbb" * 20, b"\xcc" * 20
addresses = st.binary(min_size=20, max_size=20)


def principal(role: Role, enterprise: bytes | None = None, *, pid: int = 1,
              revoked: bool = False) -> Principal:
    return Principal(pid, f"p{pid}", role, enterprise, T, T if revoked else None)


def test_enterprise_data_is_seen_by_enterprise_roles_and_regulators_only() -> None:
    assert roles_seeing(Data.ENTERPRISE) == {Role.ENTERPRISE_ADMIN, Role.ENTERPRISE_READER,
                                             Role.REGULATOR}
    assert roles_seeing(Data.METHODOLOGY) == set(Role) - {Role.DEVICE}
    assert roles_seeing(Data.OPERATIONS) == set(Role) - {Role.DEVICE}
    assert SEES[Role.DEVICE] == frozenset()
    assert set(SEES) == set(Role)


@pytest.mark.parametrize("role", sorted(ENTERPRISE_ROLES))
def test_an_enterprise_role_needs_a_20_byte_enterprise(role: Role) -> None:
    check_enterprise_for_role(role, A)
    for wrong in (None, b"", A[:19], A + b"\0"):
        with pytest.raises(PrincipalRefused, match="acts for one enterprise"):
            Principal(1, "x", role, wrong, T)


@pytest.mark.parametrize("role", [Role.REGULATOR, Role.ASSOCIATION])
def test_a_regulator_or_association_has_no_enterprise(role: Role) -> None:
    check_enterprise_for_role(role, None)
    with pytest.raises(PrincipalRefused, match="acts for no single enterprise"):
        Principal(1, "x", role, A, T)


@given(own=addresses, granted=st.lists(addresses, max_size=5))
@example(own=A, granted=[A, B])
def test_an_enterprise_principal_sees_its_own_enterprise_only(own: bytes,
                                                             granted: list[bytes]) -> None:
    grants = [Grant(1, e, T, "test") for e in granted]  # grants never widen a non-regulator
    for role in (Role.ENTERPRISE_ADMIN, Role.ENTERPRISE_READER):
        assert visible_enterprises(principal(role, own), grants) == {own}


@given(grants=st.lists(st.tuples(st.integers(1, 3), addresses, st.booleans()), max_size=12))
@example(grants=[(1, A, False), (1, B, True), (2, C, False)])
def test_a_regulator_sees_exactly_its_grants_in_force(
        grants: list[tuple[int, bytes, bool]]) -> None:
    rows = [Grant(pid, e, T, "test", T if revoked else None) for pid, e, revoked in grants]
    expected = {e for pid, e, revoked in grants if pid == 1 and not revoked}
    assert visible_enterprises(principal(Role.REGULATOR), rows) == expected


@pytest.mark.parametrize(("role", "enterprise"), [(Role.ASSOCIATION, None), (Role.DEVICE, A)])
def test_associations_and_devices_see_no_enterprise_data(role: Role,
                                                         enterprise: bytes | None) -> None:
    assert visible_enterprises(principal(role, enterprise), [Grant(1, B, T, "t")]) == set()


@pytest.mark.parametrize(("role", "enterprise"), [(Role.ENTERPRISE_ADMIN, A),
                                                  (Role.REGULATOR, None)])
def test_a_revoked_principal_sees_nothing(role: Role, enterprise: bytes | None) -> None:
    assert visible_enterprises(principal(role, enterprise, revoked=True),
                               [Grant(1, B, T, "t")]) == set()
