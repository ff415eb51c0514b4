"""Slow and oversized clients against a running service: how long the service holds them, and what a large
body costs it.

    .venv/bin/python benchmarks/slow_clients.py --url http://127.0.0.1:8000 --clients 50 --pid PID

Opens N connections of each kind at once and waits (at most --wait s) for the service to close them:
`silent` sends nothing; `headers` sends request headers a byte every 0.5 s; `body` sends complete headers
and then a body a byte every 0.5 s. Then POSTs 200 MB to /api/public/reports, once with a Content-Length
and once chunked, and says the answer, how many bytes the service took before it answered, and (with --pid,
on Linux) the service's resident memory before and after. Prints a table and one JSON line.
"""

import argparse
import asyncio
import json
import time
from pathlib import Path
from urllib.parse import urlsplit

HEAD = b"POST /api/public/reports HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\n"
BIG = 200 * 1024 * 1024


def rss_mb(pid: int | None) -> float | None:
    if pid is None:
        return None
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return None


async def held(host: str, port: int, first: bytes, then: bytes, wait_s: float) -> tuple[float, bytes]:
    """Seconds until the service closed the connection (wait_s if it never did) and its first answer bytes."""
    started = time.perf_counter()
    reader, writer = await asyncio.open_connection(host, port)
    writer.write(first)
    answer = b""

    async def trickle() -> None:
        for byte in then:
            await asyncio.sleep(0.5)
            writer.write(bytes([byte]))
            await writer.drain()

    sender = asyncio.create_task(trickle())
    try:
        async with asyncio.timeout(wait_s):
            while chunk := await reader.read(65536):
                answer += chunk
    except (TimeoutError, ConnectionError):
        pass
    finally:
        sender.cancel()
        writer.close()
    return time.perf_counter() - started, answer[:12]


async def big_body(host: str, port: int, *, chunked: bool) -> tuple[str, int]:
    """Sends up to 200 MB as fast as the service takes it; returns its status line and the bytes it took."""
    reader, writer = await asyncio.open_connection(host, port)
    framing = b"Transfer-Encoding: chunked\r\n" if chunked else f"Content-Length: {BIG}\r\n".encode()
    writer.write(HEAD + framing + b"\r\n")
    block, sent = b" " * 65536, 0
    answer = asyncio.create_task(reader.readline())
    try:
        while sent < BIG and not answer.done():
            writer.write(b"10000\r\n" + block + b"\r\n" if chunked else block)
            await asyncio.wait_for(writer.drain(), 10)
            sent += len(block)
    except (ConnectionError, TimeoutError):
        pass  # the service closed the connection (or stopped reading): its answer, if any, is in the reader
    finally:
        await asyncio.wait({answer}, timeout=30)
        writer.close()
    status = answer.result() if answer.done() and not answer.cancelled() and not answer.exception() else b""
    answer.cancel()
    return status.decode(errors="replace").strip() or "(no answer)", sent


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--wait", type=float, default=90.0, help="give up on a connection after this many s")
    parser.add_argument("--pid", type=int, help="the service's process id, for its memory")
    args = parser.parse_args()
    url = urlsplit(args.url)
    host, port = url.hostname or "127.0.0.1", url.port or 80
    kinds = {
        "silent": (b"", b""),
        "headers": (HEAD, b"X-Slow: " + b"a" * 1000),
        "body": (HEAD + b"Content-Length: 1000\r\n\r\n{", b" " * 999),
    }
    result: dict = {"clients": args.clients, "wait_s": args.wait}
    print(f"{'kind':<10}{'held p50 s':>12}{'held max s':>12}{'closed':>9}  first answer")
    for kind, (first, then) in kinds.items():
        times = await asyncio.gather(*(held(host, port, first, then, args.wait) for _ in range(args.clients)))
        seconds = sorted(t for t, _ in times)
        closed = sum(t < args.wait for t in seconds)
        answers = sorted({a.decode(errors="replace") for _, a in times})
        result[kind] = {
            "held_p50_s": round(seconds[len(seconds) // 2], 2),
            "held_max_s": round(seconds[-1], 2),
            "closed": closed,
            "answers": answers,
        }
        print(f"{kind:<10}{seconds[len(seconds) // 2]:>12.2f}{seconds[-1]:>12.2f}{closed:>9}  {answers}")
    for chunked in (False, True):
        before = rss_mb(args.pid)
        status, sent = await big_body(host, port, chunked=chunked)
        after = rss_mb(args.pid)
        name = "200MB chunked" if chunked else "200MB length"
        result[name] = {
            "status": status,
            "sent_mb": round(sent / 2**20, 1),
            "rss_before_mb": before,
            "rss_after_mb": after,
        }
        print(f"{name:<14} {status!r}: {sent / 2**20:.1f} MB sent; RSS {before} -> {after} MB")
    print(json.dumps(result))


if __name__ == "__main__":
    asyncio.run(main())
