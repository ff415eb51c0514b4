"""The report's pictures (matplotlib, Agg backend): PNG bytes, so they embed in HTML and save as files."""

import io

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from dispatch.reports.queries import BIN_S, MAX_BIN  # noqa: E402

COLOURS = {1: "#c0392b", 2: "#e67e22", 3: "#2980b9", 4: "#7f8c8d"}


def _png(fig) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return buffer.getvalue()


def _target_s(report: dict, priority: int) -> float | None:
    for t in report["targets"]:
        if t["interval"] == "response" and t["priorities"] == [priority]:
            return t["seconds"]
    return None


def distribution_chart(distribution: dict[int, list[int]], report: dict) -> bytes:
    """Received → first on scene per priority, in BIN_S-second bars, with each priority's target line."""
    priorities = sorted(distribution) or [1]
    fig, axes = plt.subplots(len(priorities), 1, figsize=(9, 1.9 * len(priorities) + 0.6), sharex=True, squeeze=False)
    for ax, priority in zip(axes[:, 0], priorities, strict=True):
        counts = distribution.get(priority, [0] * (MAX_BIN + 1))
        last = max((i for i, c in enumerate(counts) if c), default=0)
        shown = min(max(last + 2, 24), MAX_BIN + 1)
        minutes = [i * BIN_S / 60 for i in range(shown)]
        ax.bar(minutes, counts[:shown], width=BIN_S / 60, align="edge", color=COLOURS.get(priority, "#555"))
        target = _target_s(report, priority)
        if target is not None:
            ax.axvline(target / 60, color="black", linestyle="--", linewidth=1)
            ax.text(target / 60, ax.get_ylim()[1] * 0.9, f" target {target / 60:g} min", fontsize=8)
        ax.set_ylabel(f"priority {priority}\nincidents", fontsize=8)
    axes[-1, 0].set_xlabel("received → first unit on scene (minutes; the last bar holds 60 min and more)")
    fig.suptitle("Response-time distribution per priority")
    return _png(fig)


def hourly_chart(by_hour: dict, interval: str = "response") -> bytes:
    """p50/p90/p95 of an interval for each local hour of the day."""
    hours = [int(g["key"]) for g in by_hour["groups"]]
    fig, ax = plt.subplots(figsize=(9, 3.4))
    for p, style in (("p50", "-"), ("p90", "--"), ("p95", ":")):
        values = [g["intervals"][interval][p] for g in by_hour["groups"]]
        ax.plot(
            hours,
            [None if v is None else v / 60 for v in values],
            style,
            marker="o",
            markersize=3,
            label=p,
            color="#2c3e50",
        )
    ax.set_xticks(range(0, 24, 2))
    ax.set_xlim(-0.5, 23.5)
    ax.set_xlabel(f"hour of the day ({by_hour['time_zone']})")
    ax.set_ylabel("minutes")
    ax.set_title(f"{interval.replace('_', ' ').capitalize()} percentiles by hour of the day (all priorities)")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    return _png(fig)


def compliance_chart(by_municipality: dict, target_keys: tuple[str, ...] = ("response-p1", "response-p2")) -> bytes:
    """Per municipality, the share within each response target, with the goal line."""
    groups = by_municipality["groups"]
    names = [g["key"] for g in groups]
    fig, ax = plt.subplots(figsize=(9, 0.32 * max(len(names), 3) * len(target_keys) + 1.2))
    height = 0.8 / len(target_keys)
    goal = None
    for k, key in enumerate(target_keys):
        shares, labels = [], []
        for g in groups:
            c = next((c for c in g["compliance"] if c["target"] == key), None)
            shares.append(0 if c is None or c["fraction"] is None else c["fraction"] * 100)
            labels.append("" if c is None or not c["count"] else f"{c['met']}/{c['count']}")
            goal = goal or (c and c["goal"])
        ys = [i + k * height for i in range(len(names))]
        bars = ax.barh(ys, shares, height=height, label=key, color=["#c0392b", "#e67e22", "#2980b9"][k % 3])
        ax.bar_label(bars, labels=labels, fontsize=7, padding=2)
    if goal:
        ax.axvline(goal * 100, color="black", linestyle="--", linewidth=1)
    ax.set_yticks([i + height * (len(target_keys) - 1) / 2 for i in range(len(names))], names, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlim(0, 110)
    ax.set_xlabel("% of incidents within the target (the dashed line: the goal)")
    ax.set_title("Compliance with the response targets by municipality")
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    return _png(fig)
