"""No traceback on any input: every ``mrv`` subcommand, driven in-process with hostile option
values, exits 0, 1 or 2 as documented (2 for bad input, with one ``error:`` line on stderr; 1 only
for a document that fails verification), never with an exception.

Hostile values: empty, huge, negative, non-ASCII and look-alike digits, calendar extremes, paths
that are directories or lie under a file. Network targets are loopback only: ``--rpc`` takes its
URLs from a fixed list (a port that refuses, malformed or unsupported URLs), never random text,
so no example can resolve a name. Run time is bounded: light KDF keys, sample counts outside the
valid range or tiny, ``--rpc-retries 0``, contract builds only with an ``--out`` that is refused
before compiling, and the demo only with a ``--days`` that is refused before any work.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from report_factories import sample_report
from retention_support import standard_fleet

from accounting_rules.reports import canonical_bytes
from factories import TEST_KEY, fifo
from ledger_api.db.engine import make_engine
from mrv_cli.main import main
from mrv_core import DeviceKey
from mrv_core.keys import LIGHT_SCRYPT_N, PASSWORD_ENV
from mrv_core.pki import init_ca, make_device_tls_key_and_csr

pytestmark = pytest.mark.slow  # about 20 s: some examples start the embedded chain

REFUSING_RPC = "http://127.0.0.1:1"  # nothing listens on port 1: connection refused at once
RPC_URLS = [REFUSING_RPC, "http://127.0.0.1:0", "http://[::1]:1", "http://127.0.0.1:99999",
            "http://127.0.0.1:-1", "ws://127.0.0.1:1", "127.0.0.1:1", "http://", "https://",
            "http://127.0.0.1:1/\u7535", "", " ", "embedded", "http://127.0.0.1:1:2"]

#: Numbers as text: out of every range, look-alike digits (int() accepts Arabic-Indic digits),
#: more digits than int() converts, and forms int() refuses.
NUMBERS = ["-1", "0", "1", "2", "-0", "18446744073709551616", "-18446744073709551617",
           "99999999999999999999999999999999", "9" * 5000, "1e3", "0x10", "NaN", "inf", "",
           " 7 ", "\u0661\u0662", "\u0967", "+5", "1_000", "٣"]
#: Dates, months, years and periods at and past the calendar's edges.
CALENDAR = ["0000", "0000-00", "0000-01", "0001-01-01", "1969-12-31T23:59:59Z", "1970-01",
            "1970-01-01T00:00:00Z", "2024-02-30", "2023-02-29", "2023-13", "2023-00",
            "2023-06-15T24:00", "2023-06-15T23:59:60", "2023-06-15T00:00+25:00",
            "9999-12-31T23:59:59-23:59", "9999", "9999-12", "10000-01-01", "2023-06/2023-06",
            "2026-10/2026-09", "2023/2024/2025", "/", "2023-06-01/", "/2023-07-01",
            "2023-W01", "2023-001", "२०२३-०६", "\uff12\uff10\uff12\uff13-\uff10\uff16",
            "2023-06-15T12:00:00.123456789"]
TEXT = st.text(alphabet=st.characters(exclude_categories=("Cs",), exclude_characters="\x00"),
               max_size=24)
HOSTILE = st.one_of(st.sampled_from(NUMBERS), st.sampled_from(CALENDAR), TEXT)


@dataclass(frozen=True)
class Files:
    """Hostile file system objects, made once per test."""

    directory: Path
    regular: Path  # garbage text
    under_file: Path  # a path whose parent is a regular file
    missing: Path
    key: Path  # a light-KDF keystore
    password: Path  # its password file
    bundle: Path  # a valid proof bundle
    tampered: Path  # the same bundle, value changed: fails verification
    report: Path  # a report bundle (by its format) with garbage inside: fails verification
    deployment: Path  # a garbage deployment file
    pipe: Path  # a FIFO nobody writes to: reading it would block
    zero: Path  # a symbolic link to /dev/zero: reading it would never end

    def choices(self) -> list[str]:
        return [str(p) for p in (self.directory, self.regular, self.under_file, self.missing,
                                 self.key, self.password, self.bundle, self.tampered,
                                 self.report, self.deployment, self.pipe, self.zero)] + \
            ["", ".", "/", "-", "\u7535\u8868.json"]


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Files]:
    root = tmp_path_factory.mktemp("hostile")
    (root / "dir").mkdir()
    (root / "garbage.txt").write_text("not json\n")
    password = root / "password.txt"
    password.write_text("hostile-test\n")
    key = root / "key.json"
    device = DeviceKey.generate()
    device.save(key, "hostile-test", scrypt_n=LIGHT_SCRYPT_N)
    bundle_dir = root / "bundles"
    assert main(["bundle", "sample", "--count", "2", "--out", str(bundle_dir)]) == 0
    bundle = bundle_dir / "reading-00000.json"
    tampered = root / "tampered.json"
    document = json.loads(bundle.read_text())
    document["readings"][0]["value"] = str(int(document["readings"][0]["value"]) + 1)
    tampered.write_text(json.dumps(document))
    (root / "deployment.json").write_text('{"format": "trustmrv-deployment/1"}')
    (root / "report.json").write_text('{"format": "trustmrv-report-bundle/1", "report": 1}')
    (root / "zero.json").symlink_to("/dev/zero")
    with fifo(root / "pipe.json") as pipe:
        yield Files(directory=root / "dir", regular=root / "garbage.txt",
                    under_file=root / "garbage.txt" / "inner.json",
                    missing=root / "absent.json", key=key, password=password, bundle=bundle,
                    tampered=tampered, report=root / "report.json",
                    deployment=root / "deployment.json", pipe=pipe,
                    zero=root / "zero.json")


@pytest.fixture(autouse=True)
def _sandbox(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Relative paths an example writes (keys, sample folders) land in a folder of the test."""
    sandbox = tmp_path / "cwd"
    sandbox.mkdir()
    monkeypatch.chdir(sandbox)


@contextlib.contextmanager
def _environment() -> Iterator[None]:
    """What every example runs under: a password from the environment (no prompt) and no
    retries against the refusing port."""
    with _variables({PASSWORD_ENV: "hostile-test", "MRV_RPC_RETRIES": "0"}):
        yield


