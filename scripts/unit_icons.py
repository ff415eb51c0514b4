"""Draws the crew app's icons (console/static/unit/icons/unit-192.png, unit-512.png): the accent blue of
unit.css edge to edge, so a launcher's mask may crop it to any shape, and a white cross well inside the
central circle a mask keeps. Plain PNG written with zlib: nothing to install, nothing downloaded.

    .venv/bin/python scripts/unit_icons.py
"""

import struct
import zlib
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "console" / "static" / "unit" / "icons"
BLUE = (0x0A, 0x4F, 0x96)
WHITE = (0xFF, 0xFF, 0xFF)


def pixel(x: float, y: float) -> tuple[int, int, int]:
    """Colour at (x, y) in a unit square: a cross of arms 0.18 wide reaching 0.26 from the centre."""
    dx, dy = abs(x - 0.5), abs(y - 0.5)
    arm, reach = 0.09, 0.26
    return WHITE if (dx <= arm and dy <= reach) or (dy <= arm and dx <= reach) else BLUE


def png(size: int) -> bytes:
    rows = b"".join(
        b"\x00" + b"".join(bytes(pixel((i + 0.5) / size, (j + 0.5) / size)) for i in range(size)) for j in range(size)
    )

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)  # 8-bit RGB
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows, 9)) + chunk(b"IEND", b"")


if __name__ == "__main__":
    OUT.mkdir(parents=True, exist_ok=True)
    for size in (192, 512):
        (OUT / f"unit-{size}.png").write_bytes(png(size))
        print(OUT / f"unit-{size}.png")  # noqa: T201 (a command: it says what it wrote)
