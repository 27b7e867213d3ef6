#!/usr/bin/env python3
"""Draws the benchmark charts (PNG) into benches/charts/ from benches/results/.

    python3 scripts/charts.py

- benches/results/e2e.json (benches/e2e/run.sh): the quota-proxy service's
  throughput vs concurrency, litepool vs a node-sqlite3 connection per
  request, one panel per endpoint.
- benches/results/e2e_tenants.json (benches/e2e-tenants/run.sh): the tenant
  service with 200 tenants on each store: requests/s and p99 (median, with
  the rounds' min-max), open file descriptors and RSS (peak).
- benches/results/wal.json (benches/wal/run.sh): the WAL file's size over
  time with each checkpoint mode.
- every other benches/results/*.md: each markdown table with numeric columns
  becomes a horizontal bar chart. A table with ratio columns ("3.29×") is
  drawn as its ratios, with the 1× line (right of it: litepool is faster);
  a table of rates (ops/s, req/s) as grouped bars, one group per row and
  one bar per column.

scripts/assemble-benchmarks.py embeds every PNG in benches/charts/ into
BENCHMARKS.md. matplotlib is installed into the repo's .venv if the
running Python lacks it (the script then re-runs itself there).
"""

from __future__ import annotations

import json
import os
import pathlib
import re
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benches" / "results"
CHARTS = ROOT / "benches" / "charts"


def ensure_matplotlib() -> None:
    try:
        import matplotlib  # noqa: F401
        return
    except ImportError:
        pass
    venv_py = ROOT / ".venv" / "bin" / "python"
    if pathlib.Path(sys.executable).resolve() == venv_py.resolve() or os.environ.get("CHARTS_REEXEC"):
        subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                        "matplotlib>=3.8,<4"], check=True)
        return
    if not venv_py.exists():
        subprocess.run([sys.executable, "-m", "venv", str(ROOT / ".venv")], check=True)
    os.execve(str(venv_py), [str(venv_py), __file__, *sys.argv[1:]], {**os.environ, "CHARTS_REEXEC": "1"})


# --- markdown tables ----------------------------------------------------------

TIME_UNITS = {"ns": 1.0, "µs": 1e3, "us": 1e3, "ms": 1e6, "s": 1e9}


def parse_number(cell: str) -> tuple[float, str] | None:
    """A cell as (value, kind): kind is 'ratio', 'time' (in ns) or 'number'."""
    text = cell.replace("*", "").replace(",", "").strip()
    m = re.fullmatch(r"([-+]?\d+(?:\.\d+)?)\s*(×|x|ns|µs|us|ms|s|ops/s|req/s|%)?", text)
    if not m:
        return None
    value, unit = float(m.group(1)), m.group(2) or ""
    if unit in ("×", "x"):
        return value, "ratio"
    if unit in TIME_UNITS:
        return value * TIME_UNITS[unit], "time"
    return value, "number"


def parse_tables(markdown: str) -> list[dict]:
    """Every pipe table in `markdown`, with the heading or sentence before it."""
    tables, lines = [], markdown.splitlines()
    heading, sentence = "", ""
    i = 0
    while i < len(lines):
        line = lines[i].strip()
        if line.startswith("|") and i + 1 < len(lines) and re.fullmatch(r"\|[\s:|-]+\|", lines[i + 1].strip()):
            headers = [c.strip() for c in line.strip("|").split("|")]
            rows = []
            i += 2
            while i < len(lines) and lines[i].strip().startswith("|"):
                rows.append([c.strip() for c in lines[i].strip().strip("|").split("|")])
                i += 1
            tables.append({"heading": heading, "sentence": sentence, "headers": headers,
                           "rows": [r for r in rows if len(r) == len(headers)]})
            sentence = ""
            continue
        if line.startswith("#"):
            heading, sentence = line.lstrip("#").strip(), ""
        elif line and not line.startswith("|"):
            # A one-line paragraph just before a table says what it is ("Ratios (litepool ÷ peer; ...):").
            alone = (i == 0 or not lines[i - 1].strip()) and (i + 1 >= len(lines) or not lines[i + 1].strip())
            sentence = line.rstrip(":").replace("`", "") if alone and len(line) <= 90 else ""
        i += 1
    return tables


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:60] or "table"


CONCURRENCY = re.compile(r"conc|thread|connection|clients|workers", re.I)
RATE = re.compile(r"ops/s|req/s|per second|throughput", re.I)
WHO = re.compile(r"client|library|peer|impl", re.I)