@contextlib.contextmanager
def _variables(values: dict[str, str]) -> Iterator[None]:
    """Environment variables set to ``values`` for the block, restored after it."""
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def run_hostile(argv: list[str], *, may_fail_verification: bool = False) -> tuple[int, str]:
    """Run ``mrv argv`` in-process and check the outcome; return the exit code and stderr."""
    out, err = io.StringIO(), io.StringIO()
    with _environment(), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(argv)
        except SystemExit as exc:  # argparse: --help (0) and usage errors (2)
            code = exc.code if isinstance(exc.code, int) else 2
    stderr = err.getvalue()
    assert "Traceback" not in stderr, (argv, stderr)
    allowed = {0, 1, 2} if may_fail_verification else {0, 2}
    assert code in allowed, (argv, code, out.getvalue()[-2000:], stderr)
    if code == 2:
        errors = [line for line in stderr.splitlines() if "error:" in line]
        assert len(errors) == 1, (argv, stderr)
        assert len(errors[0]) < 2_000 or "9999" in errors[0], (argv, errors[0][:300])
    return code, stderr


def _opt(flag: str, values: st.SearchStrategy[str]) -> st.SearchStrategy[list[str]]:
    return st.one_of(st.just([]), values.map(lambda value: [flag, value]))


def _chain(files: Files) -> st.SearchStrategy[list[str]]:
    """Chain options: a loopback --rpc (or none), hostile confirmations and retries."""
    paths = st.sampled_from(files.choices())
    parts = [_opt("--rpc", st.sampled_from(RPC_URLS)), _opt("--confirmations", HOSTILE),
             _opt("--rpc-retries", st.sampled_from(["-1", "0", "21", "x", "99999"])),
             _opt("--deployment", paths)]
    return st.tuples(*parts).map(lambda groups: [arg for group in groups for arg in group])


def _joined(*parts: st.SearchStrategy[list[str]]) -> st.SearchStrategy[list[str]]:
    return st.tuples(*parts).map(lambda groups: [arg for group in groups for arg in group])


SETTINGS = settings(max_examples=60, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture,
                                           HealthCheck.too_slow])


# -- keys ------------------------------------------------------------------------------------------

@SETTINGS
@given(data=st.data())
def test_keys_never_trace_back(files: Files, tmp_path: Path, data: st.DataObject) -> None:
    paths = st.sampled_from(files.choices())
    fresh = st.sampled_from([str(tmp_path / "new" / f"k{n}.json") for n in range(3)])
    argv = data.draw(st.one_of(
        _joined(st.just(["keys", "new", "--light-kdf", "--out"]),
                st.one_of(paths, fresh, TEXT).map(lambda p: [p]),
                _opt("--password-file", st.one_of(paths, TEXT))),
        _joined(st.just(["keys", "show"]), st.one_of(paths, TEXT).map(lambda p: [p]),
                st.sampled_from([[], ["--check"]]),
                _opt("--password-file", st.one_of(paths, TEXT)))))
    run_hostile(argv)


def test_special_files_are_refused_as_not_regular_by_every_reader(files: Files) -> None:
    """A FIFO or a link to /dev/zero wherever a file is read: one line, exit 2, never a wait."""
    for special, kind in ((files.pipe, "a FIFO"), (files.zero, "a character device")):
        for argv in (["keys", "show", str(special)],
                     ["bundle", "typed-data", str(special)],
                     ["bundle", "verify", str(special)],
                     ["bundle", "sample", "--count", "1", "--out", "s", "--key", str(special)],
                     ["pki", "show", str(special)],
                     ["report", "render", str(special), "--html", "r.html"],
                     ["pki", "sign", str(special), "--ca", str(files.directory), "--out", "c"]):
            code, stderr = run_hostile(argv)
            assert code == 2 and f"({kind})" in stderr, (argv, stderr)


# -- bundle ----------------------------------------------------------------------------------------

@SETTINGS
@given(data=st.data())
@example(data=None)
def test_bundle_never_traces_back(files: Files, tmp_path: Path,
                                  data: st.DataObject | None) -> None:
    if data is None:  # the documented outcome of a tampered bundle: exit 1
        code, _ = run_hostile(["bundle", "verify", str(files.tampered)],
                              may_fail_verification=True)
        assert code == 1
        code, _ = run_hostile(["bundle", "verify", str(files.report)],
                              may_fail_verification=True)
        assert code == 1
        return
    paths = st.sampled_from(files.choices())
    counts = st.one_of(st.sampled_from([n for n in NUMBERS if n.strip() not in ("1", "2")]),
                       st.integers(-3, 3).map(str), st.sampled_from(["1000001", "10**6"]))
    argv = data.draw(st.one_of(
        _joined(st.just(["bundle", "sample", "--count"]), counts.map(lambda c: [c]),
                st.just(["--out"]),
                st.one_of(paths, st.just(str(tmp_path / "out")), TEXT).map(lambda p: [p]),
                _opt("--seed", HOSTILE), _opt("--key", paths),
                _opt("--password-file", paths), _chain(files),
                _opt("--enterprise-key", paths), _opt("--nonce-file", paths)),
        _joined(st.just(["bundle", "verify"]),
                st.lists(st.one_of(paths, TEXT), min_size=1, max_size=3),
                st.sampled_from([[], ["--json"]]), _chain(files)),
        _joined(st.just(["bundle", "typed-data"]), st.one_of(paths, TEXT).map(lambda p: [p]))))
    run_hostile(argv, may_fail_verification=argv[1] == "verify")


# -- chain -----------------------------------------------------------------------------------------

