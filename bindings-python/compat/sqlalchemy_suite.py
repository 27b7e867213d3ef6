"""SQLAlchemy's dialect compliance suite (``sqlalchemy.testing.suite``, from
the installed SQLAlchemy wheel, run through its own pytest plugin) against
``sqlite+litepool`` and against the stock ``sqlite+pysqlite`` of the same
SQLAlchemy, each in a fresh directory.

    python compat/sqlalchemy_suite.py

Passes when litepool passes at least as many tests as pysqlite and fails
(or errors on) none that pysqlite passes. Prints both counts.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "sqlalchemy_suite")


def run(db: str) -> dict[str, str]:
    """Runs the suite for the ``[db]`` entry ``db``; outcome per test."""
    with tempfile.TemporaryDirectory() as tmp:
        for name in os.listdir(HERE):
            if name.endswith((".py", ".cfg", ".ini")):
                shutil.copy(os.path.join(HERE, name), tmp)
        report = os.path.join(tmp, "report.xml")
        proc = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "--tb=short", "--db", db, f"--junitxml={report}"],
            cwd=tmp,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=1500,
        )
        if not os.path.exists(report):
            sys.stdout.write(proc.stdout[-4000:])
            raise SystemExit(f"the {db} run did not finish (exit {proc.returncode})")
        outcome = {}
        for case in ET.parse(report).getroot().iter("testcase"):
            # Class names carry the driver ("..._sqlite+litepool_3_40_1").
            cls = case.get("classname", "").replace(f"_sqlite+{db}", "_sqlite+DRIVER")
            test = f"{cls}::{case.get('name')}"
            kinds = {child.tag for child in case}
            outcome[test] = ("error" if "error" in kinds else "fail" if "failure" in kinds
                             else "skip" if "skipped" in kinds else "pass")
        return outcome


def summary(name: str, outcome: dict[str, str]) -> str:
    counts = {k: sum(1 for v in outcome.values() if v == k) for k in ("pass", "fail", "error", "skip")}
    return (f"{name}: {counts['pass']} passed, {counts['fail']} failed, {counts['error']} errors, "
            f"{counts['skip']} skipped")


def main() -> int:
    import sqlalchemy

    pysqlite = run("pysqlite")
    litepool = run("litepool")
    print(f"SQLAlchemy {sqlalchemy.__version__} dialect compliance suite (sqlalchemy.testing.suite):")
    print("  " + summary("sqlite+pysqlite", pysqlite))
    print("  " + summary("sqlite+litepool", litepool))
    status = 0
    worse = [t for t, o in litepool.items() if o in ("fail", "error") and pysqlite.get(t) not in ("fail", "error")]
    for t in sorted(worse):
        print(f"  FAILS ON LITEPOOL ONLY: {t} ({litepool[t]}; pysqlite: {pysqlite.get(t, 'not run')})")
        status = 1
    passed = lambda o: sum(1 for v in o.values() if v == "pass")  # noqa: E731
    if passed(litepool) < passed(pysqlite):
        print(f"  litepool passes fewer tests than pysqlite ({passed(litepool)} < {passed(pysqlite)})")
        status = 1
    return status


if __name__ == "__main__":
    sys.exit(main())
