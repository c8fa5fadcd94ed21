"""The wheel is complete: built from this tree, installed into a fresh venv outside the checkout,
its ``mrv`` deploys the contracts (dry run), lists the methodologies and writes and verifies
sample bundles with no source tree in reach.

The wheel is built without build isolation (setuptools of the project's venv: no network) from a
copy of the work tree's files, so no stale ``build/`` folder can leak into it. The fresh venv has
no pip and no dependencies of its own: a ``.pth`` line makes the project venv's site-packages
importable after its own, so only the wheel's packages come from the new venv (the project's
editable install is not active there: ``.pth`` files of an added path are not processed).
"""

from __future__ import annotations

import os
import shutil
import site
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "mrv_core" / "chain" / "contracts"
METHODOLOGY_DATA = ROOT / "accounting_rules" / "data"
METER_PROFILES = ROOT / "edge_node" / "profiles" / "data"
REPORT_TEMPLATES = ROOT / "accounting_rules" / "reports" / "templates"

pytestmark = pytest.mark.slow


def _run(argv: list[str], cwd: Path, env: dict[str, str] | None = None,
         timeout: int = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=timeout, check=False)


def _copy_work_tree(target: Path) -> None:
    """The tracked and untracked-but-not-ignored files of the checkout, as they are now."""
    listed = _run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], ROOT)
    assert listed.returncode == 0, f"git ls-files failed: {listed.stderr}"
    for name in filter(None, listed.stdout.split("\0")):
        source = ROOT / name
        if source.is_file():  # a file deleted in the work tree but still in the index
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("wheel")
    tree, out = work / "tree", work / "dist"
    _copy_work_tree(tree)
    built = _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                  "--no-index", "--quiet", "-w", str(out), str(tree)], work)
    assert built.returncode == 0, f"pip wheel failed:\n{built.stdout}{built.stderr}"
    (path,) = out.glob("trustmrv-*.whl")
    return path


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The ``bin`` folder of a fresh venv holding the wheel."""
    venv = tmp_path_factory.mktemp("venv") / "venv"
    made = _run([sys.executable, "-m", "venv", "--without-pip", str(venv)], venv.parent)
    assert made.returncode == 0, made.stderr
    purelib = Path(sysconfig.get_path("purelib", vars={"base": str(venv),
                                                       "platbase": str(venv)}))
    (purelib / "zz-project-deps.pth").write_text(
        "\n".join(site.getsitepackages()) + "\n", encoding="utf-8")
    pip = _run([sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python"),
                "install", "--no-deps", "--no-index", "--quiet", str(wheel)], venv.parent)
    assert pip.returncode == 0, f"pip install failed:\n{pip.stdout}{pip.stderr}"
    return venv / "bin"


def test_the_wheel_carries_every_artifact_methodology_and_meter_profile_file(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    artifacts = {f"mrv_core/chain/contracts/{p.name}" for p in ARTIFACTS.glob("*.json")}
    data = {p.relative_to(ROOT).as_posix() for p in METHODOLOGY_DATA.glob("*/*.json")}
    profiles = {p.relative_to(ROOT).as_posix() for p in METER_PROFILES.glob("*.toml")}
    templates = {p.relative_to(ROOT).as_posix() for p in REPORT_TEMPLATES.iterdir()}
    assert len(artifacts) >= 10 and len(data) >= 10 and len(profiles) >= 5
    assert templates == {"accounting_rules/reports/templates/report.html",
                         "accounting_rules/reports/templates/report.css"}
    assert templates <= names, sorted(templates - names)
    assert artifacts <= names, sorted(artifacts - names)
    assert data <= names, sorted(data - names)
    assert profiles <= names, sorted(profiles - names)


def _mrv(bin_dir: Path, cwd: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("MRV_", "PYTHON", "VIRTUAL_ENV"))}
    return _run([str(bin_dir / "mrv"), *argv], cwd, env)


def test_the_installed_wheel_runs_every_kind_of_command_outside_the_checkout(
        installed: Path, tmp_path: Path) -> None:
    where = _run([str(installed / "python"), "-c",
                  "import mrv_core, accounting_rules, edge_node; print(mrv_core.__file__); "
                  "print(accounting_rules.__file__); print(edge_node.__file__)"], tmp_path)
    assert where.returncode == 0, where.stderr
    for line in where.stdout.split():
        assert Path(line).is_relative_to(installed.parent), line  # the wheel's copy, not ours

    deployed = _mrv(installed, tmp_path, "chain", "deploy")
    assert deployed.returncode == 0, deployed.stderr
    assert "deployed on embedded chain" in deployed.stdout and "AnchorRegistry" in deployed.stdout

    profiles = _run([str(installed / "python"), "-c",
                     "from edge_node.profiles import list_profiles, load_profile; "
                     "print(*[load_profile(p).id for p in list_profiles()])"], tmp_path)
    assert profiles.returncode == 0, profiles.stderr
    assert "eastron.sdm630" in profiles.stdout.split() and "generic" in profiles.stdout.split()

    listed = _mrv(installed, tmp_path, "accounting", "list")
    assert listed.returncode == 0, listed.stderr
    assert "ipcc.fugitive" in listed.stdout and "cn.machinery" in listed.stdout

    sample = _mrv(installed, tmp_path, "bundle", "sample", "--count", "4", "--out", "bundles")
    assert sample.returncode == 0, sample.stderr
    files = sorted(str(p) for p in (tmp_path / "bundles").glob("*.json"))
    assert len(files) == 6  # 4 reading bundles, the multiproof and the batch file
    verified = _mrv(installed, tmp_path, "bundle", "verify", *files)
    assert verified.returncode == 0, verified.stdout + verified.stderr

    # the report renderer's templates come from the wheel (the HTML only: the PDF's layout is
    # the same code, tested in the checkout)
    made = _run([str(installed / "python"), "-c",
                 "import json, sys; sys.path.insert(0, sys.argv[1]); "
                 "from report_factories import sample_report; "
                 "from accounting_rules.reports import encode_report; "
                 "print(json.dumps(encode_report(sample_report())))",
                 str(ROOT / "tests")], tmp_path)
    assert made.returncode == 0, made.stderr
    (tmp_path / "report.json").write_text(made.stdout, encoding="utf-8")
    rendered = _mrv(installed, tmp_path, "report", "render", "report.json", "--html", "r.html")
    assert rendered.returncode == 0, rendered.stderr
    assert "排放报告 / Emission report" in (tmp_path / "r.html").read_text(encoding="utf-8")