RATIO_HEADER = re.compile(r"ratio|speed vs|\bvs\b|÷", re.I)
TIME_HEADER = re.compile(r"\b(ns|µs|us|ms)\b|time|latency", re.I)


def column_kinds(headers: list[str], rows: list[list[str]]) -> dict[int, str]:
    """Numeric columns by kind: 'ratio', 'time' or 'number' (the header decides for bare numbers)."""
    kinds = {}
    for j in range(len(headers)):
        parsed = [parse_number(r[j]) for r in rows]
        if all(p is not None for p in parsed) and len({p[1] for p in parsed}) == 1:
            kind = parsed[0][1]
            if kind == "number" and RATIO_HEADER.search(headers[j]):
                kind = "ratio"
            elif kind == "number" and TIME_HEADER.search(headers[j]) and not RATE.search(headers[j]):
                kind = "time"
            kinds[j] = kind
    return kinds


def save(fig, name: str) -> pathlib.Path:
    fig.tight_layout()
    out = CHARTS / name
    fig.savefig(out, dpi=110)
    return out


def long_format_chart(plt, stem, n, table, kinds):
    """| workload | conc. | client | ops/s | ...: throughput vs concurrency, a line per client, a panel per workload."""
    h = table["headers"]
    conc = next((j for j, k in kinds.items() if k == "number" and CONCURRENCY.search(h[j])), None)
    rate = next((j for j, k in kinds.items() if k == "number" and RATE.search(h[j])), None)
    who = next((j for j in range(len(h)) if j not in kinds and WHO.search(h[j])), None)
    if None in (conc, rate, who):
        return None
    group_cols = [j for j in range(len(h)) if j not in kinds and j != who]
    groups: dict[str, dict[str, list[tuple[float, float]]]] = {}
    for r in table["rows"]:
        g = " · ".join(r[j] for j in group_cols) or table["heading"]
        groups.setdefault(g, {}).setdefault(r[who], []).append((parse_number(r[conc])[0], parse_number(r[rate])[0]))
    cols = min(3, len(groups))
    nrows = (len(groups) + cols - 1) // cols
    fig, axes = plt.subplots(nrows, cols, figsize=(5 * cols, 3.6 * nrows), squeeze=False)
    for ax, (g, clients) in zip(axes.flat, groups.items()):
        for client, pts in clients.items():
            pts.sort()
            ax.plot([x for x, _ in pts], [y for _, y in pts], marker="o", label=client)
        xs = sorted({x for pts in clients.values() for x, _ in pts})
        ax.set_xscale("log", base=2)
        ax.set_xticks(xs, [f"{x:g}" for x in xs])
        ax.set_yscale("log")
        ax.set_title(g, fontsize=9)
        ax.set_xlabel(h[conc], fontsize=8)
        ax.set_ylabel(h[rate], fontsize=8)
        ax.grid(alpha=0.3, which="both")
        ax.legend(fontsize=6)
    for ax in list(axes.flat)[len(groups):]:
        ax.axis("off")
    fig.suptitle(f"{table['heading'] or stem}: {h[rate]} vs {h[conc]} per {h[who]}", fontsize=10)
    out = save(fig, f"{stem}-{n}-throughput-vs-concurrency.png")
    plt.close(fig)
    return out


def wide_format_chart(plt, stem, n, table, kinds):
    """| case | 1 thread (ops/s) | 4 threads (ops/s) |: throughput vs threads, a line per case."""
    h = table["headers"]
    xcols = []
    for j, k in kinds.items():
        m = re.match(r"\s*(\d+)\s", h[j])
        if k == "number" and m and CONCURRENCY.search(h[j]) and RATE.search(h[j]):
            xcols.append((int(m.group(1)), j))
    if len(xcols) < 2:
        return None
    xcols.sort()
    fig, ax = plt.subplots(figsize=(10, 5))
    for r in table["rows"]:
        ax.plot([x for x, _ in xcols], [parse_number(r[j])[0] for _, j in xcols], marker="o", label=r[0].replace("`", ""))
    ax.set_xticks([x for x, _ in xcols], [h[j] for _, j in xcols], fontsize=8)
    ax.set_yscale("log")
    ax.set_ylabel("ops/s (log scale; higher is better)")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.0, 0.5))
    ax.set_title(f"{table['heading'] or stem}: throughput vs threads", fontsize=10)
    out = save(fig, f"{stem}-{n}-throughput-vs-threads.png")
    plt.close(fig)
    return out


