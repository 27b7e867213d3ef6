"""CPython's own sqlite3 test suite (``test.test_sqlite3``, shipped with the
interpreter) run against ``litepool.sqlite3``.

    python compat/cpython_sqlite3.py            # both runs, compared
    python compat/cpython_sqlite3.py --module litepool -v   # one run, verbose

The suite imports ``sqlite3``; for the litepool run ``sys.modules["sqlite3"]``
is ``litepool.sqlite3`` before the suite is imported. Each run happens in a
subprocess of its own. The comparison passes when litepool passes at least
95 % of the tests the standard library passes on this interpreter and every
one it fails is listed, with a one-line reason, in
``cpython_sqlite3_expected_failures.txt`` (an entry that passes is an error
too, so the list stays true).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
EXPECTED = os.path.join(HERE, "cpython_sqlite3_expected_failures.txt")
REQUIRED = 0.95


def run_suite(module: str, verbosity: int) -> dict:
    """Runs the suite in this process; returns the outcome of every test id."""
    if module == "litepool":
        import litepool.sqlite3

        sys.modules["sqlite3"] = litepool.sqlite3
    import test.test_sqlite3 as package
    from test import support

    support.verbose = verbosity > 1
    loader = unittest.TestLoader()
    suite = package.load_tests(loader, unittest.TestSuite(), None)
    outcome: dict[str, str] = {}

    def walk(s):
        for t in s:
            if isinstance(t, unittest.TestSuite):
                walk(t)
            else:
                outcome[t.id()] = "pass"

    walk(suite)  # before running: the runner lets go of finished tests
    result = unittest.TextTestRunner(verbosity=verbosity, stream=sys.stderr).run(suite)
    for test, _ in result.skipped:
        outcome[test.id()] = "skip"
    for test, _ in result.failures + result.errors:
        # A failing subtest fails its test.
        tid = getattr(test, "test_case", test).id()
        outcome[tid] = "fail"
    return outcome


def subprocess_run(module: str) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "outcome.json")
        proc = subprocess.run(
            [sys.executable, __file__, "--module", module, "--json", out],
            cwd=tmp,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            timeout=600,
        )
        if not os.path.exists(out):
            sys.stderr.write(proc.stderr[-4000:])
            raise SystemExit(f"the {module} run crashed (exit {proc.returncode})")
        with open(out) as f:
            return json.load(f)


def expected_failures() -> dict[str, str]:
    listed = {}
    with open(EXPECTED) as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            test_id, _, reason = line.partition(" ")
            if not reason.strip():
                raise SystemExit(f"{EXPECTED}: {test_id} has no reason")
            listed[test_id] = reason.strip()
    return listed


def compare() -> int:
    stdlib = subprocess_run("sqlite3")
    ours = subprocess_run("litepool")
    baseline = sorted(t for t, o in stdlib.items() if o == "pass")
    passed = [t for t in baseline if ours.get(t) == "pass"]
    failed = [t for t in baseline if ours.get(t) != "pass"]
    listed = expected_failures()
    ratio = len(passed) / len(baseline)
    print(f"CPython test.test_sqlite3 on Python {sys.version.split()[0]}: stdlib sqlite3 passes {len(baseline)} "
          f"of {len(stdlib)}; litepool.sqlite3 passes {len(passed)} of those ({ratio:.1%}, required {REQUIRED:.0%}); "
          f"{len(failed)} expected failures listed in {os.path.basename(EXPECTED)}")
    status = 0
    for t in failed:
        if t not in listed:
            print(f"  UNEXPECTED FAILURE: {t} ({ours.get(t, 'missing')})")
            status = 1
    for t in listed:
        if t in passed:
            print(f"  UNEXPECTED PASS (remove it from the list): {t}")
            status = 1
        elif t not in stdlib:
            print(f"  LISTED BUT NOT IN THE SUITE: {t}")
            status = 1
    if ratio < REQUIRED:
        print(f"  pass rate {ratio:.1%} is below {REQUIRED:.0%}")
        status = 1
    return status


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--module", choices=["sqlite3", "litepool"])
    parser.add_argument("--json")
    parser.add_argument("-v", "--verbose", action="count", default=0)
    args = parser.parse_args()
    if args.module is None:
        return compare()
    outcome = run_suite(args.module, 1 + args.verbose)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(outcome, f)
    return 0


if __name__ == "__main__":
    sys.exit(main())
