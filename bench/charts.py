#!/usr/bin/env python3
"""`make bench` helper: draws bench/RESULTS.md's charts from the numbers of the run (its `results` file).

Usage: charts.py RESULTS_FILE OUT_DIR   (writes rates.png and latency.png, and lists.png when list timings exist)
Each results line is `scenario value...`: rate scenarios `NAME rps p50_ms p99_ms non2xx`, open-loop ones
`NAME sent ok p50_ms p99_ms max_ms`, list timings `list_NAME p50_ms p95_ms`.
"""

import sys
from collections import defaultdict
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def read(path):
    rows = defaultdict(list)
    for line in Path(path).read_text().splitlines():
        parts = line.split()
        if len(parts) >= 2:
            try:
                rows[parts[0]].append([float(v) for v in parts[1:]])
            except ValueError:
                pass
    return rows


def median(values):
    values = sorted(values)
    n = len(values)
    return values[n // 2] if n % 2 else (values[n // 2 - 1] + values[n // 2]) / 2


def rates(rows, out):
    groups = [
        ("bare", "bare axum\n/healthz"),
        ("healthz", "Tessera\n/healthz"),
        ("valid", "Tessera\nverification"),
        ("plain_valid", "verification,\nno usage"),
        ("usage_valid", "verification,\nusage + limits"),
    ]
    groups = [(key, label) for key, label in groups if rows.get(key)]
    fig, ax = plt.subplots(figsize=(9, 4.5))
    for i, (key, _) in enumerate(groups):
        values = [row[0] for row in rows[key]]
        ax.scatter([i] * len(values), values, color="#888", s=14, zorder=2, label="a round" if i == 0 else None)
        ax.bar(i, median(values), color="#3b6ea8" if i < 3 else "#6a9f58", alpha=0.8, zorder=1,
               label="median" if i == 0 else None)
        ax.annotate(f"{median(values) / 1000:.1f}k", (i, median(values)), ha="center", va="bottom", fontsize=9)
    if rows.get("bare"):
        limit = median([row[0] for row in rows["bare"]])
        for share, style in ((0.95, "--"), (0.85, ":")):
            ax.axhline(limit * share, color="#c0392b", linestyle=style, linewidth=1,
                       label=f"{share:.2f} × bare axum")
    ax.set_xticks(range(len(groups)), [label for _, label in groups])
    ax.set_ylabel("requests per second (wrk, closed loop)")
    ax.set_title("Rates against the limit (server on CPU 0, client on CPU 1)")
    ax.legend(loc="upper right", fontsize=8)
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    fig.savefig(out / "rates.png", dpi=100)
    plt.close(fig)


def latency(rows, out):
    groups = [
        ("paced_bare", "bare axum /healthz\n10k req/s"),
        ("paced_healthz", "Tessera /healthz\n10k req/s"),
        ("paced", "verification\n10k req/s"),
        ("paced_low", "verification\n5k req/s"),
    ]
    groups = [(key, label) for key, label in groups if rows.get(key)]
    fig, ax = plt.subplots(figsize=(9, 4.5))
    width = 0.27
    for j, (column, name) in enumerate(((2, "p50"), (3, "p99"), (4, "max"))):
        values = [median([row[column] for row in rows[key]]) for key, _ in groups]
        ax.bar([i + (j - 1) * width for i in range(len(groups))], values, width, label=f"{name} (median of rounds)")
    ax.axhline(1.0, color="#c0392b", linestyle="--", linewidth=1, label="target p99 < 1 ms at 10k req/s")
    ax.set_yscale("log")
    ax.set_xticks(range(len(groups)), [label for _, label in groups])
    ax.set_ylabel("milliseconds from each request's due time (log)")
    ax.set_title("Latency under a fixed load (bench_paced, open loop)")
    ax.legend(fontsize=8)
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    fig.savefig(out / "latency.png", dpi=100)
    plt.close(fig)


def lists(rows, out):
    keys = sorted(key for key in rows if key.startswith("list_"))
    if not keys:
        return
    fig, ax = plt.subplots(figsize=(10, 5))
    p95 = [median([row[1] for row in rows[key]]) for key in keys]
    p50 = [median([row[0] for row in rows[key]]) for key in keys]
    ax.barh(range(len(keys)), p95, color="#3b6ea8", label="p95")
    ax.barh(range(len(keys)), p50, color="#9cc3e6", label="p50")
    ax.axvline(15, color="#c0392b", linestyle="--", linewidth=1, label="target p95 < 15 ms")
    ax.set_yticks(range(len(keys)), [key.removeprefix("list_").replace("_", " ") for key in keys], fontsize=8)
    ax.set_xlabel("milliseconds per server-function call over HTTP")
    ax.set_title("Listing and searching one account's 100,000 tokens (1,000,000 in all)")
    ax.legend(fontsize=8)
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    fig.savefig(out / "lists.png", dpi=100)
    plt.close(fig)


def main():
    rows = read(sys.argv[1])
    out = Path(sys.argv[2])
    rates(rows, out)
    latency(rows, out)
    lists(rows, out)


if __name__ == "__main__":
    main()
