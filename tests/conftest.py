"""Hooks for the whole suite: the figures tests measure, printed at the end of the run.

A test reports a figure with ``record_property("figure", (SECTION, KEY, TEXT))``. pytest carries
it in the test's report, from pytest-xdist workers too; at the end, each section lists its keys
in the order they were first reported, with every text reported for a key.
"""

from __future__ import annotations

from typing import Any

# py-evm (``eth``) and py_ecc raise the recursion limit when first imported (to 12,288 and
# 100,000). Imported here, before any test runs, so that no test changes it midway: hypothesis
# warns when the limit changes during a test and cannot restore it, and tests would see a limit
# that depends on which test imported them first.
import eth  # noqa: F401
import py_ecc  # noqa: F401

FIGURES: dict[str, dict[str, list[str]]] = {}


def pytest_runtest_logreport(report: Any) -> None:
    if report.when != "call":
        return
    for name, value in report.user_properties:
        if name == "figure":
            section, key, text = value
            FIGURES.setdefault(section, {}).setdefault(key, []).append(text)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    for section, lines in FIGURES.items():
        terminalreporter.section(section)
        width = max(map(len, lines))
        for key, texts in lines.items():
            terminalreporter.write_line(f"{key:<{width}}  {', '.join(texts)}")
