"""Who may read what: roles, principals and the visibility rule of each role (pure, no database).

A *principal* is whoever calls the API with a key: a person or a program acting for an
enterprise, a regulator or an association. Its :class:`Role` decides which kinds of data
(:class:`Data`) it may read (:data:`SEES`); its enterprise, or for a regulator its grants, decide
whose data (:func:`visible_enterprises`).

The rule per role (docs/api.md, "Access: principals, roles and keys"):

=====================  ================  ============================================
role                   enterprise        sees
=====================  ================  ============================================
``enterprise_admin``   required          its enterprise's data; operations metrics
``enterprise_reader``  required          its enterprise's data; operations metrics
``regulator``          absent            the data of the enterprises granted to it
                                         (active grants); operations metrics
``association``        absent            methodology data only (methodologies, emission
                                         factors, accounting rules): no enterprise's
                                         devices, readings, records or batches;
                                         operations metrics
``device``             required          nothing through the read API; a device delivers
                                         data by its signatures (``POST /v1/uplink``),
                                         not by this role
=====================  ================  ============================================

Enterprise data (:attr:`Data.ENTERPRISE`) is everything a device of an enterprise delivered and
what the ledger derived from it: devices, readings, records, batches, gaps, conflicts,
rejections. Such a row belongs to the enterprise of its device (the DeviceRegistry's
``DeviceRegistered.enterprise``, kept in ``device_streams.enterprise``); a row whose enterprise is
not known is visible to nobody. ``enterprise_admin`` differs from ``enterprise_reader`` only in
the write operations routes may later reserve to it (deleting data, managing its readers).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from mrv_core.codec import format_address

from ..errors import PrincipalRefused

__all__ = [
    "ENTERPRISE_ROLES",
    "SEES",
    "Data",
    "Grant",
    "Principal",
    "Role",
    "check_enterprise_for_role",
    "roles_seeing",
    "visible_enterprises",
]

#: Bytes of an enterprise address.
ADDRESS_BYTES = 20


class Role(enum.StrEnum):
    """A principal's role (stored as its value)."""

    ENTERPRISE_ADMIN = "enterprise_admin"
    ENTERPRISE_READER = "enterprise_reader"
    REGULATOR = "regulator"
    ASSOCIATION = "association"
    DEVICE = "device"


#: The roles that act for one enterprise: their principals carry its address.
ENTERPRISE_ROLES = frozenset({Role.ENTERPRISE_ADMIN, Role.ENTERPRISE_READER, Role.DEVICE})


class Data(enum.StrEnum):
    """The kinds of data a route serves, each readable by the roles :data:`SEES` names."""

    #: Devices, readings, records, batches, gaps, conflicts: per enterprise.
    ENTERPRISE = "enterprise"
    #: Methodologies, emission factors, accounting rules: not per enterprise.
    METHODOLOGY = "methodology"
    #: The service's own counters (Prometheus ``/metrics``): no enterprise's data in them.
    OPERATIONS = "operations"


#: Which kinds of data each role may read (the module's table).
SEES: dict[Role, frozenset[Data]] = {
    Role.ENTERPRISE_ADMIN: frozenset({Data.ENTERPRISE, Data.METHODOLOGY, Data.OPERATIONS}),
    Role.ENTERPRISE_READER: frozenset({Data.ENTERPRISE, Data.METHODOLOGY, Data.OPERATIONS}),
    Role.REGULATOR: frozenset({Data.ENTERPRISE, Data.METHODOLOGY, Data.OPERATIONS}),
    Role.ASSOCIATION: frozenset({Data.METHODOLOGY, Data.OPERATIONS}),
    Role.DEVICE: frozenset(),
}


def roles_seeing(data: Data) -> frozenset[Role]:
    """The roles that may read ``data`` (:data:`SEES`)."""
    return frozenset(role for role, kinds in SEES.items() if data in kinds)


@dataclass(frozen=True)
class Principal:
    """A caller of the API. ``id`` is the ledger's number for it; ``enterprise`` the 20-byte
    address it acts for (``None`` for a regulator or an association); times are UTC,
    ``revoked_at`` ``None`` while it may call."""

    id: int
    name: str
    role: Role
    enterprise: bytes | None
    created_at: datetime
    revoked_at: datetime | None = None

    def __post_init__(self) -> None:
        check_enterprise_for_role(self.role, self.enterprise)

    @property
    def active(self) -> bool:
        return self.revoked_at is None


@dataclass(frozen=True)
class Grant:
    """A regulator's right to see one enterprise's data, from ``granted_at`` until
    ``revoked_at`` (``None``: still in force). ``granted_by`` names who granted it."""

    regulator_id: int
    enterprise: bytes
    granted_at: datetime
    granted_by: str
    revoked_at: datetime | None = None


def check_enterprise_for_role(role: Role, enterprise: bytes | None) -> None:
    """Raise :class:`PrincipalRefused` unless ``enterprise`` is a 20-byte address for a role of
    :data:`ENTERPRISE_ROLES` and ``None`` for the others."""
    if role in ENTERPRISE_ROLES:
        if enterprise is None or len(enterprise) != ADDRESS_BYTES:
            got = "none" if enterprise is None else f"{len(enterprise)} bytes"
            raise PrincipalRefused(f"a {role.value} acts for one enterprise: expected its "
                                   f"{ADDRESS_BYTES}-byte address, got {got}")
    elif enterprise is not None:
        raise PrincipalRefused(f"a {role.value} acts for no single enterprise: expected no "
                               f"enterprise, got {format_address(enterprise)}")


def visible_enterprises(principal: Principal, grants: Iterable[Grant] = ()) -> frozenset[bytes]:
    """The enterprises whose :attr:`Data.ENTERPRISE` data ``principal`` may see: its own for an
    enterprise admin or reader, the enterprises of its grants in force for a regulator (grants
    of other regulators in ``grants`` are ignored), none for an association, a device or a
    revoked principal."""
    if not principal.active or Data.ENTERPRISE not in SEES[principal.role]:
        return frozenset()
    if principal.role is Role.REGULATOR:
        return frozenset(g.enterprise for g in grants
                         if g.regulator_id == principal.id and g.revoked_at is None)
    assert principal.enterprise is not None  # an enterprise role (check_enterprise_for_role)
    return frozenset({principal.enterprise})
