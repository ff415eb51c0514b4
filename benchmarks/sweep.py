"""End-to-end latency against the call rate: `dispatch bench` at each rate in turn, one table, the highest
rate whose e2e p99 stays within a bound, and a picture.

    .venv/bin/python benchmarks/sweep.py [--rates 5,10,15,20,30] [--duration 30] [--units 1000]
                                         [--p99-ms 100] [--plot docs/bench-sweep.png] [--json]

Every rate is a full bench run (fresh bench database, the service and a matcher started, Locust at that
constant rate), so a run costs its duration plus some 15 s of setting up. A rate "holds" when its e2e p99 is
within `--p99-ms`, nothing was lost, nothing left undelivered, nothing delivered twice, and Locust achieved at
least 95 % of it. The picture has the e2e percentiles and, beside them, the CPU milliseconds each process spent
per call at each rate (dispatch bench's CPU table).
"""

import argparse
import sys
from pathlib import Path

import orjson
from matplotlib.figure import Figure
from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.bench.run import BenchArgs, BenchError, run  # noqa: E402
from dispatch.config import get_settings  # noqa: E402

console = Console(stderr=True, width=140)


def holds(r: dict, p99_ms: float) -> bool:
    return (
        r["e2e_ms"]["p99"] is not None
        and r["e2e_ms"]["p99"] <= p99_ms
        and r["lost"] == 0
        and r.get("undelivered", 0) == 0
        and r["duplicates_delivered"] == 0
        and r["achieved_rate"] >= 0.95 * r["rate"]
    )


def rates_of(text: str) -> list[float]:
    try:
        rates = sorted({float(part) for part in text.split(",") if part.strip()})
    except ValueError:
        raise SystemExit(f"error: --rates wants numbers separated by commas, e.g. 5,10,20; got {text!r}") from None
    if not rates or rates[0] <= 0 or rates[-1] > 1000:
        raise SystemExit(f"error: --rates must be between 0 and 1000 calls a second; got {text!r}")
    return rates


ROLES = ("service", "matcher", "postgres", "redis", "locust", "trackers")


def plot(results: list[dict], p99_ms: float, path: Path) -> None:
    fig = Figure(figsize=(11, 4.2), dpi=110)  # no pyplot: no backend, no global figures
    ax, cpu = fig.subplots(1, 2, gridspec_kw={"width_ratios": [3, 2]})
    x = [r["achieved_rate"] for r in results]
    for key, style in (("p50", "o-"), ("p90", "s--"), ("p99", "^-")):
        ax.plot(x, [r["e2e_ms"][key] for r in results], style, label=f"e2e {key}")
    ax.axhline(p99_ms, color="grey", linestyle=":", label=f"{p99_ms:g} ms")
    ax.set_yscale("log")
    ax.set_xlabel("calls a second (achieved)")
    ax.set_ylabel("call → unit's device, ms")
    units = results[0]["units"]
    ax.set_title(f"End to end: {units:,} units, 2 consoles, one 2-core machine", fontsize=10)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    # CPU per call by process: what each call costs the machine, the load generator's share included.
    labels = [f"{r['rate']:g}" for r in results]
    bottom = [0.0] * len(results)
    for role in ROLES:
        ms = [((r.get("cpu") or {}).get("ms_per_call") or {}).get(role) or 0.0 for r in results]
        if any(ms):
            cpu.bar(labels, ms, bottom=bottom, label=role)
            bottom = [b + m for b, m in zip(bottom, ms, strict=True)]
    cpu.set_xlabel("calls a second (asked)")
    cpu.set_ylabel("CPU ms per call")
    cpu.set_title("Where a call's CPU goes, by process", fontsize=10)
    cpu.legend(fontsize=8)
    cpu.grid(True, axis="y", alpha=0.3)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rates", default="5,10,15,20,30")
    parser.add_argument("--duration", type=float, default=30.0)
    parser.add_argument("--units", type=int, default=1000)
    parser.add_argument("--p99-ms", type=float, default=100.0)
    parser.add_argument("--trackers", type=int, default=0, help="position-only vehicles beside the units")
    parser.add_argument("--plot", type=Path, default=None)
    parser.add_argument("--json", action="store_true", help="each run's JSON, one line each, then the summary")
    args = parser.parse_args()
    rates = rates_of(args.rates)
    if (
        not 5 <= args.duration <= 600
        or not 1 <= args.units <= 20_000
        or not 0 <= args.trackers <= 20_000
        or args.p99_ms <= 0
    ):
        raise SystemExit("error: --duration 5..600 s, --units 1..20000, --trackers 0..20000, --p99-ms > 0")
    settings = get_settings()
    results = []
    for rate in rates:
        console.print(f"[bold]{rate:g} calls/s[/] for {args.duration:g} s")
        try:
            bench = BenchArgs(
                rate=rate,
                duration=args.duration,
                units=args.units,
                consoles=2,
                trackers=args.trackers,
                workers=1,
                matchers=1,
                port=8040,
                seed=7,
                out_dir=Path("var/bench"),
            )
            results.append(run(settings, bench, progress=lambda m: console.print("  " + m, highlight=False)))
        except BenchError as exc:
            raise SystemExit(f"error: {exc}") from None
    table = Table(title=f"e2e against the call rate ({args.units:,} units)", title_justify="left")
    for column in (
        "asked",
        "achieved",
        "accepted",
        "lost",
        "dup",
        "e2e p50",
        "p90",
        "p99",
        "intake p50",
        "p99",
        "CPU ms/call",
        "load 1m",
        f"p99 ≤ {args.p99_ms:g} ms",
    ):
        table.add_column(column, justify="right")
    for r in results:
        e, i = r["e2e_ms"], r["intake_ms"]
        table.add_row(
            f"{r['rate']:g}",
            f"{r['achieved_rate']:g}",
            str(r["accepted"]),
            str(r["lost"]),
            str(r["duplicates_delivered"]),
            *(f"{e[k]:g}" for k in ("p50", "p90", "p99")),
            f"{i['p50']:g}",
            f"{i['p99']:g}",
            f"{(r.get('cpu') or {}).get('total_ms_per_call') or '-'}",
            f"{r['loadavg_1m']:g}",
            "yes" if holds(r, args.p99_ms) else "no",
        )
    console.print(table)
    held = [r["rate"] for r in results if holds(r, args.p99_ms)]
    best = max(held) if held else None
    console.print(
        f"highest rate with e2e p99 ≤ {args.p99_ms:g} ms: " + (f"{best:g} calls/s" if best else "none of those run"),
        highlight=False,
    )
    if args.plot:
        plot(results, args.p99_ms, args.plot)
        console.print(f"picture: {args.plot}")
    if args.json:
        for r in results:
            print(orjson.dumps(r).decode())
        print(orjson.dumps({"p99_bound_ms": args.p99_ms, "highest_rate_held": best}).decode())


if __name__ == "__main__":
    main()
