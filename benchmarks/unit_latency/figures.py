"""The figures of a run: each measure's spread (nearest-rank percentiles, as `dispatch bench`) and a histogram."""

from pathlib import Path

from matplotlib.figure import Figure

from benchmarks.bench.run import spread
from benchmarks.unit_latency.probe import Shown

HEADLINE = "sent → shown"
# (label, what it spans): each a difference of two moments of one assignment, in ms.
MEASURES = [
    (HEADLINE, "server's sent_at → the page painted the job", lambda s: s.painted - s.sent_at),
    ("  sent → message event", "sent_at → the socket's message event in the page", lambda s: s.event - s.sent_at),
    ("  message event → painted", "in the page: the app's handler, then the next frame", lambda s: s.painted - s.event),
    ("    of it: event → main thread", "the event waited for the page's main thread", lambda s: s.handled - s.event),
    ("    of it: the app's handler", "parsed, stored, rendered (data-job set)", lambda s: s.changed - s.handled),
    ("    of it: handler → painted", "to the end of the next frame", lambda s: s.painted - s.changed),
    ("server: assign request → sent_at", "POST /assign sent → the server sent it", lambda s: s.sent_at - s.requested),
    ("server: assign request → answer", "POST /assign round trip", lambda s: s.answered - s.requested),
    ("assign request → shown", "what a dispatcher waits, end to end", lambda s: s.painted - s.requested),
]


def figures(shown: list[Shown]) -> list[dict]:
    """One row per measure: label, meaning, n and p50/p90/p99/max in ms."""
    return [
        {"label": label, "meaning": meaning, "n": len(shown), **spread([measure(s) for s in shown])}
        for label, meaning, measure in MEASURES
    ]


def plot(shown: list[Shown], path: Path, title: str) -> None:
    """A histogram of sent → shown, split into its two parts (to the page; in the page)."""
    total = [s.painted - s.sent_at for s in shown]
    to_page = [s.event - s.sent_at for s in shown]
    in_page = [s.painted - s.event for s in shown]
    figure = Figure(figsize=(8, 4.5), dpi=110)  # no pyplot: no backend, no global figures
    axis = figure.subplots()
    top = max(total) if total else 1.0
    bins = [top * i / 40 for i in range(41)]
    axis.hist(total, bins=bins, alpha=0.75, label="sent → shown (painted)", color="#1f5f99")
    axis.hist(to_page, bins=bins, alpha=0.6, label="sent → message event", color="#e08a00")
    axis.hist(in_page, bins=bins, alpha=0.5, label="message event → painted", color="#2e8b57")
    for p, style in ((50, "--"), (99, ":")):
        value = spread(total)[f"p{p}"]
        if value is not None:
            axis.axvline(value, color="black", linestyle=style, linewidth=1, label=f"p{p} {value:.1f} ms")
    axis.set_xlabel("ms (one machine's clock at both ends)")
    axis.set_ylabel("assignments")
    axis.set_title(title)
    axis.legend()
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path)
