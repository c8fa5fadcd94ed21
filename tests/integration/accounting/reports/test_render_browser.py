"""The report's HTML opened in a real browser: Debian's Chromium (``make test`` installs it)
driven headless by playwright, from a ``file://`` URL, every other request refused (no network).
It shows the exact totals and runs no script, even with a hostile description in the document.

Never ``playwright install`` (it downloads browsers): the browser is the system's Chromium.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from render_support import sample_context
from report_factories import sample_report

from accounting_rules.reports.render import render_html

CHROMIUM = Path("/usr/bin/chromium")
HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)>'


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    assert CHROMIUM.exists(), ("Debian's chromium is missing: make test installs it "
                               "(scripts/install_debian_packages.sh chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                              args=["--no-sandbox"])
        try:
            yield launched
        finally:
            launched.close()


def _open(browser: Any, path: Path) -> tuple[Any, list[str], list[str]]:
    """A page showing ``path``; the URLs it requested besides itself and the dialogs it opened."""
    page = browser.new_page()
    requested: list[str] = []
    dialogs: list[str] = []

    def guard(route: Any) -> None:
        url = route.request.url
        if url == path.as_uri():
            route.continue_()
        else:
            requested.append(url)
            route.abort()

    page.route("**/*", guard)
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.goto(path.as_uri())
    return page, requested, dialogs


def test_the_browser_shows_the_exact_totals_and_fetches_nothing(browser: Any,
                                                                  tmp_path: Path) -> None:
    doc = sample_report()
    path = tmp_path / "report.html"
    path.write_text(render_html(doc, sample_context()), encoding="utf-8")
    page, requested, _ = _open(browser, path)
    try:
        assert page.title().startswith("排放报告 / Emission report")
        for key, grams in (("Scope 1", doc.totals.scope1), ("Scope 2", doc.totals.scope2),
                           ("Total", doc.totals.total)):
            cell = page.locator(f'#totals td[data-figure="{key}"]')
            assert cell.inner_text() == f"{grams // 10**6}.{grams % 10**6:06d}"
        title = page.locator("#title").bounding_box()
        assert title is not None and title["width"] > 100 and title["height"] > 10
        assert requested == []
    finally:
        page.close()


def test_a_hostile_description_is_shown_as_text_and_runs_nothing(browser: Any,
                                                                  tmp_path: Path) -> None:
    path = tmp_path / "hostile.html"
    path.write_text(render_html(sample_report(description=HOSTILE)), encoding="utf-8")
    page, requested, dialogs = _open(browser, path)
    try:
        assert page.evaluate("document.querySelectorAll('script, img').length") == 0
        assert HOSTILE in page.locator("#lines").inner_text()
        assert dialogs == [] and requested == []
    finally:
        page.close()