@SETTINGS
@given(data=st.data())
def test_chain_never_traces_back(files: Files, data: st.DataObject) -> None:
    paths = st.sampled_from(files.choices())
    bad_number = st.sampled_from([n for n in NUMBERS if n.strip() not in ("0", "1", "2", "-0",
                                                                          "+5", "1_000")])
    addresses = st.one_of(TEXT, st.just("0x" + "00" * 20), st.just("0x" + "g" * 40))
    argv = data.draw(st.one_of(
        # Without --rpc a deployment runs on the embedded chain: only with an option that must
        # be refused first (a bad number), so no example pays for a whole deployment.
        _joined(st.just(["chain", "deploy"]),
                st.one_of(st.tuples(st.just("--max-clock-skew"), bad_number),
                          st.tuples(st.just("--admin-delay"), bad_number)).map(list),
                _opt("--out", paths), _opt("--key", paths), _opt("--nonce-file", paths),
                _opt("--rpc", st.sampled_from(RPC_URLS))),
        _joined(st.just(["chain", "deploy", "--rpc", REFUSING_RPC]), _opt("--out", paths),
                _opt("--key", paths)),
        _joined(st.just(["chain", "info"]), _chain(files)),
        _joined(st.sampled_from([["chain", "grant"], ["chain", "revoke"]]),
                st.sampled_from(["association", "enterprise", "regulator", "admin", ""])
                .map(lambda r: [r]),
                addresses.map(lambda a: [a]), _chain(files), _opt("--key", paths)),
        _joined(st.just(["chain", "reactivate"]), addresses.map(lambda a: [a]), _chain(files),
                _opt("--key", paths))))
    run_hostile(argv)


# -- relay -----------------------------------------------------------------------------------------

@settings(SETTINGS, max_examples=40)
@given(data=st.data())
def test_relay_never_traces_back(files: Files, data: st.DataObject) -> None:
    """Every example is refused before serving: no --rpc, a refusing or malformed one, or an
    option out of range (a relayer that starts would serve until interrupted)."""
    paths = st.sampled_from(files.choices())
    addresses = st.one_of(TEXT, st.just("0x" + "00" * 20), st.just("0x" + "g" * 40))
    argv = data.draw(_joined(
        st.just(["relay"]), _opt("--db", paths), _chain(files), _opt("--key", paths),
        _opt("--enterprise", addresses), _opt("--host", st.sampled_from(
            ["127.0.0.1", "::1", "0.0.0.0", "192.0.2.1", "", "localhost", "\u7535"])),
        _opt("--port", HOSTILE), _opt("--tls-cert", paths), _opt("--tls-key", paths),
        # The FIFO too: the log is opened non-blocking and refused (it used to hang here).
        _opt("--log", st.sampled_from([str(files.directory), str(files.under_file), "-",
                                       str(files.directory / "relay.log"), str(files.pipe),
                                       str(files.directory / "absent" / "relay.log")])),
        _opt("--clock", paths)))
    run_hostile(argv)


# -- contracts -------------------------------------------------------------------------------------

@settings(SETTINGS, max_examples=25)
@given(data=st.data())
def test_contracts_build_never_traces_back(files: Files, data: st.DataObject) -> None:
    # Only what is refused before compiling (a build takes seconds): an --out that is not a
    # directory one can write to, or an EVM version that does not exist.
    refused_out = st.sampled_from([str(files.regular), str(files.under_file), str(files.key)])
    argv = data.draw(st.one_of(
        _joined(st.just(["contracts", "build", "--out"]), refused_out.map(lambda p: [p]),
                st.sampled_from([[], ["--check"]]),
                _opt("--evm-version", st.sampled_from(["paris", "cancun"]))),
        _joined(st.just(["contracts", "build", "--evm-version"]),
                TEXT.filter(lambda v: v not in ("london", "paris", "shanghai", "cancun",
                                                "prague")).map(lambda v: [v]))))
    run_hostile(argv)


# -- accounting ------------------------------------------------------------------------------------

ACTIVITIES = st.one_of(
    TEXT, st.sampled_from(["electricity.grid=", "=1MWh", "electricity.grid=1MWh",
                           "electricity.grid=-1MWh", "electricity.grid=1e400MWh",
                           "electricity.grid=" + "9" * 100 + "MWh", "electricity.grid=NaNMWh",
                           "electricity.grid=1MWh@0x", "electricity.grid=1MWh@0x" + "zz" * 32,
                           "electricity.gec=1MWh@0x" + "11" * 32, "fuel.natural_gas=1",
                           "fuel.natural_gas=1.5Nm3", "gas.sf6=1 kg", "gas.sf6=\u0661kg",
                           "heat.purchased=1GJ@" + "0x" + "11" * 33]))
IDS = st.one_of(TEXT, st.sampled_from(["cn.machinery", "ipcc.fugitive", "cn.nothing", "",
                                       "CN.MACHINERY", "cn.machinery\n", "a" * 40]))


@SETTINGS
@given(data=st.data())
def test_accounting_never_traces_back(files: Files, data: st.DataObject) -> None:
    versions = _opt("--version", HOSTILE)
    argv = data.draw(st.one_of(
        st.just(["accounting", "list"]),
        _joined(st.just(["accounting", "show"]), IDS.map(lambda i: [i]), versions),
        _joined(st.just(["accounting", "compute", "--methodology"]), IDS.map(lambda i: [i]),
                st.just(["--period"]), HOSTILE.map(lambda p: [p]),
                st.lists(ACTIVITIES, min_size=1, max_size=3).map(
                    lambda acts: [arg for a in acts for arg in ("--activity", a)]),
                st.one_of(versions, _opt("--at", HOSTILE)), _chain(files)),
        _joined(st.just(["accounting", "audit"]), st.one_of(st.just([]), IDS.map(lambda i: [i])),
                _chain(files)),
        _joined(st.just(["accounting", "assign"]), IDS.map(lambda i: [i]),
                HOSTILE.map(lambda a: [a]), _chain(files),
                _opt("--key", st.sampled_from(files.choices()))),
        _joined(st.just(["accounting", "publish"]), IDS.map(lambda i: [i]), versions,
                st.just(["--effective-from"]), HOSTILE.map(lambda d: [d]), _chain(files),
                _opt("--key", st.sampled_from(files.choices())))))
    run_hostile(argv)


# -- pki -------------------------------------------------------------------------------------------

@SETTINGS
@given(data=st.data())
def test_pki_never_traces_back(files: Files, tmp_path: Path, data: st.DataObject) -> None:
    ca, device = tmp_path / "ca-ok", tmp_path / "device"
    if not ca.exists():  # once per test: a working CA and a device CSR among the hostile paths
        init_ca(ca)
        make_device_tls_key_and_csr(TEST_KEY.address, device)
    good = [str(ca), str(device / "device-tls.csr"), str(device / "device-tls.key"),
            str(ca / "ca.crt")]
    paths = st.sampled_from(files.choices() + good)
    fresh = st.sampled_from([str(tmp_path / "new" / f"f{n}") for n in range(3)])
    argv = data.draw(st.one_of(
        _joined(st.just(["pki", "init", "--out"]), st.one_of(paths, fresh, TEXT).map(lambda p: [p]),
                _opt("--name", st.one_of(TEXT, st.sampled_from(["", "x" * 65, "CA\n", "CA"]))),
                _opt("--days", HOSTILE)),
        _joined(st.just(["pki", "sign"]), st.one_of(paths, TEXT).map(lambda p: [p]),
                st.just(["--ca"]), st.one_of(paths, TEXT).map(lambda p: [p]), st.just(["--out"]),
                st.one_of(paths, fresh, TEXT).map(lambda p: [p]), _opt("--days", HOSTILE)),
        _joined(st.just(["pki", "show"]), st.one_of(paths, fresh, TEXT).map(lambda p: [p]))))
    code, stderr = run_hostile(argv)
    # The refusal is ours, never the cryptography library's own words.
    assert not LIBRARY_WORDS.search(stderr), (argv, stderr)
    if argv[1] == "sign" and code == 0:  # only ever into an existing directory
        assert Path(argv[argv.index("--out") + 1]).parent.is_dir()


#: Phrases of cryptography's and its ASN.1 parser's messages, which a pki refusal once echoed.
LIBRARY_WORDS = re.compile(r"cryptography\.io|ParseError|asn1|Are you sure|MalformedFraming|"
                           r"Unable to load|delimiters")


def test_pki_refusals_of_wrong_files_name_expected_and_actual(files: Files,
                                                              tmp_path: Path) -> None:
    init_ca(tmp_path / "ca")
    device = make_device_tls_key_and_csr(TEST_KEY.address, tmp_path / "device")
    for wrong in (files.regular, files.key, files.bundle, device.key, device.csr,
                  tmp_path / "ca" / "ca.key"):
        code, stderr = run_hostile(["pki", "show", str(wrong)])
        assert code == 2 and f"{wrong}: expected an X.509 certificate (PEM or DER), got " in \
            stderr, stderr
    for wrong in (files.regular, files.key, device.key, tmp_path / "ca" / "ca.crt"):
        code, stderr = run_hostile(["pki", "sign", str(wrong), "--ca", str(tmp_path / "ca"),
                                    "--out", str(tmp_path / "x.crt")])
        assert code == 2 and f"CSR {wrong}: expected a PEM CERTIFICATE REQUEST" in stderr
    for out in (tmp_path / "absent" / "x.crt", files.under_file):
        code, stderr = run_hostile(["pki", "sign", str(device.csr), "--ca",
                                    str(tmp_path / "ca"), "--out", str(out)])
        assert code == 2 and f"expected an existing directory {out.parent}, got " in stderr
    assert not (tmp_path / "absent").exists()


# -- demo ------------------------------------------------------------------------------------------

def _runnable_days(text: str) -> bool:
    """Whether ``--days TEXT`` is one the demo accepts (then the example would run it)."""
    try:
        return 1 <= int(text) <= 31
    except ValueError:
        return False


@settings(SETTINGS, max_examples=40)
@given(days=HOSTILE.filter(lambda d: not _runnable_days(d)),
       interval=st.one_of(st.just([]), HOSTILE.map(lambda i: ["--interval", i])),
       speed=st.one_of(st.just([]), HOSTILE.map(lambda x: ["--speed", x])),
       rpc=st.one_of(st.just([]), st.sampled_from(
           ["http://127.0.0.1:1", "http://10.0.0.1:8545", "https://127.0.0.1:8545", "127.0.0.1",
            "http://[::1]:8545", "http://localhost:8545", "", "file:///etc/passwd"]).map(
           lambda u: ["--rpc", u])),
       out=st.sampled_from(["fresh", "directory", "regular", "under_file", ""]))
def test_demo_arguments_never_trace_back(files: Files, tmp_path: Path, days: str,
                                         interval: list[str], speed: list[str],
                                         rpc: list[str], out: str) -> None:
    # A --days the demo refuses: validation only, no work. (Never --out "." or the like: the
    # demo replaces a directory that holds an earlier demo.)
    where = tmp_path / "demo" if out == "fresh" else getattr(files, out, tmp_path / "e" / out)
    code, _ = run_hostile(["demo", "--days", days, *interval, *speed, *rpc, "--out",
                           str(where)])
    assert code == 2


# -- edge ------------------------------------------------------------------------------------------

@settings(SETTINGS, max_examples=40)
@given(data=st.data())
def test_edge_never_traces_back(files: Files, data: st.DataObject) -> None:
    """Every --config is a hostile file (none is a node configuration), so no example runs a
    node; init gets hostile sites, ports and directories (a valid one makes a node folder in
    the sandbox, exit 0)."""
    paths = st.sampled_from(files.choices())
    sites = st.one_of(TEXT, st.sampled_from(["a/b", "a", "a/b/c", "/b", "a/ b", "\u7535/\u8868",
                                             "a/b\u200b"]))
    config = _opt("--config", paths).filter(bool)
    argv = data.draw(st.one_of(
        _joined(st.just(["edge", "init"]), paths.map(lambda p: [p]), _opt("--site", sites),
                _opt("--modbus-port", HOSTILE), _opt("--interval", HOSTILE),
                _opt("--batch-max-age", HOSTILE),
                _opt("--listen", st.one_of(HOSTILE, st.sampled_from(
                    ["127.0.0.1:0", "[::1]:9108", "0.0.0.0:9108", "127.0.0.1:99999", ":1"]))),
                _opt("--uplink", st.sampled_from([*RPC_URLS, "https://127.0.0.1:1"])),
                st.just(["--light-kdf"])),
        _joined(st.sampled_from([["edge", "status"], ["edge", "register"]]),
                config, _opt("--fund", HOSTILE), _opt("--clock", paths)),
        _joined(st.just(["edge", "run"]), config, _opt("--clock", paths)),
        _joined(st.just(["edge", "meter-change"]), config, _opt("--meter", TEXT),
                _opt("--new-initial", HOSTILE), _opt("--timestamp", HOSTILE),
                _opt("--note", TEXT), _opt("--clock", paths))))
    run_hostile(argv)


@pytest.mark.parametrize("profile", ["./garbage.toml", "./pipe.toml", "./zero.toml",
                                     "./absent.toml", "garbage.toml", "./garbage.txt"])
def test_a_nodes_unusable_profile_file_is_one_line_naming_the_config_line(
        files: Files, tmp_path: Path, profile: str) -> None:
    for name, target in (("garbage.toml", files.regular), ("pipe.toml", files.pipe),
                         ("zero.toml", files.zero)):
        (tmp_path / name).symlink_to(target)
    config = tmp_path / "edge.toml"
    config.write_text(f"""[device]
key_file = "key.json"
store = "edge.sqlite"
site = "a/b"
[chain]
rpc = "http://127.0.0.1:8545"
deployment = "deployment.json"
[[acquisition.connections]]
name = "gw"
kind = "tcp"
host = "127.0.0.1"
[[acquisition.connections.meters]]
path = "a/b/c/d/m1"
unit_id = 1
profile = "{profile}"
""", encoding="utf-8")
    code, stderr = run_hostile(["edge", "status", "--config", str(config)])
    assert code == 2
    assert "edge.toml:15: acquisition.connections[0].meters[0].profile: " in stderr, stderr


# -- simulate --------------------------------------------------------------------------------------

METER_SPECS = st.one_of(HOSTILE, st.sampled_from([
    "1:generic", "2:abb.b2x,ct=5,pt=2", "0:generic", "248:generic", "1:nosuch", "1:",
    "1:generic,peak=x", "1:generic,ct=0", "1:generic,colour=1", "1:generic,peak=99999999999",
    "\u0661:generic", "1:generic,,", "1:/dev/zero.toml", "1:missing.toml", "1:/.toml",
    "1:./missing.toml", "1:./", "1:a/b", "1:../../etc/passwd", "1:./dir/.toml"]))
FAULT_SPECS = st.one_of(HOSTILE, st.sampled_from([
    "1:04", "1:0b:2", "1:delay:1", "1:delay:-1", "2:busy", "1:rollover", "1:reset:nosuch",
    "1:drop:0", "1:clear:1", "1:melt", "1:rollover:energy_import"]))


@SETTINGS
@given(data=st.data())
def test_simulate_never_traces_back(files: Files, data: st.DataObject) -> None:
    # Every example names a serial device that cannot be opened (checked last, after every
    # option): no example ever serves, none binds a port.
    devices = [files.directory, files.regular, files.under_file, files.missing, files.pipe,
               files.zero, Path("/dev/null")]
    argv = data.draw(_joined(
        st.just(["simulate", "meters", "--serial"]), st.sampled_from(devices).map(
            lambda device: [str(device)]),
        st.lists(METER_SPECS, max_size=2).map(lambda ms: [a for m in ms for a in ("--meter", m)]),
        st.lists(FAULT_SPECS, max_size=2).map(lambda fs: [a for f in fs for a in ("--fault", f)]),
        _opt("--port", HOSTILE), _opt("--control-port", HOSTILE), _opt("--speed", HOSTILE),
        _opt("--start", HOSTILE), _opt("--seed", HOSTILE), _opt("--baudrate", HOSTILE),
        _opt("--parity", HOSTILE), _opt("--host", st.sampled_from(["127.0.0.1", "0.0.0.0", ""])),
        _opt("--clock", st.sampled_from(files.choices()))))
    code, stderr = run_hostile(argv)
    assert code == 2, stderr


@SETTINGS
@given(data=st.data())
def test_simulate_clock_never_traces_back(files: Files, tmp_path: Path,
                                          data: st.DataObject) -> None:
    """Hostile instants, speeds and output paths; a valid example writes a clock file in the
    test's folder (exit 0), never over an existing one."""
    fresh = st.sampled_from([str(tmp_path / "new" / f"clock{n}.json") for n in range(3)])
    speeds = st.one_of(HOSTILE, st.sampled_from(["720", "100000", "100001", "1"]))
    instants = st.one_of(HOSTILE, st.just("2026-10-01T00:00:00+08:00"))
    argv = data.draw(_joined(
        st.just(["simulate", "clock"]), _opt("--start", instants), _opt("--speed", speeds),
        _opt("--real-start", instants),
        _opt("--out", st.one_of(st.sampled_from(files.choices()), fresh, TEXT))))
    run_hostile(argv)


def test_a_bad_number_in_an_environment_variable_is_only_its_commands_usage_error(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MRV_SIM_PORT", "abc")  # crashed every command while parsers were built
    code, stderr = run_hostile(["simulate", "meters", "--serial", "/dev/null"])
    assert code == 2 and "--port: invalid int value: 'abc'" in stderr, stderr
    assert run_hostile(["accounting", "list"])[0] == 0


# -- the crashes this test found, pinned -----------------------------------------------------------

@pytest.mark.parametrize("argv", [
    ["keys", "new", "--light-kdf", "--out", "{under_file}"],  # FileExistsError from mkdir
    ["chain", "deploy", "--max-clock-skew", "-1"],  # Web3TypeError after connecting
    ["chain", "deploy", "--admin-delay", "281474976710656"],  # uint48 + 1
    ["chain", "info", "--confirmations", "2"],  # the embedded chain never gets there
    ["contracts", "build", "--out", "{regular}"],  # compiled, then NotADirectoryError
    ["demo", "--days", "0", "--out", "{missing}"],
    ["demo", "--speed", "100001", "--out", "{missing}"],
    ["demo", "--rpc", "http://10.0.0.1:8545", "--out", "{missing}"],  # never leaves loopback
    ["accounting", "compute", "--methodology", "cn.machinery", "--period", "9999",
     "--activity", "electricity.grid=1MWh"],  # ValueError: year 10000
    ["accounting", "compute", "--methodology", "cn.machinery", "--period", "2023-06",
     "--activity", "electricity.grid=1MWh", "--at", "0000", "--rpc", REFUSING_RPC],
], ids=lambda argv: " ".join(argv[:4]))
def test_each_crash_found_is_now_a_usage_error(files: Files, argv: list[str]) -> None:
    filled = [arg.format(**{k: str(v) for k, v in vars(files).items()}) for arg in argv]
    code, stderr = run_hostile(filled)
    assert code == 2 and stderr.startswith("mrv: error: "), stderr


# -- api -----------------------------------------------------------------------------------------

#: API secrets ``mrv api serve`` and ``mrv api principal add`` refuse (None: unset).
BAD_SECRETS = [None, "", "short", "x" * 64, "changeme" * 4, "secret-" * 6, "0123456789" * 4]
GOOD_SECRET = "tG7q2ZrWkP0vX9sLm4Nc8Yd1Hb6Jf3Ue5Ra0Ko2Iw7Qx9Tz"


@contextlib.contextmanager
def _api_secret(value: str | None) -> Iterator[None]:
    saved = os.environ.pop("MRV_API_SECRET", None)
    if value is not None:
        os.environ["MRV_API_SECRET"] = value
    try:
        yield
    finally:
        os.environ.pop("MRV_API_SECRET", None)
        if saved is not None:
            os.environ["MRV_API_SECRET"] = saved


@pytest.fixture(scope="module")
def ledger_database(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A migrated ledger database for ``mrv api principal`` (never given to ``serve``)."""
    url = f"sqlite:///{tmp_path_factory.mktemp('ledger')}/ledger.sqlite"
    assert main(["api", "migrate", "--database", url]) == 0
    return url


@settings(SETTINGS, max_examples=60)
@given(data=st.data())
def test_api_never_traces_back(files: Files, ledger_database: str, data: st.DataObject) -> None:
    """``mrv api migrate`` on hostile database URLs; ``mrv api serve`` refused before serving
    (with a usable API secret, only databases that no example can have migrated: one that
    serves would run until interrupted); ``mrv api principal`` on a migrated database with
    hostile names, roles, enterprises, ids and secrets; ``mrv api retention`` with hostile
    enterprises, dates and reasons; ``mrv api plan`` with hostile enterprises, files and
    sites."""
    paths = st.sampled_from(files.choices())
    odd_urls = st.sampled_from(["sqlite://", "sqlite:///:memory:", "mysql://x",
                                "postgresql://u@127.0.0.1:1/x",
                                "postgresql+psycopg://u:p@127.0.0.1:1/x"])
    databases = st.one_of(TEXT, paths.map(lambda p: f"sqlite:///{p}"), odd_urls)
    never_migrated = st.one_of(TEXT, odd_urls, st.sampled_from(
        [f"sqlite:///{p}" for p in (files.directory, files.regular, files.under_file, files.key,
                                    files.bundle, files.pipe, files.zero)]))
    secret = data.draw(st.sampled_from([*BAD_SECRETS, GOOD_SECRET]), label="MRV_API_SECRET")
    serve_database = _opt("--database", databases) if secret != GOOD_SECRET else \
        never_migrated.map(lambda url: ["--database", url])
    addresses = st.one_of(TEXT, st.sampled_from(
        ["0x" + "aa" * 20, "0x" + "aB" * 20, "0x" + "aa" * 19, "aa" * 20, "0x" + "AA" * 20]))
    principal_db = st.one_of(st.just(["--database", ledger_database]),
                             _opt("--database", databases))
    ids = st.one_of(st.sampled_from(["1", "2", "3", "4"]), st.sampled_from(NUMBERS),
                    TEXT).map(lambda i: [i])
    names = st.one_of(st.sampled_from(["acme", "regulator", " ", "x" * 201, "\u7535\u8868"]),
                      TEXT)
    roles = st.one_of(st.sampled_from(["enterprise_admin", "enterprise_reader", "regulator",
                                       "association", "device"]), TEXT)
    argv = data.draw(st.one_of(
        _joined(st.just(["api", "serve"]), serve_database,
                _opt("--host", st.sampled_from(["127.0.0.1", "::1", "0.0.0.0", "", "\u7535"])),
                _opt("--port", HOSTILE), _opt("--workers", HOSTILE),
                _opt("--rpc-url", TEXT), _opt("--deployment", paths),
                _opt("--tls-cert", paths), _opt("--tls-key", paths), _opt("--client-ca", paths),
                _opt("--log", paths), st.sampled_from([[], ["--public-metrics"]])),
        _joined(st.just(["api", "migrate"]), _opt("--database", databases)),
        _joined(st.just(["api", "principal", "add"]), names.map(lambda n: [f"--name={n}"]),
                roles.map(lambda r: ["--role", r]), _opt("--enterprise", addresses),
                principal_db),
        _joined(st.just(["api", "principal", "list"]), st.sampled_from([[], ["--all"]]),
                principal_db),
        _joined(st.just(["api", "principal", "revoke"]), ids, principal_db),
        _joined(st.sampled_from([["api", "principal", "grant"], ["api", "principal", "ungrant"]]),
                ids, addresses.map(lambda a: [a]), principal_db),
        _joined(st.sampled_from([["api", "principal", "new-key"],
                                 ["api", "principal", "revoke-key"]]), ids, principal_db),
        _joined(st.just(["api", "retention", "purge"]), _opt("--enterprise", addresses),
                _opt("--before", HOSTILE), _opt("--reason", TEXT),
                st.sampled_from([[], ["--confirm"]]), principal_db),
        _joined(st.just(["api", "retention", "log"]), _opt("--enterprise", addresses),
                principal_db),
        _joined(st.just(["api", "plan", "set"]), _opt("--enterprise", addresses),
                paths.map(lambda p: [str(p)]), principal_db),
        _joined(st.just(["api", "plan", "show"]), _opt("--enterprise", addresses),
                _opt("--site", st.one_of(TEXT, st.just("demo-co/wuxi-plant"))),
                st.sampled_from([[], ["--json"]]), principal_db)))
    with _api_secret(secret):
        code, _ = run_hostile(argv)
    if argv[:2] == ["api", "serve"]:
        assert code == 2, argv


def test_api_principal_commands_refuse_bad_input_in_one_line(ledger_database: str) -> None:
    """The principal commands in order on one migrated database: each refusal is exit 2 with
    one line, each success exit 0."""
    db = ["--database", ledger_database]
    aa, bb = "0x" + "aa" * 20, "0x" + "bb" * 20
    steps: list[tuple[str | None, list[str], int, str]] = [
        (None, ["add", "--name", "n", "--role", "regulator"], 2, "MRV_API_SECRET is not set"),
        ("changeme" * 4, ["add", "--name", "n", "--role", "regulator"], 2, "placeholder"),
        (GOOD_SECRET, ["add", "--name", "acme", "--role", "enterprise_admin"], 2,
         "acts for one enterprise"),
        (GOOD_SECRET, ["add", "--name", "acme", "--role", "enterprise_admin", "--enterprise",
                       "0x" + "aB" * 20], 2, "checksum"),
        (GOOD_SECRET, ["add", "--name", "acme", "--role", "enterprise_admin", "--enterprise",
                       aa], 0, ""),
        (GOOD_SECRET, ["add", "--name", "acme", "--role", "enterprise_reader", "--enterprise",
                       aa], 2, "is taken"),
        (GOOD_SECRET, ["add", "--name", "reg", "--role", "regulator", "--enterprise", aa], 2,
         "acts for no single enterprise"),
        (GOOD_SECRET, ["add", "--name", "reg", "--role", "regulator"], 0, ""),
        (None, ["grant", "1", bb], 2, "is enterprise_admin"),
        (None, ["grant", "2", "0x" + "bb" * 19], 2, "20"),
        (None, ["grant", "9", bb], 2, "no such principal"),
        (None, ["grant", "2", bb], 0, ""),
        (None, ["ungrant", "2", aa], 2, "no grant"),
        (None, ["ungrant", "2", bb], 0, ""),
        (None, ["revoke", "\u0661"], 2, "expected a principal id"),
        (None, ["revoke", "9" * 19], 2, "expected a principal id"),
        (None, ["revoke", "1"], 0, ""),
        (None, ["grant", "1", bb], 2, "is revoked"),
        (None, ["new-key", "2"], 2, "MRV_API_SECRET is not set"),
        (GOOD_SECRET, ["new-key", "1"], 2, "is revoked"),
        (GOOD_SECRET, ["new-key", "2"], 0, ""),
        (None, ["revoke-key", "0123456789abcdef"], 2, "no such key"),
        (None, ["revoke-key", "\u0661" * 16], 2, "no such key"),
        (None, ["list", "--all"], 0, ""),
    ]
    for secret, argv, expected, message in steps:
        with _api_secret(secret):
            code, stderr = run_hostile(["api", "principal", *argv, *db])
        assert code == expected and message in stderr, (argv, code, stderr)


def test_api_retention_commands_refuse_bad_input_in_one_line(tmp_path: Path) -> None:
    """``mrv api retention`` on a ledger holding old batches (retention_support's fleet): each
    refusal is exit 2 with one line and deletes nothing; the dry run and the purge succeed, the
    purge once, and the log lists it."""
    url = f"sqlite:///{tmp_path}/ledger.sqlite"
    assert main(["api", "migrate", "--database", url]) == 0
    engine = make_engine(url)
    try:
        standard_fleet(engine)
    finally:
        engine.dispose()
    aa = "0x" + "aa" * 20
    purge = ["api", "retention", "purge", "--database", url, "--enterprise"]
    steps: list[tuple[dict[str, str], list[str], int, str]] = [
        ({}, [*purge, "0x" + "aB" * 20, "--before", "2016-01-01", "--reason", "r"], 2,
         "checksum"),
        ({}, [*purge, aa, "--before", "2016-02-30", "--reason", "r"], 2, "YYYY-MM-DD"),
        ({}, [*purge, aa, "--before", "\u0662016-01-01", "--reason", "r"], 2, "YYYY-MM-DD"),
        ({}, [*purge, aa, "--before", "2016-01-01", "--reason", " "], 2, "expected a reason"),
        ({}, [*purge, aa, "--before", "2016-01-01"], 2, "--reason"),
        ({}, [*purge, aa, "--before", "2099-01-01", "--reason", "r", "--confirm"], 2,
         "younger than the minimum retention of 10 years"),
        ({"MRV_RETENTION_YEARS": "4"}, [*purge, aa, "--before", "2016-01-01", "--reason", "r"],
         2, "at least 5"),
        ({}, [*purge, "0x" + "cc" * 20, "--before", "2016-01-01", "--reason", "r"], 2,
         "no device"),
        ({}, [*purge, aa, "--before", "2016-01-01", "--reason", "r"], 0, ""),
        ({}, ["api", "retention", "log", "--database", url], 0, ""),
        ({}, ["api", "retention", "log", "--database", url, "--enterprise", aa], 0, ""),
    ]
    outputs = []
    for environment, argv, expected, message in steps:
        with _variables(environment):
            code, stderr = run_hostile(argv)
        assert code == expected and message in stderr, (argv, code, stderr)
        if expected == 0:  # run_hostile keeps its output: run it again for the report
            out = io.StringIO()
            with contextlib.redirect_stdout(out):
                assert main(argv) == 0
            outputs.append(out.getvalue())
    dry_run, empty_log, _ = outputs
    assert "would delete readings 12, records 1, leaves 13, anchors 4, batches 4" in dry_run
    assert "kept       mismatch 1, unanchored 1" in dry_run
    assert "0 purge(s)" in empty_log
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main([*purge, aa, "--before", "2016-01-01", "--reason", "end of retention",
                     "--confirm"]) == 0
        assert main(["api", "retention", "log", "--database", url, "--enterprise", aa]) == 0
    report = out.getvalue()
    assert "deleted, audit row 1" in report and "deleted    readings 12" in report
    assert "1 purge(s)" in report and "'end of retention'" in report
    assert "by cli operator" in report



# -- report ----------------------------------------------------------------------------------------

REPORT_HASHES = st.one_of(TEXT, st.sampled_from(["0x" + "ab" * 32, "0x" + "AB" * 32, "0x",
                                                 "0x" + "ab" * 31, "ab" * 32, "0x" + "zz" * 32]))
API_URLS = st.sampled_from([REFUSING_RPC, "http://[::1]:1", "ftp://127.0.0.1:1", "127.0.0.1:1",
                            "http://", "", "http://127.0.0.1:99999", "\u7535"])
API_KEYS = st.one_of(TEXT, st.sampled_from(["mrv_k_1", "", "a b", "\u7535"]))


@settings(SETTINGS, max_examples=50)
@given(data=st.data())
def test_report_never_traces_back(files: Files, tmp_path: Path, data: st.DataObject) -> None:
    """Every example is refused before it could send: no chain answers on the loopback URLs,
    the API URL refuses or is malformed, and a report document or statement is checked first."""
    document = tmp_path / "report.json"
    if not document.exists():
        document.write_bytes(canonical_bytes(sample_report()))
    paths = st.sampled_from([*files.choices(), str(document)])
    rpc = st.sampled_from([u for u in RPC_URLS if u.strip() not in ("", "embedded")])
    chain = _joined(st.just(["--rpc"]), rpc.map(lambda u: [u]), _opt("--deployment", paths),
                    _opt("--key", paths), _opt("--confirmations", HOSTILE))
    api = _joined(_opt("--api", API_URLS), _opt("--api-key", API_KEYS))
    argv = data.draw(st.one_of(
        _joined(st.just(["report", "submit"]),
                st.one_of(_opt("--document", paths), REPORT_HASHES.map(lambda h: [h])),
                api, chain),
        _joined(st.just(["report", "attest"]), REPORT_HASHES.map(lambda h: [h]),
                st.just(["--verdict"]),
                st.sampled_from(["accepted", "qualified", "rejected", "None", ""]).map(
                    lambda v: [v]),
                st.lists(st.sampled_from(["DATA_GAP", "METER_CHANGE", "NOPE", ""]),
                         max_size=3).map(lambda rs: [a for r in rs for a in ("--reason", r)]),
                _opt("--comment", st.one_of(TEXT, st.just("x" * 4001), st.just("a\x07b"))),
                _opt("--statement-out", paths), api, chain),
        _joined(st.just(["report", "show"]), REPORT_HASHES.map(lambda h: [h]), chain),
        _joined(st.just(["report", "activity", "add"]), api,
                _opt("--site", st.one_of(TEXT, st.just("demo-co/wuxi-plant"))),
                _opt("--source", st.one_of(TEXT, st.just("fuel.natural_gas"))),
                _opt("--amount", st.one_of(HOSTILE, st.just("10000 Nm3"), st.just("1e9 Nm3"))),
                _opt("--period", HOSTILE), _opt("--evidence", paths),
                _opt("--description", TEXT)),
        _joined(st.just(["report", "activity", "list"]), api, _opt("--site", TEXT)),
        _joined(st.just(["report", "create"]), api, _opt("--site", TEXT),
                _opt("--period", HOSTILE), _opt("--zone", TEXT), _opt("--methodology", IDS),
                _opt("--supersedes", REPORT_HASHES), _opt("--out", paths)),
        _joined(st.just(["report", "activity", "withdraw"]), HOSTILE.map(lambda i: [i]), api)))
    run_hostile(argv)


# -- report render ---------------------------------------------------------------------------------

@settings(SETTINGS, max_examples=40)
@given(data=st.data())
def test_report_render_never_traces_back(files: Files, tmp_path: Path,
                                         data: st.DataObject) -> None:
    """Hostile documents, contexts and output paths; a valid document only with --html (a PDF
    takes seconds to lay out)."""
    document = tmp_path / "report.json"
    if not document.exists():
        document.write_bytes(canonical_bytes(sample_report()))
    paths = st.sampled_from(files.choices())
    outputs = st.one_of(paths, TEXT, st.sampled_from(
        [str(tmp_path / "r.html"), str(tmp_path / "absent" / "r.html"), str(document)]))
    argv = data.draw(st.one_of(
        _joined(st.just(["report", "render"]), st.one_of(paths, TEXT).map(lambda p: [p]),
                _opt("--html", outputs), _opt("--pdf", outputs), _opt("--context", paths)),
        _joined(st.just(["report", "render", str(document)]), _opt("--html", outputs),
                _opt("--context", st.one_of(paths, TEXT)))))
    run_hostile(argv)
def test_api_plan_commands_refuse_bad_input_in_one_line(tmp_path: Path,
                                                       ledger_database: str) -> None:
    """``mrv api plan`` on a migrated database: each refusal is exit 2 with one line naming
    the problem and stores nothing; a good plan is stored and shown."""
    aa, bb = "0x" + "aa" * 20, "0x" + "bb" * 20
    db = ["--database", ledger_database]
    good = {"meterPath": "demo-co/wuxi-plant/hall-1/line-1/main", "source": "electricity.grid",
            "quantity": "energy.active.import:Wh", "counterModulus": "4294967296",
            "maxRate": "1193046/1"}
    plans = {"good": {"points": [good]}, "float": '{"points": [], "x": 1.5}',
             "twice": '{"points": [], "points": []}', "unknown": {"points": [], "x": "1"},
             "source": {"points": [{**good, "source": "electricity.gec"}]},
             "unit": {"points": [{**good, "quantity": "power.active:W"}]}}
    for name, plan in plans.items():
        (tmp_path / f"{name}.json").write_text(plan if isinstance(plan, str)
                                               else json.dumps(plan))
    file = {name: str(tmp_path / f"{name}.json") for name in plans}
    steps: list[tuple[list[str], int, str]] = [
        (["set", "--enterprise", aa, file["float"]], 2, "float"),
        (["set", "--enterprise", aa, file["twice"]], 2, "duplicate"),
        (["set", "--enterprise", aa, file["unknown"]], 2, "$.x"),
        (["set", "--enterprise", aa, file["source"]], 2, "points[0].source"),
        (["set", "--enterprise", aa, file["unit"]], 2, "points[0].quantity"),
        (["set", "--enterprise", aa, str(tmp_path)], 2, "not a regular file"),
        (["set", "--enterprise", "0x" + "aB" * 20, file["good"]], 2, "checksum"),
        (["show", "--enterprise", aa], 0, ""),
        (["set", "--enterprise", aa, file["good"]], 0, ""),
        (["set", "--enterprise", bb, file["good"]], 2, "belongs to one enterprise"),
        (["show", "--enterprise", aa, "--site", "demo-co"], 2, "site path"),
        (["show", "--enterprise", aa, "--site", "demo-co/wuxi-plant", "--json"], 0, ""),
    ]
    for argv, expected, message in steps:
        code, stderr = run_hostile(["api", "plan", *argv, *db])
        assert code == expected and message in stderr, (argv, code, stderr)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["api", "plan", "show", "--enterprise", aa, *db]) == 0
    assert "1 point(s), set" in out.getvalue()
    assert "demo-co/wuxi-plant/hall-1/line-1/main  electricity.grid" in out.getvalue()
