#!/usr/bin/env python3
"""Writes BENCHMARKS.md: the machine, then every benches/results/*.md section."""
import datetime
import os
import pathlib
import platform
import subprocess


def run(*cmd):
    try:
        return subprocess.run(cmd, capture_output=True, text=True, check=False).stdout.strip()
    except OSError:
        return "n/a"


cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "unknown")
mem_kb = next((int(l.split()[1]) for l in open("/proc/meminfo") if l.startswith("MemTotal")), 0)
order = ["rust", "fairness", "c", "python", "node", "node_dropin", "tenants", "e2e", "e2e_tenants"]
results = pathlib.Path("benches/results")
sections = sorted(results.glob("*.md"), key=lambda p: (order.index(p.stem) if p.stem in order else 99, p.stem))
charts = sorted(pathlib.Path("benches/charts").glob("*.png")) if pathlib.Path("benches/charts").exists() else []

lines = [
    "# Benchmarks",
    "",
    "Regenerate everything with `make bench` (runs each section's command below, then",
    "`scripts/assemble-benchmarks.py`). Ratios compare libraries measured in the same run on the same",
    "machine; absolute times vary with load, the ratios are the point.",
    "",
    "## Machine",
    "",
    f"- date: {datetime.date.today().isoformat()}",
    f"- CPU: {cpu}, {os.cpu_count()} cores; memory {mem_kb // 1024 // 1024} GiB",
    f"- OS: {platform.platform()}",
    f"- {run('rustc', '--version')}; Python {platform.python_version()}; Node {run('node', '--version')}",
    f"- SQLite: {run('sqlite3', '--version').split(' ')[0] or 'system libsqlite3'} (system library, shared by every binding)",
    "",
]
for chart in charts:
    lines += [f"![{chart.stem}]({chart.as_posix()})", ""]
for s in sections:
    lines += [s.read_text().rstrip(), ""]
pathlib.Path("BENCHMARKS.md").write_text("\n".join(lines))
print(f"BENCHMARKS.md: {len(sections)} section(s), {len(charts)} chart(s)")
