"""The human-readable report: HTML from a report document, PDF from that HTML.

:func:`render_html` places the text of :func:`.render_view.report_view` (every figure exact,
Chinese and English labels side by side) into the package's Jinja2 template
``templates/report.html``, with autoescape on: free text of the document (a manual line's
description, an evidence file's name, the period's label) can never become markup. The page is
self-contained (its stylesheet inline, no script, no image, no link to fetch), so it opens the
same from a file, an e-mail or an archive, years later.

:func:`render_pdf` lays that HTML out with WeasyPrint (A4, page numbers) and embeds the subset of
the fonts it uses: a CJK font (Debian ``fonts-wqy-microhei``, which ``make setup`` installs, or
Noto Sans CJK) for the Chinese labels. WeasyPrint is given a URL fetcher that refuses every URL,
so rendering never reads a file or the network, whatever the HTML holds.

Figures measured on this machine (one core, a report of 40 lines): docs/api.md, section
"Human-readable report".
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Any

import jinja2
from markupsafe import Markup

from ..errors import ReportRenderError
from .document import ReportDocument
from .render_context import RenderContext
from .render_view import report_view

__all__ = ["render_html", "render_pdf"]


@cache
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("accounting_rules.reports", "templates"),
        autoescape=True,  # every template, whatever its name
        undefined=jinja2.StrictUndefined,  # a misspelt field fails, never renders as ""
        trim_blocks=False,
        keep_trailing_newline=True,
    )


@cache
def _stylesheet() -> Markup:
    """The stylesheet, trusted: it is the package's own file (no user data)."""
    css = resources.files("accounting_rules.reports").joinpath("templates", "report.css")
    return Markup(css.read_text(encoding="utf-8"))


def render_html(doc: ReportDocument, context: RenderContext | None = None) -> str:
    """The report ``doc`` as one self-contained HTML5 page (UTF-8 text).

    ``context`` adds what is not in the document (on-chain status, attestations, anchor
    transactions, the files and URL of the verify command); left out, the page says "not given"
    there. Raises what :func:`.render_view.report_view` raises: the methodology version is not
    shipped, or the document's figures are not its methodology's."""
    view = report_view(doc, context)
    template = _environment().get_template("report.html")
    return template.render(v=view, css=_stylesheet())


class _Fetch(BaseException):
    """Raised inside WeasyPrint when it tries to fetch ``url``: a ``BaseException``, as
    WeasyPrint's own fatal fetching error is, so its catch-all handlers let it through."""

    def __init__(self, url: str) -> None:
        self.url = url
        super().__init__(url)


def render_pdf(html: str) -> bytes:
    """The PDF (bytes, PDF 1.7) of ``html`` as :func:`render_html` makes it, A4.

    Raises :class:`~accounting_rules.errors.ReportRenderError` when the HTML refers to anything
    to fetch (a stylesheet, an image, a font by URL: the report has none, so it is refused
    rather than fetched) or WeasyPrint fails."""
    import weasyprint  # a heavy import (pango through cffi): only when a PDF is made

    fetcher = _NoFetcher()
    try:
        document = weasyprint.HTML(string=html, url_fetcher=fetcher, base_url=None)
        pdf = document.write_pdf()
    except _Fetch as exc:
        raise ReportRenderError(f"the report HTML refers to {exc.url[:200]!r}; a report is "
                                f"self-contained and nothing is fetched") from None
    except (ValueError, OSError, RuntimeError) as exc:
        raise ReportRenderError(f"WeasyPrint could not render the report: {exc}") from None
    if not isinstance(pdf, bytes):
        raise ReportRenderError(f"WeasyPrint returned {type(pdf).__name__}, expected bytes")
    return pdf


class _NoFetcher:
    """A WeasyPrint URL fetcher that fetches nothing (WeasyPrint calls it, and reads the
    ``_fail_on_errors`` flag of its own fetcher class)."""

    _fail_on_errors = True

    def __call__(self, url: str) -> Any:
        raise _Fetch(url)

    fetch = __call__
