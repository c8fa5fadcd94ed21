"""Principals, keys and grants in the ledger's database (tables ``principals``, ``api_keys``,
``regulator_grants``; ``ledger_api.db.models``).

Every function works in the caller's session; the caller commits. Nothing is ever deleted: a
principal, a key or a grant is *revoked* (its ``revoked_at`` set), so the record of who could
see what, and when, stays. Refusals raise :class:`~ledger_api.errors.PrincipalRefused` naming
what was expected and what came; :func:`authenticate` raises
:class:`~ledger_api.errors.AccessRefused` (401) and never says which part of a key was wrong.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from mrv_core.codec import format_address

from ..db.models import ApiKeyRow, PrincipalRow, RegulatorGrantRow, as_utc
from ..errors import AccessRefused, PrincipalRefused
from .keys import key_id_of, key_mac, macs_equal, new_key
from .principals import Grant, Principal, Role, check_enterprise_for_role

__all__ = [
    "Listed",
    "add_key",
    "add_principal",
    "authenticate",
    "grant_enterprise",
    "grants_of",
    "list_principals",
    "revoke_grant",
    "revoke_key",
    "revoke_principal",
]

#: Compared against when a key id is unknown, so that an unknown id costs the same HMAC and
#: comparison as a known one.
_NO_MAC = bytes(32)


@dataclass(frozen=True)
class Listed:
    """A principal with its keys' ids (active ones) and, for a regulator, its grants."""

    principal: Principal
    key_ids: tuple[str, ...]
    grants: tuple[Grant, ...]


def _principal(row: PrincipalRow) -> Principal:
    return Principal(id=row.id, name=row.name, role=Role(row.role), enterprise=row.enterprise,
                     created_at=as_utc(row.created_at),
                     revoked_at=None if row.revoked_at is None else as_utc(row.revoked_at))


def _grant(row: RegulatorGrantRow) -> Grant:
    return Grant(regulator_id=row.regulator_id, enterprise=row.enterprise,
                 granted_at=as_utc(row.granted_at), granted_by=row.granted_by,
                 revoked_at=None if row.revoked_at is None else as_utc(row.revoked_at))


def add_principal(session: Session, *, name: str, role: Role, enterprise: bytes | None,
                  server_secret: bytes, now: datetime) -> tuple[Principal, str]:
    """Create a principal and its first key; returns it and the key's text, which is stored
    nowhere (only its HMAC under ``server_secret``). Raises :class:`PrincipalRefused` for an
    empty or taken name or an enterprise that does not fit ``role``."""
    name = name.strip()
    if not name or len(name) > 200 or not name.isprintable():
        raise PrincipalRefused(f"expected a printable name of 1 to 200 characters, got "
                               f"{name!r:.80}")
    check_enterprise_for_role(role, enterprise)
    if session.scalar(select(PrincipalRow.id).where(PrincipalRow.name == name)) is not None:
        raise PrincipalRefused(f"the name {name!r} is taken (by a principal, revoked or not): "
                               "expected a new one")
    row = PrincipalRow(name=name, role=role.value, enterprise=enterprise, created_at=now)
    session.add(row)
    try:
        session.flush()
    except IntegrityError:  # the same name added at the same moment by another session
        raise PrincipalRefused(f"the name {name!r} was taken meanwhile: expected a new one") \
            from None
    return _principal(row), _new_key(session, row.id, server_secret, now)


def _new_key(session: Session, principal_id: int, server_secret: bytes, now: datetime) -> str:
    key = new_key(server_secret)
    session.add(ApiKeyRow(key_id=key.key_id, principal_id=principal_id, mac=key.mac,
                          created_at=now))
    session.flush()
    return key.text


def add_key(session: Session, principal_id: int, *, server_secret: bytes,
            now: datetime) -> str:
    """Another key for an active principal (to rotate keys: add one, move the callers to it,
    revoke the old); returns its text, stored nowhere. Raises :class:`PrincipalRefused` for an
    unknown or revoked principal."""
    row = _get(session, principal_id)
    if row.revoked_at is not None:
        raise PrincipalRefused(f"principal {principal_id} is revoked: expected an active one")
    return _new_key(session, principal_id, server_secret, now)


def revoke_key(session: Session, key_id: str, *, now: datetime) -> int:
    """Revoke one key (its principal and other keys stay); returns the principal's id. Raises
    :class:`PrincipalRefused` for an unknown key id."""
    key = session.get(ApiKeyRow, key_id)
    if key is None:
        raise PrincipalRefused(f"expected the id of a key (16 hex digits, `mrv api principal "
                               f"list`), got {key_id!r:.40}: no such key")
    if key.revoked_at is None:
        key.revoked_at = now
        session.flush()
    return key.principal_id


def _get(session: Session, principal_id: int) -> PrincipalRow:
    row = session.get(PrincipalRow, principal_id)
    if row is None:
        raise PrincipalRefused(f"expected the id of a principal, got {principal_id}: no such "
                               "principal (`mrv api principal list`)")
    return row


def revoke_principal(session: Session, principal_id: int, *, now: datetime) -> Principal:
    """Revoke a principal and its keys (a second revocation changes nothing); its grants stay
    recorded but no longer matter. Raises :class:`PrincipalRefused` for an unknown id."""
    row = _get(session, principal_id)
    if row.revoked_at is None:
        row.revoked_at = now
    session.execute(update(ApiKeyRow).where(ApiKeyRow.principal_id == principal_id,
                                            ApiKeyRow.revoked_at.is_(None))
                    .values(revoked_at=now))
    session.flush()
    return _principal(row)


def grants_of(session: Session, regulator_id: int, *, in_force: bool = True) -> list[Grant]:
    """The grants of a regulator, oldest first (only those in force with ``in_force``)."""
    query = select(RegulatorGrantRow).where(RegulatorGrantRow.regulator_id == regulator_id)
    if in_force:
        query = query.where(RegulatorGrantRow.revoked_at.is_(None))
    return [_grant(r) for r in session.scalars(query.order_by(RegulatorGrantRow.id))]


def grant_enterprise(session: Session, regulator_id: int, enterprise: bytes, *, by: str,
                     now: datetime) -> tuple[Grant, bool]:
    """Let an active regulator see ``enterprise``'s data; returns the grant in force and
    whether it is new (granting again changes nothing). Raises :class:`PrincipalRefused` for an
    unknown or revoked principal, one that is not a regulator, or an enterprise that is not a
    20-byte address."""
    row = _get(session, regulator_id)
    if row.role != Role.REGULATOR.value or row.revoked_at is not None:
        state = "revoked" if row.revoked_at is not None else row.role
        raise PrincipalRefused(f"grants are for active regulators: principal {regulator_id} "
                               f"is {state}")
    if len(enterprise) != 20:
        raise PrincipalRefused(f"expected a 20-byte enterprise address, got {len(enterprise)} "
                               "bytes")
    held = [g for g in grants_of(session, regulator_id) if g.enterprise == enterprise]
    if held:
        return held[0], False
    session.add(RegulatorGrantRow(regulator_id=regulator_id, enterprise=enterprise,
                                  granted_at=now, granted_by=by))
    try:
        session.flush()
    except IntegrityError:  # granted at the same moment by another session
        raise PrincipalRefused(f"principal {regulator_id} was granted "
                               f"{format_address(enterprise)} meanwhile") from None
    return Grant(regulator_id, enterprise, now, by), True


def revoke_grant(session: Session, regulator_id: int, enterprise: bytes, *,
                 now: datetime) -> Grant:
    """End the grant in force of ``enterprise`` to a regulator; raises
    :class:`PrincipalRefused` when there is none."""
    _get(session, regulator_id)
    row = session.scalar(select(RegulatorGrantRow).where(
        RegulatorGrantRow.regulator_id == regulator_id,
        RegulatorGrantRow.enterprise == enterprise, RegulatorGrantRow.revoked_at.is_(None)))
    if row is None:
        raise PrincipalRefused(f"principal {regulator_id} holds no grant of "
                               f"{format_address(enterprise)} in force")
    row.revoked_at = now
    session.flush()
    return _grant(row)


def list_principals(session: Session, *, include_revoked: bool = False) -> list[Listed]:
    """Every principal (active ones only unless ``include_revoked``) by id, with its active
    keys' ids and its grants in force."""
    query = select(PrincipalRow).order_by(PrincipalRow.id)
    if not include_revoked:
        query = query.where(PrincipalRow.revoked_at.is_(None))
    keys: dict[int, list[str]] = {}
    for principal_id, key_id in session.execute(
            select(ApiKeyRow.principal_id, ApiKeyRow.key_id)
            .where(ApiKeyRow.revoked_at.is_(None)).order_by(ApiKeyRow.created_at)):
        keys.setdefault(principal_id, []).append(key_id)
    grants: dict[int, list[Grant]] = {}
    for grant_row in session.scalars(select(RegulatorGrantRow)
                                     .where(RegulatorGrantRow.revoked_at.is_(None))
                                     .order_by(RegulatorGrantRow.id)):
        grants.setdefault(grant_row.regulator_id, []).append(_grant(grant_row))
    return [Listed(_principal(row), tuple(keys.get(row.id, ())), tuple(grants.get(row.id, ())))
            for row in session.scalars(query)]


def authenticate(session: Session, key_text: str, server_secret: bytes) -> Principal:
    """The active principal whose active key ``key_text`` is; raises
    :class:`AccessRefused` (401, check ``credentials``) for text that is no key, an unknown key,
    a key whose HMAC differs, a revoked key or a revoked principal. The detail names the key id
    at most, never the key."""
    key_id = key_id_of(key_text)
    if key_id is None:
        raise AccessRefused(401, "credentials", "expected an API key (mrv_<16 hex>_<43 "
                                                "base64url>) after `Bearer `, got something else")
    found = session.execute(select(ApiKeyRow, PrincipalRow)
                            .join(PrincipalRow, PrincipalRow.id == ApiKeyRow.principal_id)
                            .where(ApiKeyRow.key_id == key_id)).one_or_none()
    offered = key_mac(server_secret, key_text)
    if not macs_equal(found[0].mac if found is not None else _NO_MAC, offered) \
            or found is None:
        raise AccessRefused(401, "credentials", f"API key {key_id}: unknown to this ledger")
    key, principal = found
    if key.revoked_at is not None or principal.revoked_at is not None:
        raise AccessRefused(401, "credentials", f"API key {key_id}: revoked")
    return _principal(principal)
