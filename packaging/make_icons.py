"""Draws the app's icon at every size it ships in: `python packaging/make_icons.py [OUTDIR]`.

The picture is a masked language model's task: a row of three word tokens with the middle one masked (amber),
and, from 48 px up, a falling loss curve under them. Each size is drawn on its own pixel grid, not scaled down
from a big one, so the 16 px icon stays three crisp blocks. Writes resources/icons/mlm-workbench-N.png for the
window and Linux, and mlm-workbench.ico (Windows) and mlm-workbench.icns (macOS), which hold those same PNGs.
Needs PySide6 only, and no display.
"""

from __future__ import annotations

import argparse
import struct
import sys
from pathlib import Path

from PySide6.QtCore import QBuffer, QIODevice, QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QImage, QPainter, QPainterPath, QPen

SIZES = (16, 32, 48, 64, 128, 256)
ICNS_TYPES = {16: b"icp4", 32: b"icp5", 64: b"icp6", 128: b"ic07", 256: b"ic08"}  # PNG payloads by size
ICONS_DIR = Path(__file__).resolve().parent.parent / "resources" / "icons"

BACKGROUND = QColor("#22406e")
TOKEN = QColor("#ffffff")
MASK = QColor("#f5a623")
CURVE = QColor("#7fc4ff")
LOSS = ((0.0, 0.05), (0.15, 0.55), (0.3, 0.72), (0.5, 0.83), (0.75, 0.9), (1.0, 0.93))  # (x, fall) of a run


def draw(size: int) -> QImage:
    """The icon at `size` x `size` pixels."""
    image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(BACKGROUND)
    painter.drawRoundedRect(QRectF(0, 0, size, size), size * 0.18, size * 0.18)
    margin, gap = round(size * 0.125), max(1, round(size * 0.0625))
    width = (size - 2 * margin - 2 * gap) // 3
    left = (size - 3 * width - 2 * gap) // 2  # the rounding remainder split on both sides
    height = round(size * 0.375)
    with_curve = size >= 48
    top = round(size * 0.2) if with_curve else (size - height) // 2
    radius = size * 0.03 if with_curve else 0  # below 48 px a rounded corner is only a blurred pixel
    for index, colour in enumerate((TOKEN, MASK, TOKEN)):
        painter.setBrush(colour)
        x = left + index * (width + gap)
        painter.drawRoundedRect(QRectF(x, top, width, height), radius, radius)
    if with_curve:
        _draw_curve(painter, QRectF(left, top + height + size * 0.1, size - 2 * left, size * 0.22), size)
    painter.end()
    return image


def _draw_curve(painter: QPainter, box: QRectF, size: int) -> None:
    path = QPainterPath()
    for index, (x, fall) in enumerate(LOSS):
        point = QPointF(box.left() + x * box.width(), box.top() + fall * box.height())
        path.moveTo(point) if index == 0 else path.lineTo(point)
    pen = QPen(CURVE, max(2.0, size * 0.035))
    pen.setCapStyle(Qt.PenCapStyle.RoundCap)
    pen.setJoinStyle(Qt.PenJoinStyle.RoundJoin)
    painter.setPen(pen)
    painter.setBrush(Qt.BrushStyle.NoBrush)
    painter.drawPath(path)


def png_bytes(image: QImage) -> bytes:
    buffer = QBuffer()
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    image.save(buffer, "PNG")
    return bytes(buffer.data())


def ico_bytes(pngs: dict[int, bytes]) -> bytes:
    """A Windows .ico holding PNG images (Vista and later read PNG entries; 256 is written as 0)."""
    header = struct.pack("<HHH", 0, 1, len(pngs))
    offset = len(header) + 16 * len(pngs)
    entries, data = b"", b""
    for size, png in pngs.items():
        entries += struct.pack("<BBBBHHII", size % 256, size % 256, 0, 0, 1, 32, len(png), offset + len(data))
        data += png
    return header + entries + data


def icns_bytes(pngs: dict[int, bytes]) -> bytes:
    """A macOS .icns: big-endian (type, length) chunks, each holding one PNG."""
    chunks = b"".join(kind + struct.pack(">I", 8 + len(pngs[size])) + pngs[size] for size, kind in ICNS_TYPES.items())
    return b"icns" + struct.pack(">I", 8 + len(chunks)) + chunks


def icon_files() -> dict[str, bytes]:
    """Every file the generator writes, by name."""
    pngs = {size: png_bytes(draw(size)) for size in SIZES}
    files = {f"mlm-workbench-{size}.png": png for size, png in pngs.items()}
    files["mlm-workbench.ico"] = ico_bytes(pngs)
    files["mlm-workbench.icns"] = icns_bytes(pngs)
    return files


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("outdir", nargs="?", type=Path, default=ICONS_DIR, help="default: resources/icons/")
    outdir = parser.parse_args(argv).outdir
    outdir.mkdir(parents=True, exist_ok=True)
    for name, data in icon_files().items():
        (outdir / name).write_bytes(data)
    print(f"wrote {len(SIZES)} PNGs, an .ico and an .icns to {outdir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