def bar_chart(plt, stem, n, table, kinds):
    """Ratios (with the 1× line) or rates as horizontal bars, a bar group per row."""
    headers, rows = table["headers"], table["rows"]
    ratio_cols = [j for j, k in kinds.items() if k == "ratio" and j > 0]
    time_cols = [j for j, k in kinds.items() if k == "time" and j > 0]
    rate_cols = [j for j, k in kinds.items() if k == "number" and j > 0 and not CONCURRENCY.search(headers[j])]
    cols = ratio_cols or time_cols or rate_cols
    if not cols:
        return None
    label_cols = [j for j in range(len(headers)) if j not in cols and (j not in kinds or CONCURRENCY.search(headers[j]))]
    labels = [" · ".join(r[j].replace("`", "") for j in label_cols if r[j]) or r[0] for r in rows]
    values = [[parse_number(r[j])[0] for r in rows] for j in cols]
    fig, ax = plt.subplots(figsize=(10, 0.8 + 0.42 * len(rows) * max(1, len(cols) * 0.6)))
    bar = 0.8 / len(cols)
    for k, (j, vals) in enumerate(zip(cols, values)):
        ys = [y + (k - (len(cols) - 1) / 2) * bar for y in range(len(rows))]
        ax.barh(ys, vals, height=bar * 0.9, label=headers[j])
        for y, v in zip(ys, vals):
            ax.annotate(f"{v:.2f}×" if ratio_cols else f"{v:,.1f}" if time_cols else f"{v:,.0f}", (v, y), xytext=(3, 0),
                        textcoords="offset points", va="center", fontsize=7)
    ax.set_yticks(range(len(rows)), labels, fontsize=8)
    ax.invert_yaxis()
    if ratio_cols:
        ax.axvline(1.0, color="black", linewidth=0.8, linestyle="--")
        ax.set_xlabel("ratio, as the table states it (see its section for which side is faster)")
    else:
        flat = [v for vs in values for v in vs if v > 0]
        if flat and max(flat) / max(min(flat), 1e-9) > 100:
            ax.set_xscale("log")
        if any("instruction" in headers[j].lower() for j in cols):
            ax.set_xlabel("instructions per operation (lower is better)")
        else:
            ax.set_xlabel("time (lower is better)" if time_cols else "operations per second (higher is better)")
    if len(cols) > 1:
        ax.legend(fontsize=8, loc="lower right")
    subtitle = table["sentence"]
    ax.set_title((table["heading"] or stem)[:100] + (f"\n{subtitle}" if subtitle else ""), fontsize=10)
    ax.grid(axis="x", alpha=0.3)
    out = save(fig, f"{stem}-{n}-{slug(subtitle) if subtitle else ('ratios' if ratio_cols else 'throughput')}.png")
    plt.close(fig)
    return out


def table_chart(plt, stem: str, n: int, table: dict) -> pathlib.Path | None:
    if not table["rows"]:
        return None
    kinds = column_kinds(table["headers"], table["rows"])
    for draw in (long_format_chart, wide_format_chart, bar_chart):
        out = draw(plt, stem, n, table, kinds)
        if out:
            return out
    return None


def e2e_chart(plt, data: dict) -> pathlib.Path:
    endpoints = list(dict.fromkeys(r["endpoint"] for r in data["rows"]))
    fig, axes = plt.subplots(1, len(endpoints), figsize=(5.2 * len(endpoints), 4), squeeze=False)
    for ax, endpoint in zip(axes[0], endpoints):
        rows = [r for r in data["rows"] if r["endpoint"] == endpoint]
        xs = [r["connections"] for r in rows]
        for backend in data["backends"]:
            ys = [r[backend["id"]]["rps"] for r in rows]
            ax.plot(xs, ys, marker="o", label=backend["name"])
            for x, y in zip(xs, ys):
                ax.annotate(f"{y:,}", (x, y), xytext=(0, 5), textcoords="offset points", ha="center", fontsize=7)
        ax.set_xscale("log", base=2)
        ax.set_xticks(xs, [str(x) for x in xs])
        ax.set_xlabel("concurrent connections")
        ax.set_ylabel("successful requests / s")
        ax.set_title(f"quota-proxy {endpoint}", fontsize=10)
        ax.set_ylim(bottom=0)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle(f"End to end: throughput vs concurrency ({data['date']}, {data['cpus']} CPUs, {data['duration']} s per point)",
                 fontsize=10)
    fig.tight_layout()
    out = CHARTS / "e2e-throughput-vs-concurrency.png"
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out


