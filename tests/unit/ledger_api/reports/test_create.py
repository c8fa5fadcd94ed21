"""The batches a report commits to are those holding the leaves its figures use, read from the
ledger (delivered through the real ingest, on SQLite and PostgreSQL): each once, with the root
the device signed; a leaf in no accepted batch refuses the report (409 ``batch``)."""

from __future__ import annotations

import pytest
from retention_support import FOURTH_KEY, Fleet
from sqlalchemy import select

from accounting_rules.reports import BatchRef
from factories import TEST_KEY
from ledger_api.db.engine import make_sessions
from ledger_api.db.models import BatchRow
from ledger_api.errors import ReportRefused
from ledger_api.reports.create import batches_of_leaves


def test_the_batches_of_leaves_are_the_stored_batches_once_each(fleet: Fleet) -> None:
    with make_sessions(fleet.engine)() as session:
        roots = {(b.device, b.batch_seq): b.root for b in session.scalars(select(BatchRow))}
        # TEST_KEY's batch 0 holds positions 0..3 (three readings and a gap record), batch 1
        # positions 4..6; FOURTH_KEY's batch 0 positions 0..2.
        found = batches_of_leaves(session, [(TEST_KEY.address, 0), (TEST_KEY.address, 3),
                                            (TEST_KEY.address, 5), (FOURTH_KEY.address, 2),
                                            (TEST_KEY.address, 0)])
        assert sorted(found, key=lambda b: (b.device, b.batch_seq)) == sorted(
            (BatchRef(device, seq, roots[device, seq])
             for device, seq in [(TEST_KEY.address, 0), (TEST_KEY.address, 1),
                                 (FOURTH_KEY.address, 0)]), key=lambda b: (b.device, b.batch_seq))
        assert batches_of_leaves(session, []) == []
        with pytest.raises(ReportRefused, match="1 leaf") as caught:
            batches_of_leaves(session, [(TEST_KEY.address, 4), (TEST_KEY.address, 10_000)])
        assert (caught.value.status, caught.value.check) == (409, "batch")
