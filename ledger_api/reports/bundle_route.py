"""``GET /v1/reports/{hash}/bundle``: the report bundle (``trustmrv-report-bundle/1``,
docs/protocol.md section 11) of a report the ledger keeps (docs/api.md, "Report bundles").

The evidence of each measured line is what the ledger's recompute reads for the report's site
and period (``figures``: ``ledger_api.recompute.meter_figures``, each figure's ``leaves``), for
the meters and devices the document lists; :func:`.bundle_export.export_report_bundle` proves
them. Before answering, the bundle goes through every offline step of the standalone verifier
(``accounting_rules.reports.verify``): when the ledger's data no longer gives the report's
figures (a reading arrived late, a batch was purged), the answer is 409 ``evidence`` naming the
failed step, never a bundle that does not verify.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

from fastapi import FastAPI, Path
from fastapi.responses import JSONResponse, Response
from sqlalchemy.orm import Session

from accounting_rules.reports.verify import verify_report_bundle
from mrv_core.codec import parse_hex
from mrv_core.errors import VerificationError

from ..access import ACCESS_STATUSES, VisibleEnterprises
from ..errors import ReportRefused
from ..problems import problem_response, problem_responses
from ..proofs import TreeCache
from .activity_routes import EnterpriseReader, serve_db
from .bundle_export import bundle_of_report
from .report_routes import Figures
from .store import report_document, report_row

if TYPE_CHECKING:
    from ..app import Services

__all__ = ["add_bundle_route"]

_BYTES32 = r"^0x[0-9a-f]{64}$"


def add_bundle_route(app: FastAPI, services: Services, figures: Figures) -> None:
    """Add ``GET /v1/reports/{hash}/bundle`` to ``app``, reading the evidence through
    ``figures``."""
    trees = TreeCache()

    @app.get("/v1/reports/{digest}/bundle", tags=["reports"], response_class=Response,
             responses={200: {"content": {"application/json": {}}},
                        **problem_responses(*ACCESS_STATUSES, 404, 409, 422, 503)})
    async def get_bundle(_principal: EnterpriseReader, visible: VisibleEnterprises,
                         digest: Annotated[str, Path(pattern=_BYTES32)]) -> Response:
        """The report's bundle: the document, its hash, and the signed, anchored readings and
        records behind its measured lines with one multiproof per batch; verify it with
        ``mrv bundle verify FILE --rpc URL --deployment FILE``."""
        system = services.system
        if system is None:
            return problem_response(503, "unavailable", "this ledger runs without a chain: "
                                    "the batches' anchors cannot be named")
        key = parse_hex(digest, 32)

        def run(session: Session) -> bytes:
            doc = report_document(report_row(session, key, visible))
            bundle = bundle_of_report(session, doc, figures, system.deployment, trees)
            try:
                verify_report_bundle(bundle)
            except VerificationError as exc:
                raise ReportRefused(409, "evidence", f"the ledger's data no longer proves the "
                                                     f"report: {exc}") from None
            return bundle.dumps()

        done = await serve_db(services, run)
        if isinstance(done, JSONResponse):
            return done
        return Response(done, media_type="application/json")