def e2e_tenants_chart(plt, data: dict) -> pathlib.Path:
    """One row of panels per tenant count: requests/s and p99 (median, with the
    rounds' min-max), open fds and RSS (peak), a bar per store."""
    stores = data["stores"]
    names = [s.get("short", s["name"]) for s in stores]
    panels = [
        ("rps", "requests / s (median; bars: min-max)", True),
        ("p99", "p99 latency, ms (median; bars: min-max)", True),
        ("fds", "open file descriptors (peak)", False),
        ("rss", "RSS, MiB (peak)", False),
    ]
    sets = data["sets"]
    fig, axes = plt.subplots(len(sets), len(panels), figsize=(4.2 * len(panels), 3.4 * len(sets) + 0.6), squeeze=False)
    colors = ["#1f77b4", "#9467bd", "#d62728", "#17becf"]
    for row, tset in zip(axes, sets):
        for col, (ax, (key, title, spread)) in enumerate(zip(row, panels)):
            values = [tset["summary"][s["id"]][key] for s in stores]
            err = None
            if spread:
                runs = [[r[key] for r in tset["runs"][s["id"]]] for s in stores]
                err = [[v - min(r) for v, r in zip(values, runs)], [max(r) - v for v, r in zip(values, runs)]]
            ax.barh(range(len(stores)), values, xerr=err, color=colors[: len(stores)], capsize=3)
            for y, v in enumerate(values):
                ax.annotate(f"{v:,.0f}" if v >= 100 else f"{v:,.1f}", (v, y), xytext=(4, 6), textcoords="offset points", fontsize=7)
            ax.set_yticks(range(len(stores)), names if col == 0 else [""] * len(stores), fontsize=7)
            ax.invert_yaxis()
            ax.set_title(f"{tset['tenants']} tenants: {title}", fontsize=8)
            ax.grid(axis="x", alpha=0.3)
    fig.suptitle(
        f"Tenant service on each store, {data['clients']} clients ({data['date']}, {data['cpus']} CPUs, "
        f"{data['rounds']} rounds of {data['duration']} s per tenant count)",
        fontsize=10,
    )
    fig.tight_layout()
    out = CHARTS / "e2e_tenants-stores.png"
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out


def wal_chart(plt, data: dict) -> pathlib.Path:
    """WAL file size over time, one line per checkpoint mode (benches/wal/run.sh)."""
    fig, ax = plt.subplots(figsize=(8, 4.5))
    for mode, points in data.items():
        ax.plot([t for t, _ in points], [b / 2**20 for _, b in points], label=f"checkpoint = {mode}")
    ax.axhline(64, color="grey", linestyle="--", linewidth=1, label="wal_high_water (64 MiB)")
    ax.set_xlabel("seconds")
    ax.set_ylabel("WAL file MiB")
    ax.set_title("WAL size: 8 writers + always-overlapping readers")
    ax.legend()
    fig.tight_layout()
    return save(fig, "wal-size-over-time.png")


def main() -> int:
    ensure_matplotlib()
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    CHARTS.mkdir(parents=True, exist_ok=True)
    # Remove this script's earlier charts (named after a results file), nothing else.
    stems = {md.stem for md in RESULTS.glob("*.md")} | {"e2e", "e2e_tenants", "wal"}
    for old in CHARTS.glob("*.png"):
        if old.name.split("-", 1)[0] in stems:
            old.unlink()
    written = []
    e2e = RESULTS / "e2e.json"
    if e2e.exists():
        written.append(e2e_chart(plt, json.loads(e2e.read_text())))
    e2e_tenants = RESULTS / "e2e_tenants.json"
    if e2e_tenants.exists():
        written.append(e2e_tenants_chart(plt, json.loads(e2e_tenants.read_text())))
    wal = RESULTS / "wal.json"
    if wal.exists():
        written.append(wal_chart(plt, json.loads(wal.read_text())))
    for md in sorted(RESULTS.glob("*.md")):
        if md.stem == "wal" and wal.exists():
            continue  # drawn from its JSON above (the tables stay tables)
        if (md.stem == "e2e" and e2e.exists()) or (md.stem == "e2e_tenants" and e2e_tenants.exists()):
            continue  # drawn from its JSON above
        for n, table in enumerate(parse_tables(md.read_text()), start=1):
            try:
                out = table_chart(plt, md.stem, n, table)
            except (ValueError, IndexError) as e:  # a table this script does not understand
                print(f"charts: skipped {md.name} table {n}: {e}", file=sys.stderr)
                continue
            if out:
                written.append(out)
    for w in written:
        print(f"charts: {w.relative_to(ROOT)}")
    print(f"charts: {len(written)} chart(s) in {CHARTS.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
