"""The incident priority queue in Redis (see `service`)."""

from dispatch.queue.service import IncidentQueue, Lease, QueueEntry, queue_score, split_score

__all__ = ["IncidentQueue", "Lease", "QueueEntry", "queue_score", "split_score"]
