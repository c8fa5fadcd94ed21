"""Principals, keys and grants in the database (ledger_api.access.store), on SQLite and on a
real PostgreSQL; the 0003_access migration against the models."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from ledger_support import API_SECRET
from sqlalchemy import Engine, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ledger_api.access import store
from ledger_api.access.principals import Role
from ledger_api.db.engine import make_sessions
from ledger_api.db.migrate import current_revision, head_revision
from ledger_api.db.models import ApiKeyRow, Base, PrincipalRow
from ledger_api.errors import AccessRefused, PrincipalRefused

NOW = datetime(2026, 11, 30, 12, tzinfo=UTC)
LATER = datetime(2026, 12, 1, tzinfo=UTC)
A, B = b"\xaa" * 20, b"\xbb" * 20


@pytest.fixture
def session(ledger_engine: Engine) -> Session:
    with make_sessions(ledger_engine)() as session:
        yield session  # type: ignore[misc]


def add(session: Session, name: str, role: Role,
        enterprise: bytes | None = None) -> tuple[int, str]:
    principal, key = store.add_principal(session, name=name, role=role, enterprise=enterprise,
                                         server_secret=API_SECRET, now=NOW)
    session.commit()
    return principal.id, key


def test_the_schema_the_migrations_make_is_the_models_schema(ledger_engine: Engine) -> None:
    assert current_revision(ledger_engine) == head_revision()
    with ledger_engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert differences == []


def test_a_key_authenticates_its_principal_and_only_its_hmac_is_stored(session: Session) -> None:
    pid, key = add(session, "acme admin", Role.ENTERPRISE_ADMIN, A)
    principal = store.authenticate(session, key, API_SECRET)
    assert (principal.id, principal.name, principal.role, principal.enterprise) == \
        (pid, "acme admin", Role.ENTERPRISE_ADMIN, A)
    stored = session.scalars(select(ApiKeyRow)).one()
    assert stored.key_id in key and len(stored.mac) == 32
    secret_part = key[21:]
    for table in ("api_keys", "principals"):
        for row in session.execute(text(f"SELECT * FROM {table}")):
            assert not any(secret_part.encode() in (v if isinstance(v, bytes) else
                                                    str(v).encode()) for v in row)


def test_garbage_unknown_tampered_and_foreign_keys_are_refused_with_401(session: Session) -> None:
    _, key = add(session, "reader", Role.ENTERPRISE_READER, A)
    tampered = key[:-1] + ("A" if key[-1] != "A" else "B")
    unknown = "mrv_0123456789abcdef_" + key[21:]
    for offered, detail in ((" ", "expected an API key"), ("Basic x", "expected an API key"),
                            (key + "x", "expected an API key"), (tampered, "unknown"),
                            (unknown, "unknown")):
        with pytest.raises(AccessRefused, match=detail) as refused:
            store.authenticate(session, offered, API_SECRET)
        assert refused.value.status == 401 and refused.value.check == "credentials"
        assert key not in str(refused.value)
    with pytest.raises(AccessRefused, match="unknown"):
        store.authenticate(session, key, API_SECRET[::-1])  # another server's secret


def test_a_revoked_principal_and_its_keys_are_refused(session: Session) -> None:
    pid, key = add(session, "gone", Role.ENTERPRISE_READER, A)
    revoked = store.revoke_principal(session, pid, now=LATER)
    session.commit()
    assert revoked.revoked_at is not None and not revoked.active
    with pytest.raises(AccessRefused, match="revoked"):
        store.authenticate(session, key, API_SECRET)
    assert store.revoke_principal(session, pid, now=NOW).revoked_at == revoked.revoked_at
    assert store.list_principals(session) == []
    listed = store.list_principals(session, include_revoked=True)
    assert [(p.principal.id, p.key_ids) for p in listed] == [(pid, ())]


def test_names_are_unique_and_enterprises_fit_roles(session: Session) -> None:
    add(session, "acme", Role.ENTERPRISE_ADMIN, A)
    with pytest.raises(PrincipalRefused, match="is taken"):
        add(session, " acme ", Role.ENTERPRISE_READER, A)
    for name in ("", "   ", "x" * 201, "tab\there"):
        with pytest.raises(PrincipalRefused, match="printable name"):
            add(session, name, Role.REGULATOR)
    with pytest.raises(PrincipalRefused, match="acts for no single enterprise"):
        add(session, "reg", Role.REGULATOR, A)
    with pytest.raises(PrincipalRefused, match="acts for one enterprise"):
        add(session, "dev", Role.DEVICE)


def test_the_database_refuses_a_role_and_enterprise_that_do_not_fit(session: Session) -> None:
    for role, enterprise in (("regulator", A), ("enterprise_reader", None), ("root", None)):
        session.add(PrincipalRow(name=f"around-{role}", role=role, enterprise=enterprise,
                                 created_at=NOW))
        with pytest.raises(IntegrityError):
            session.flush()
        session.rollback()


def test_grants_are_given_once_revoked_and_listed(session: Session) -> None:
    reg, _ = add(session, "regulator", Role.REGULATOR)
    grant, new = store.grant_enterprise(session, reg, A, by="cli:test", now=NOW)
    assert new and (grant.enterprise, grant.granted_by) == (A, "cli:test")
    assert store.grant_enterprise(session, reg, A, by="cli:again", now=LATER)[1] is False
    store.grant_enterprise(session, reg, B, by="cli:test", now=NOW)
    session.commit()
    assert [g.enterprise for g in store.grants_of(session, reg)] == [A, B]
    store.revoke_grant(session, reg, A, now=LATER)
    session.commit()
    assert [g.enterprise for g in store.grants_of(session, reg)] == [B]
    assert len(store.grants_of(session, reg, in_force=False)) == 2
    with pytest.raises(PrincipalRefused, match="no grant"):
        store.revoke_grant(session, reg, A, now=LATER)
    again, new = store.grant_enterprise(session, reg, A, by="cli:test", now=LATER)
    assert new and again.granted_at == LATER
    session.commit()
    listed = {p.principal.id: p for p in store.list_principals(session)}
    assert {g.enterprise for g in listed[reg].grants} == {A, B}


def test_grants_go_to_active_regulators_only(session: Session) -> None:
    admin, _ = add(session, "admin", Role.ENTERPRISE_ADMIN, A)
    reg, _ = add(session, "regulator", Role.REGULATOR)
    with pytest.raises(PrincipalRefused, match="is enterprise_admin"):
        store.grant_enterprise(session, admin, B, by="t", now=NOW)
    with pytest.raises(PrincipalRefused, match="20-byte"):
        store.grant_enterprise(session, reg, b"\1" * 19, by="t", now=NOW)
    with pytest.raises(PrincipalRefused, match="no such principal"):
        store.grant_enterprise(session, 999, A, by="t", now=NOW)
    store.revoke_principal(session, reg, now=NOW)
    with pytest.raises(PrincipalRefused, match="is revoked"):
        store.grant_enterprise(session, reg, A, by="t", now=NOW)


def test_a_key_is_rotated_without_touching_the_principal_or_its_other_keys(
        session: Session) -> None:
    pid, old = add(session, "rotating", Role.ENTERPRISE_READER, A)
    new = store.add_key(session, pid, server_secret=API_SECRET, now=LATER)
    session.commit()
    assert new != old and store.authenticate(session, new, API_SECRET).id == pid
    assert store.revoke_key(session, old[4:20], now=LATER) == pid
    session.commit()
    with pytest.raises(AccessRefused, match="revoked"):
        store.authenticate(session, old, API_SECRET)
    assert store.authenticate(session, new, API_SECRET).id == pid
    assert store.list_principals(session)[0].key_ids == (new[4:20],)
    with pytest.raises(PrincipalRefused, match="no such key"):
        store.revoke_key(session, "0" * 16, now=LATER)
    store.revoke_principal(session, pid, now=LATER)
    with pytest.raises(PrincipalRefused, match="is revoked"):
        store.add_key(session, pid, server_secret=API_SECRET, now=LATER)
