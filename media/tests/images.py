"""Test images made on the spot: no binary fixtures in the repository."""

from __future__ import annotations

import io
import struct
import zlib

from PIL import Image

GPS_TAG = 0x8825
ORIENTATION_TAG = 0x0112


def jpeg(
    width: int = 1600,
    height: int = 1200,
    *,
    gps: bool = False,
    orientation: int | None = None,
    mode: str = "RGB",
) -> bytes:
    image = Image.new(mode, (width, height), (200, 120, 40) if mode == "RGB" else None)
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"
    if gps:
        exif[GPS_TAG] = {1: "N", 2: (9.0, 58.0, 0.0), 3: "E", 4: (76.0, 16.0, 0.0)}
    if orientation:
        exif[ORIENTATION_TAG] = orientation
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", exif=exif.tobytes(), quality=90)
    return buffer.getvalue()


def png(width: int = 900, height: int = 600, mode: str = "RGBA") -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, (width, height)).save(buffer, "PNG")
    return buffer.getvalue()


def gif_animated() -> bytes:
    frames = [Image.new("P", (50, 50), i) for i in range(3)]
    buffer = io.BytesIO()
    frames[0].save(buffer, "GIF", save_all=True, append_images=frames[1:])
    return buffer.getvalue()


def webp_animated() -> bytes:
    frames = [Image.new("RGB", (50, 50), (i * 60, 0, 0)) for i in range(3)]
    buffer = io.BytesIO()
    frames[0].save(buffer, "WEBP", save_all=True, append_images=frames[1:])
    return buffer.getvalue()


def png_bomb(width: int, height: int) -> bytes:
    """A valid RGB PNG of `width` x `height` black pixels, about a thousandth of its decoded
    size, made in milliseconds: one block of rows is compressed once and repeated (after a
    full flush, deflate output for the same input is the same and can be concatenated)."""
    rows_per_block = 50
    assert height % rows_per_block == 0
    block = (b"\x00" + b"\x00\x00\x00" * width) * rows_per_block  # filter "none", black
    compressor = zlib.compressobj(9)
    first = compressor.compress(block) + compressor.flush(zlib.Z_FULL_FLUSH)  # zlib header too
    repeated = compressor.compress(block) + compressor.flush(zlib.Z_FULL_FLUSH)
    final = compressor.flush()[:-4]  # the last, empty block; its checksum is redone below
    checksum = 1
    for _ in range(height // rows_per_block):
        checksum = zlib.adler32(block, checksum)
    stream = first + repeated * (height // rows_per_block - 1) + final
    stream += struct.pack(">I", checksum)

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", stream) + chunk(b"IEND", b"")
    )
