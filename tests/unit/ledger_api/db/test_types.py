"""Exact integer columns (``ledger_api.db.types``) on SQLite and on a real PostgreSQL: values come
back exactly, SQL order and comparisons agree with Python's at the type limits, bad values are
refused before anything is written, and the SQLite encodings are the documented ones."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.dialects import mysql
from sqlalchemy.exc import IntegrityError, StatementError

from ledger_api.db.types import Int256, Uint64
from ledger_api.errors import CorruptColumnValue, InvalidColumnValue, UnsupportedDatabase
from mrv_core.codec import INT256_MAX, INT256_MIN, UINT64_MAX

U64_LIMITS = [0, 1, 2**32 - 1, 2**32, 2**63 - 1, 2**63, 2**63 + 1, UINT64_MAX - 1, UINT64_MAX]
I256_LIMITS = [INT256_MIN, INT256_MIN + 1, -(2**64), -(2**63) - 1, -(2**63), -(2**63) + 1, -1, 0,
               1, 2**63 - 1, 2**63, 2**64 - 1, 2**64, INT256_MAX - 1, INT256_MAX]

uint64s = st.one_of(st.sampled_from(U64_LIMITS), st.integers(0, UINT64_MAX))
int256s = st.one_of(st.sampled_from(I256_LIMITS), st.integers(-(2**70), 2**70),
                    st.integers(INT256_MIN, INT256_MAX))

# The fixture's database serves every example: each example works in a transaction it rolls back.
DATABASE_EXAMPLES = settings(max_examples=25, deadline=None,
                             suppress_health_check=[HealthCheck.function_scoped_fixture])

metadata = sa.MetaData()
numbers = sa.Table(
    "numbers", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("u", Uint64(), index=True),
    sa.Column("i", Int256(), index=True),
)
unique_numbers = sa.Table(
    "unique_numbers", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("u", Uint64(), unique=True),
    sa.Column("i", Int256(), unique=True),
)


@pytest.fixture
def engine(database_url: str) -> Iterator[sa.Engine]:
    engine = sa.create_engine(database_url)
    metadata.create_all(engine)
    yield engine
    engine.dispose()


def _insert(conn: sa.Connection, us: list[int], is_: list[int]) -> None:
    conn.execute(sa.insert(numbers), [{"id": k, "u": u, "i": i}
                                      for k, (u, i) in enumerate(zip(us, is_, strict=True))])


@DATABASE_EXAMPLES
@given(st.lists(st.tuples(uint64s, int256s), min_size=1, max_size=20))
def test_values_round_trip_exactly(engine: sa.Engine, pairs: list[tuple[int, int]]) -> None:
    pairs += list(zip(U64_LIMITS, I256_LIMITS, strict=False))
    with engine.connect() as conn, conn.begin() as tx:
        _insert(conn, [u for u, _ in pairs], [i for _, i in pairs])
        rows = conn.execute(sa.select(numbers.c.u, numbers.c.i).order_by(numbers.c.id)).all()
        tx.rollback()
    assert [(u, i) for u, i in rows] == pairs
    assert all(type(u) is int and type(i) is int for u, i in rows)


@DATABASE_EXAMPLES
@given(st.lists(uint64s, max_size=20), uint64s, st.lists(int256s, max_size=20), int256s)
def test_order_and_comparisons_agree_with_python(
        engine: sa.Engine, us: list[int], u_pivot: int, is_: list[int], i_pivot: int) -> None:
    us += U64_LIMITS
    is_ += I256_LIMITS
    count = min(len(us), len(is_))
    us, is_ = us[:count], is_[:count]
    u, i = numbers.c.u, numbers.c.i
    with engine.connect() as conn, conn.begin() as tx:
        _insert(conn, us, is_)
        assert conn.scalars(sa.select(u).order_by(u)).all() == sorted(us)
        assert conn.scalars(sa.select(i).order_by(i.desc())).all() == sorted(is_, reverse=True)
        assert conn.scalars(sa.select(u).where(u < u_pivot).order_by(u)).all() == \
            sorted(x for x in us if x < u_pivot)
        assert conn.scalars(sa.select(i).where(i >= i_pivot).order_by(i)).all() == \
            sorted(x for x in is_ if x >= i_pivot)
        low, high = sorted((i_pivot, is_[0]))
        assert conn.scalars(sa.select(i).where(i.between(low, high)).order_by(i)).all() == \
            sorted(x for x in is_ if low <= x <= high)
        assert conn.execute(sa.select(sa.func.min(u), sa.func.max(u), sa.func.min(i),
                                      sa.func.max(i))).one() == (min(us), max(us), min(is_),
                                                                 max(is_))
        tx.rollback()


def test_unique_columns_tell_neighbouring_values_apart(engine: sa.Engine) -> None:
    with engine.begin() as conn:
        conn.execute(sa.insert(unique_numbers), [
            {"id": k, "u": u, "i": i} for k, (u, i) in enumerate(zip(U64_LIMITS, I256_LIMITS,
                                                                     strict=False))])
    with pytest.raises(IntegrityError), engine.begin() as conn:
        conn.execute(sa.insert(unique_numbers), {"id": 100, "u": UINT64_MAX, "i": 1})
    with pytest.raises(IntegrityError), engine.begin() as conn:
        conn.execute(sa.insert(unique_numbers), {"id": 100, "u": 5, "i": INT256_MIN})


@pytest.mark.parametrize(("column", "value", "actual"), [
    ("u", -1, "got -1"),
    ("u", UINT64_MAX + 1, f"got {UINT64_MAX + 1}"),
    ("u", True, "got bool True"),
    ("u", 1.0, "got float 1.0"),
    ("u", "1", "got str '1'"),
    ("u", Decimal(1), "got Decimal Decimal('1')"),
    ("i", INT256_MIN - 1, f"got {INT256_MIN - 1}"),
    ("i", INT256_MAX + 1, f"got {INT256_MAX + 1}"),
    ("i", False, "got bool False"),
    ("i", b"\x00" * 32, "got bytes"),
])
def test_bad_values_are_refused_and_nothing_is_written(
        engine: sa.Engine, column: str, value: object, actual: str) -> None:
    expected = {"u": "Uint64 column: expected an int in [0, 2**64 - 1]",
                "i": "Int256 column: expected an int in [-2**255, 2**255 - 1]"}[column]
    with pytest.raises(StatementError) as caught, engine.begin() as conn:
        conn.execute(sa.insert(numbers), {"id": 1, column: value})
    assert isinstance(caught.value.orig, InvalidColumnValue)
    assert str(caught.value.orig).startswith(f"{expected}, {actual}")
    with pytest.raises(StatementError) as compared, engine.connect() as conn:
        conn.execute(sa.select(numbers).where(numbers.c[column] < value))
    assert isinstance(compared.value.orig, InvalidColumnValue)
    with engine.connect() as conn:
        assert conn.scalar(sa.select(sa.func.count()).select_from(numbers)) == 0


def test_null_is_stored_as_null(engine: sa.Engine) -> None:
    with engine.begin() as conn:
        conn.execute(sa.insert(numbers), {"id": 1, "u": None, "i": None})
        assert conn.execute(sa.select(numbers.c.u, numbers.c.i)).one() == (None, None)
        assert conn.scalar(sa.select(sa.func.count()).where(numbers.c.u.is_(None))) == 1


def test_stored_uint64_past_its_range_is_reported_corrupt(engine: sa.Engine) -> None:
    """Rows written around the types (raw SQL) are refused when read, never returned wrong."""
    past = f"'{UINT64_MAX + 1}'" if engine.dialect.name == "sqlite" else str(UINT64_MAX + 1)
    with engine.begin() as conn:
        conn.execute(sa.text(f"INSERT INTO numbers (id, u) VALUES (1, {past})"))
    with pytest.raises(CorruptColumnValue, match=r"Uint64 column: stored value "
                                                 r"18446744073709551616 outside \[0, 2\*\*64 - 1\]"
                       ), engine.connect() as conn:
        conn.execute(sa.select(numbers.c.u)).one()


def test_stored_int256_past_its_range_is_reported_corrupt(postgres_url: str) -> None:
    """Only PostgreSQL can hold one: every 32-byte SQLite encoding is in range."""
    engine = sa.create_engine(postgres_url)
    table = sa.Table("past_int256", sa.MetaData(), sa.Column("i", Int256()))
    try:
        table.create(engine)
        with engine.begin() as conn:
            conn.execute(sa.text(f"INSERT INTO past_int256 VALUES ({INT256_MIN - 1})"))
        with pytest.raises(CorruptColumnValue, match="Int256 column: stored value -5789"), \
                engine.connect() as conn:
            conn.execute(sa.select(table.c.i)).one()
    finally:
        table.drop(engine)
        engine.dispose()


@pytest.mark.parametrize(("column", "raw", "message"), [
    ("u", "'42'", "expected 20 ASCII digits, got '42'"),
    ("u", "'-0000000000000000042'", "expected 20 ASCII digits"),
    ("u", "'\uff11" + "0" * 19 + "'", "expected 20 ASCII digits"),  # a fullwidth digit
    ("u", "X'" + "30" * 20 + "'", "expected 20 ASCII digits, got b'000"),  # a blob, not text
    ("i", "X'00'", "expected 32 bytes, got b'\\x00'"),
    ("i", "'" + "0" * 32 + "'", "expected 32 bytes, got '000"),  # text, not a blob
])
def test_sqlite_values_outside_the_encoding_are_reported_corrupt(
        tmp_path: object, column: str, raw: str, message: str) -> None:
    engine = sa.create_engine(f"sqlite:///{tmp_path}/t.sqlite3")
    try:
        metadata.create_all(engine)
        with engine.begin() as conn:
            conn.execute(sa.text(f"INSERT INTO numbers (id, {column}) VALUES (1, {raw})"))
        with pytest.raises(CorruptColumnValue) as caught, engine.connect() as conn:
            conn.execute(sa.select(numbers.c[column])).one()
    finally:
        engine.dispose()
    assert message in str(caught.value)


@pytest.mark.parametrize(("u", "stored_u"), [
    (0, "00000000000000000000"), (42, "00000000000000000042"),
    (UINT64_MAX, "18446744073709551615")])
@pytest.mark.parametrize(("i", "stored_i"), [
    (INT256_MIN, bytes(32)), (-1, b"\x7f" + b"\xff" * 31), (0, b"\x80" + bytes(31)),
    (INT256_MAX, b"\xff" * 32)])
def test_sqlite_encodings_are_the_documented_ones(
        tmp_path: object, u: int, stored_u: str, i: int, stored_i: bytes) -> None:
    engine = sa.create_engine(f"sqlite:///{tmp_path}/t.sqlite3")
    try:
        metadata.create_all(engine)
        with engine.begin() as conn:
            conn.execute(sa.insert(numbers), {"id": 1, "u": u, "i": i})
            raw = conn.execute(sa.text("SELECT u, i, typeof(u), typeof(i) FROM numbers")).one()
    finally:
        engine.dispose()
    assert tuple(raw) == (stored_u, stored_i, "text", "blob")


def test_postgresql_columns_are_numeric_with_scale_zero(postgres_url: str) -> None:
    engine = sa.create_engine(postgres_url)
    table = sa.Table("numeric_types", sa.MetaData(), sa.Column("u", Uint64()),
                     sa.Column("i", Int256()))
    try:
        table.create(engine)
        with engine.connect() as conn:
            columns = conn.execute(sa.text(
                "SELECT column_name, data_type, numeric_precision, numeric_scale FROM "
                "information_schema.columns WHERE table_name = 'numeric_types' "
                "ORDER BY column_name")).all()
        assert [tuple(c) for c in columns] == [("i", "numeric", 78, 0), ("u", "numeric", 20, 0)]
    finally:
        table.drop(engine)
        engine.dispose()


def test_literal_rendering_selects_what_bound_values_select(engine: sa.Engine) -> None:
    """Statements compiled with ``literal_binds`` (Alembic's offline SQL) mean the same."""
    with engine.begin() as conn:
        _insert(conn, U64_LIMITS, I256_LIMITS[:len(U64_LIMITS)])
        for u_pivot, i_pivot in [(2**63, -1), (UINT64_MAX, INT256_MIN), (0, INT256_MAX)]:
            query = sa.select(numbers.c.id).where(
                numbers.c.u <= u_pivot, numbers.c.i > i_pivot).order_by(numbers.c.id)
            literal = str(query.compile(engine, compile_kwargs={"literal_binds": True}))
            assert str(u_pivot) in literal or engine.dialect.name == "sqlite"
            assert conn.scalars(sa.text(literal)).all() == conn.scalars(query).all()


def test_other_databases_are_refused() -> None:
    table = sa.Table("t", sa.MetaData(), sa.Column("u", Uint64()))
    with pytest.raises(UnsupportedDatabase, match="expected a sqlite or postgresql database, "
                                                  "got mysql"):
        str(sa.schema.CreateTable(table).compile(dialect=mysql.dialect()))


@settings(max_examples=300, deadline=None)
@given(uint64s, uint64s, int256s, int256s)
def test_sqlite_encodings_order_as_the_integers_and_decode_back(
        u1: int, u2: int, i1: int, i2: int) -> None:
    """The encodings alone, without a database, over many more values: byte order (SQLite's
    comparison of text and blobs) is integer order, and decoding inverts encoding."""
    uint64, int256 = Uint64(), Int256()
    assert (uint64._encode(u1) < uint64._encode(u2)) == (u1 < u2)
    assert (int256._encode(i1) < int256._encode(i2)) == (i1 < i2)
    assert (uint64._decode(uint64._encode(u1)), int256._decode(int256._encode(i1))) == (u1, i1)
