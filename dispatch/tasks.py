"""Background loops that stop when told to, even when a library turned the cancellation into its own error."""

import asyncio


def stop_if_cancelled() -> None:
    """Call in a loop's `except` clause: a client library (redis-py, seen here) may catch the CancelledError
    of a task being stopped and raise a connection error instead; the loop would then go round forever and
    the shutdown that awaits it would hang."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError
