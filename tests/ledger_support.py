"""Test support for the ledger API: a fixed device directory; principals with keys; counter
buckets as stored and as counted."""

from __future__ import annotations

import itertools
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import Engine, select

from ledger_api.access.principals import Role
from ledger_api.access.store import add_principal
from ledger_api.chain.devices import DeviceStanding, Reason
from ledger_api.db.engine import make_sessions
from ledger_api.db.models import COUNTER_BUCKET_SEQS, CounterBucketRow, ReadingRow


@dataclass
class StaticDevices:
    """A device directory fixed by the test: the ingest's own rules are under test here, the
    chain-backed directory has tests of its own (ledger_api/chain) and the edge-to-API
    integration tests run the two together on a real chain."""

    active: set[bytes] = field(default_factory=set)
    #: device -> (from, to) Unix seconds it is active in (inclusive); absent: always.
    windows: dict[bytes, tuple[int, int]] = field(default_factory=dict)
    #: device -> its enterprise (20 bytes); absent: none known.
    enterprises: dict[bytes, bytes] = field(default_factory=dict)

    def standing(self, device: bytes, timestamp: int) -> DeviceStanding:
        if device not in self.active:
            return DeviceStanding(None, None, False, Reason.UNKNOWN)
        enterprise = self.enterprises.get(device)
        low, high = self.windows.get(device, (0, 2**64))
        if timestamp < low:
            return DeviceStanding(enterprise, None, False, Reason.NOT_YET_REGISTERED)
        if timestamp > high:
            return DeviceStanding(enterprise, None, False, Reason.REVOKED)
        return DeviceStanding(enterprise, None, True, None)


#: The server secret of the tests' applications (random-looking, 48 bytes).
API_SECRET = b"tG7q2ZrWkP0vX9sLm4Nc8Yd1Hb6Jf3Ue5Ra0Ko2Iw7Qx9Tz"
_NAMES = itertools.count()


def new_principal(engine: Engine, role: Role, enterprise: bytes | None = None, *,
                  secret: bytes = API_SECRET) -> tuple[int, str]:
    """A principal made through the real store (``ledger_api.access.store``): its id and key."""
    with make_sessions(engine).begin() as session:
        principal, key = add_principal(session, name=f"{role.value}-{next(_NAMES)}", role=role,
                                       enterprise=enterprise, server_secret=secret,
                                       now=datetime.now(UTC))
    return principal.id, key


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def stored_and_counted_buckets(engine: Engine) -> tuple[dict[tuple[bytes, bytes, str, int], int],
                                                        dict[tuple[bytes, bytes, str, int], int]]:
    """The ``counter_buckets`` rows as stored (key -> readings held), and the same counted
    from the ``readings`` rows (bucket ``seq // COUNTER_BUCKET_SEQS``): equal when the
    triggers of revision 0007_counter_buckets kept them."""
    with engine.connect() as connection:
        stored = {(device, meter, quantity, bucket): held
                  for device, meter, quantity, bucket, held in connection.execute(select(
                      CounterBucketRow.device, CounterBucketRow.meter,
                      CounterBucketRow.quantity, CounterBucketRow.bucket,
                      CounterBucketRow.held))}
        counted = Counter((device, meter, quantity, seq // COUNTER_BUCKET_SEQS)
                          for device, meter, quantity, seq in connection.execute(select(
                              ReadingRow.device, ReadingRow.meter, ReadingRow.quantity,
                              ReadingRow.seq)))
    return stored, dict(counted)
