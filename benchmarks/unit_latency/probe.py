"""What the page records, as an init script: the app's code is not changed for the measurement.

Times are `performance.timeOrigin + performance.now()`: epoch milliseconds of the machine's clock, as the
server's `sent_at` is, so the two subtract (both ends run on one machine).

- `event`: the socket's `message` event of an assignment was created (its `timeStamp`), i.e. the browser had
  the frame and queued it for the page; a listener added as the socket is made runs before the app's own.
- `handled`: that listener ran (the page's main thread got to the message).
- `changed`: `body[data-job]` became "new": taken in the MutationObserver's callback, a microtask that runs once
  the app's whole handler of that message has returned (the job stored and rendered, the map updated).
- `painted`: after the next animation frame: a task posted from the frame's callback runs once the frame that
  carries the change has been rendered, which is when the crew can see it.
"""

from dataclasses import dataclass

PROBE = r"""
(() => {
  const now = () => performance.timeOrigin + performance.now();
  const rec = (window.__latency = { received: {}, shown: [], seen: new Set() });
  const Native = window.WebSocket;
  // A socket made by the app gets our listener first, so the event's moment is taken before the app's handler.
  class Probed extends Native {
    constructor(...args) {
      super(...args);
      this.addEventListener("message", (event) => {
        const handled = now();
        if (typeof event.data !== "string" || !event.data.includes('"assignment"')) return;
        let m;
        try { m = JSON.parse(event.data); } catch { return; }
        if (m.type !== "assignment" || rec.received[m.assignment_id]) return;
        rec.received[m.assignment_id] = { event: performance.timeOrigin + event.timeStamp, handled };
      });
    }
  }
  window.WebSocket = Probed;
  const watch = new MutationObserver((records) => {
    for (const r of records) {
      if (r.target !== document.body || r.oldValue === "new" || document.body.dataset.job !== "new") continue;
      const changed = now();
      let job = null;
      try { job = JSON.parse(localStorage.getItem("unit-job")); } catch { /* counted as unpaired below */ }
      const id = job?.assignment_id;
      if (id == null || rec.seen.has(id)) continue;
      rec.seen.add(id);
      requestAnimationFrame(() => {
        const frame = now();
        const channel = new MessageChannel();
        channel.port1.onmessage = () => {
          const entry = { assignment_id: id, incident_id: job.incident_id, sent_at: job.sent_at, changed, frame,
            painted: now(), ...(rec.received[id] || {}), visible: document.visibilityState };
          rec.shown.push(entry);
          window.__shown?.(entry); // the benchmark's binding: told once painted, no polling in the page
        };
        channel.port2.postMessage(0);
      });
    }
  });
  watch.observe(document, { subtree: true, attributes: true, attributeFilter: ["data-job"], attributeOldValue: true });
})();
"""


@dataclass(frozen=True)
class Shown:
    """One assignment, as the server sent it and the page showed it (epoch ms, one machine's clock)."""

    assignment_id: int
    requested: float  # the dispatcher's assign request was sent (this process)
    answered: float  # its answer came back (this process)
    sent_at: float  # the server put the assignment on the unit's socket (`sent_at`)
    event: float
    handled: float
    changed: float
    painted: float
    visible: str

    @classmethod
    def of(cls, record: dict, requested: float, answered: float) -> "Shown":
        return cls(
            assignment_id=int(record["assignment_id"]),
            requested=requested,
            answered=answered,
            sent_at=float(record["sent_at"]),
            event=float(record["event"]),
            handled=float(record["handled"]),
            changed=float(record["changed"]),
            painted=float(record["painted"]),
            visible=str(record.get("visible")),
        )
