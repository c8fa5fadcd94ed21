"""Generate the methodology tables of ``docs/accounting.md`` (section 3) from the data files.

The document holds this script's output between two markers::

    <!-- accounting_doc:begin -->
    ...
    <!-- accounting_doc:end -->

and ``tests/docs/test_accounting_doc.py`` fails when that block differs from what the shipped data
files give today. After changing a data file::

    .venv/bin/python scripts/accounting_doc.py                            # print the block
    .venv/bin/python scripts/accounting_doc.py --update docs/accounting.md
    .venv/bin/python scripts/accounting_doc.py --check docs/accounting.md # exit 1 when stale
"""

from __future__ import annotations

import argparse
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

from accounting_rules import OPEN_ENDED, FactorRow, Methodology, SourceKind, SourceSpec
from accounting_rules.registry import load_methodology, methodologies

BEGIN = "<!-- accounting_doc:begin -->"
END = "<!-- accounting_doc:end -->"
BEIJING = timezone(timedelta(hours=8))


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("<", "&lt;").replace("\n", " ")


def _date(seconds: int) -> str:
    if seconds == OPEN_ENDED:
        return "open"
    moment = datetime.fromtimestamp(seconds, BEIJING)
    return moment.strftime("%Y-%m-%d" if moment.time() == datetime.min.time()
                           else "%Y-%m-%dT%H:%M:%S+08:00")


def _formula(spec: SourceSpec) -> str:
    if spec.kind is SourceKind.DEDUCTION:
        return f"deducted from `{spec.target}` (emits 0)"
    if spec.kind is SourceKind.OVERRIDE:
        return f"replaces `{spec.parameters[0]}` of `{spec.target}` (emits 0)"
    factors = "".join(f" × {parameter}" for parameter in spec.parameters)  # noqa: RUF001
    numerator = "" if spec.numerator == 1 else f" × {spec.numerator}"  # noqa: RUF001
    return f"{spec.unit}{factors}{numerator} / {spec.denominator:,}".replace(",", "_")


def _sources(methodology: Methodology) -> list[str]:
    lines = ["| source | kind | unit | scope | grams CO2e, rounded half up once per line | "
             "description |", "|---|---|---|---|---|---|"]
    for spec in methodology.sources:
        lines.append(f"| `{spec.source}` | {spec.kind.label} | {spec.unit} | {spec.scope} | "
                     f"{_cell(_formula(spec))} | {_cell(spec.description)} |")
    return lines


def _factors(rows: tuple[FactorRow, ...]) -> list[str]:
    lines = ["| key | source · parameter | data period (Beijing time) | value | published | "
             "citation (as stored on chain) | verification |", "|---|---|---|---|---|---|---|"]
    for row in rows:
        value = f"{row.value:,}".replace(",", "_") + f" {row.unit}"
        if row.decimals:
            value += f" ÷ 10^{row.decimals}"
        lines.append(
            f"| `{row.key}` | `{row.source}` · {row.parameter} | "
            f"{_date(row.valid_from)} → {_date(row.valid_until)} | {value} | "
            f"{_cell(row.published)} | {_cell(row.citation.text())} | "
            f"{_cell(row.citation.verification)} |")
    return lines


def _methodology(methodology: Methodology) -> list[str]:
    lines = [f"### `{methodology.id}` v{methodology.version}: {methodology.title}", "",
             f"Spec hash `0x{methodology.spec_hash.hex()}`.", ""]
    if methodology.composed_of:
        parts = ", ".join(f"`{ref}` v{version}" for ref, version in methodology.composed_of)
        lines += [f"Composed of {parts}: their sources ({len(methodology.sources)}) and factor "
                  f"rows ({len(methodology.factors)}) as listed above, in this order, unchanged.",
                  ""]
    quoted = [f"> {_cell(line)}" for line in methodology.specification.splitlines()]
    lines += "\n>\n".join(quoted).split("\n")
    lines.append("")
    if not methodology.composed_of:
        lines += [*_sources(methodology), "", *_factors(methodology.factors), ""]
    return lines


def render() -> str:
    """The generated block, markers excluded."""
    loaded = [load_methodology(mid, version) for mid, version in methodologies()]
    # composites last: they refer to the tables of their components
    loaded.sort(key=lambda m: (bool(m.composed_of), m.id, m.version))
    lines = ["| id | version | title | sources | factor rows | spec hash |",
             "|---|---|---|---|---|---|"]
    for m in loaded:
        lines.append(f"| `{m.id}` | {m.version} | {_cell(m.title)} | {len(m.sources)} | "
                     f"{len(m.factors)} | `0x{m.spec_hash.hex()[:16]}…` |")
    lines.append("")
    for m in loaded:
        lines += _methodology(m)
    return "\n".join(lines).rstrip("\n") + "\n"


def splice(document: str, block: str) -> str:
    """``document`` with the text between the markers replaced by ``block``."""
    start = document.index(BEGIN) + len(BEGIN)
    end = document.index(END, start)
    return document[:start] + "\n" + block + document[end:]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--update", type=Path, metavar="DOC", help="rewrite the block in DOC")
    group.add_argument("--check", type=Path, metavar="DOC", help="exit 1 when DOC is stale")
    args = parser.parse_args(argv)
    block = render()
    if args.update is None and args.check is None:
        sys.stdout.write(block)
        return 0
    path: Path = args.update or args.check
    document = path.read_text(encoding="utf-8")
    fresh = splice(document, block)
    if args.check is not None:
        if fresh != document:
            print(f"{path} is stale: run scripts/accounting_doc.py --update {path}",
                  file=sys.stderr)
            return 1
        return 0
    path.write_text(fresh, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
