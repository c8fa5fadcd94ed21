"""``mrv report render``: a report document as HTML and PDF for human readers.

    mrv report render DOCUMENT.json --html OUT.html --pdf OUT.pdf [--context FILE]

DOCUMENT.json is a ``trustmrv-report/1`` document (read strictly: the same decoder the
verifiers use); FILE an optional ``trustmrv-report-context/1`` object with the report's
on-chain status, attestations, anchor transactions and the names its "how to verify" shows
(``accounting_rules.reports.render_context``). At least one of ``--html`` and ``--pdf``; each
output is written whole or not at all (a temporary file beside it, created exclusively, then
renamed over it), into a directory that must exist; a device, FIFO or socket there is refused.

Exit codes as every ``mrv`` command: 0 written; 2 bad input (unreadable or malformed document or
context, a methodology version not shipped, figures that are not the methodology's, an output
directory that does not exist), one ``mrv: error:`` line naming it.

:func:`register_render` adds ``render`` to the ``mrv report`` group (``report_cmd``).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

from accounting_rules.reports.document import LIMITS, loads_report
from accounting_rules.reports.render import render_html, render_pdf
from accounting_rules.reports.render_context import MAX_CONTEXT_BYTES, loads_context
from mrv_core.errors import ConfigError, FormatError
from mrv_core.files import (
    UnreadableFile,
    file_kind,
    read_regular_file,
    replace_file,
    require_parent_directory,
)

from .options import EXIT_OK, add_option

__all__ = ["register_render"]


def register_render(subcommands: Any) -> None:
    """Add ``render`` to the subcommands of ``mrv report``."""
    render = subcommands.add_parser(
        "render", help="a report document as HTML and PDF",
        description="Render a trustmrv-report/1 document as a self-contained HTML page and an "
                    "A4 PDF with Chinese and English labels: totals by scope and source, every "
                    "line measured or manual with its evidence, the factors and citations "
                    "that apply, data quality, the batches and how to verify.",
        epilog="Exit codes: 0 written, 2 bad input.")
    render.add_argument("document", type=Path, metavar="DOCUMENT",
                        help="the report document (trustmrv-report/1 JSON)")
    add_option(render, "--html", "MRV_REPORT_HTML", type=Path, metavar="OUT.html",
               help="write the HTML page here")
    add_option(render, "--pdf", "MRV_REPORT_PDF", type=Path, metavar="OUT.pdf",
               help="write the PDF here")
    add_option(render, "--context", "MRV_REPORT_CONTEXT", type=Path, metavar="FILE",
               help="on-chain status, attestations and anchors to show "
                    "(trustmrv-report-context/1 JSON)")
    render.set_defaults(handler=_render)


def _read(path: Path, limit: int, what: str) -> bytes:
    try:
        return read_regular_file(path, limit)
    except UnreadableFile as exc:
        raise ConfigError(f"{what} {path}: {exc.reason}") from None


def _write(path: Path, flag: str, data: bytes) -> None:
    """``data`` into ``path``, whole or not at all (:func:`mrv_core.files.replace_file`)."""
    try:
        replace_file(path, data)
    except UnreadableFile as exc:
        raise ConfigError(f"{flag} {path}: {exc.reason}") from None


def _render(args: argparse.Namespace) -> int:
    outputs = [(flag, path) for flag, path in (("--html", args.html), ("--pdf", args.pdf))
               if path is not None]
    if not outputs:
        raise ConfigError("nothing to write: give --html OUT.html, --pdf OUT.pdf or both")
    for flag, path in outputs:  # every argument checked before any work
        require_parent_directory(path, flag)
        if path.is_dir():
            raise ConfigError(f"{flag} {path}: expected a file, got a directory")
        if path.exists() and not path.is_file():
            raise ConfigError(f"{flag} {path}: expected a regular file, got "
                              f"{file_kind(path.stat().st_mode)}: not replaced")
    if args.html is not None and args.html == args.pdf:
        raise ConfigError(f"--html and --pdf name the same file {args.html}")
    try:
        doc = loads_report(_read(args.document, LIMITS.document_bytes, "document"))
    except FormatError as exc:
        raise ConfigError(f"document {args.document}: {exc}") from None
    context = None
    if args.context is not None:
        try:
            context = loads_context(_read(args.context, MAX_CONTEXT_BYTES, "--context"))
        except FormatError as exc:
            raise ConfigError(f"--context {args.context}: {exc}") from None
    started = time.perf_counter()
    html = render_html(doc, context)
    if args.html is not None:
        _write(args.html, "--html", html.encode("utf-8"))
        print(f"wrote {args.html} ({len(html.encode('utf-8')):,} bytes, "
              f"{time.perf_counter() - started:.2f} s)")
    if args.pdf is not None:
        started = time.perf_counter()
        pdf = render_pdf(html)
        _write(args.pdf, "--pdf", pdf)
        print(f"wrote {args.pdf} ({len(pdf):,} bytes, {time.perf_counter() - started:.2f} s)")
    return EXIT_OK
