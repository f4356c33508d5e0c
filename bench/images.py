"""Photo processing against the floor of one full Pillow decode, in one run.

    .venv/bin/python bench/images.py [--rounds 30]

Makes a 12 MP JPEG (4000x3000, camera-like noise so it compresses like a photo), then times
`media.processing.make_renditions` (tiny + medium WebP, full JPEG) and, interleaved with it,
one plain full-size decode of the same bytes (`Image.open(...).load()`): the floor, since a
photo must at least be read once. Target: renditions p50 <= 3x the floor's p50.

Then a decompression bomb (a 107 kB PNG of 6000x6000 pixels): its refusal against one full
decode of it, the cost it would have had.
"""

from __future__ import annotations

import argparse
import io
import os
import platform
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
TARGET_RATIO = 3.0


def camera_like_jpeg(width: int = 4000, height: int = 3000) -> bytes:
    from PIL import Image, ImageFilter

    noise = Image.effect_noise((width // 4, height // 4), 64).convert("RGB")
    gradient = Image.linear_gradient("L").resize((width // 4, height // 4)).convert("RGB")
    image = Image.blend(noise, gradient, 0.5).resize((width, height)).filter(ImageFilter.SMOOTH)
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=92)
    return buffer.getvalue()


def bomb_figures(rounds: int) -> tuple[int, float, float]:
    """The bomb's size, the p50 milliseconds of refusing it and of decoding it in full."""
    from PIL import Image

    from media.processing import BadImage, make_renditions
    from media.tests.images import png_bomb

    data = png_bomb(6000, 6000)
    refusal: list[float] = []
    decode: list[float] = []
    for _ in range(rounds):
        start = time.perf_counter()
        try:
            make_renditions(data)
        except BadImage:
            pass
        else:
            raise SystemExit("the bomb was not refused")
        refusal.append((time.perf_counter() - start) * 1000)
    for _ in range(max(1, rounds // 10)):  # slow: a tenth of the rounds
        start = time.perf_counter()
        Image.open(io.BytesIO(data)).load()
        decode.append((time.perf_counter() - start) * 1000)
    return len(data), statistics.median(refusal), statistics.median(decode)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=30)
    args = parser.parse_args()

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "aurum.settings")
    import django

    django.setup()
    import PIL
    from PIL import Image

    from media.processing import make_renditions

    data = camera_like_jpeg()
    make_renditions(data)  # warm-up
    floor: list[float] = []
    renditions: list[float] = []
    for _ in range(args.rounds):
        start = time.perf_counter()
        Image.open(io.BytesIO(data)).load()
        floor.append((time.perf_counter() - start) * 1000)
        start = time.perf_counter()
        result = make_renditions(data)
        renditions.append((time.perf_counter() - start) * 1000)

    floor_p50, work_p50 = statistics.median(floor), statistics.median(renditions)
    ratio = work_p50 / floor_p50
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, Pillow {PIL.__version__}"
    )
    print(f"input: 4000x3000 JPEG, {len(data) / 1e6:.1f} MB; {args.rounds} rounds, interleaved")
    print(f"floor       one full decode: p50 {floor_p50:.1f} ms")
    print(
        f"renditions  tiny+medium WebP, full JPEG: p50 {work_p50:.1f} ms, "
        f"p95 {sorted(renditions)[int(0.95 * (len(renditions) - 1))]:.1f} ms"
    )
    print(
        f"output      tiny {len(result.tiny.data) / 1e3:.0f} kB, medium "
        f"{len(result.medium.data) / 1e3:.0f} kB, full {len(result.full.data) / 1e3:.0f} kB "
        f"({result.full.width}x{result.full.height})"
    )
    bomb_bytes, bomb_refusal, bomb_decode = bomb_figures(args.rounds)
    print(
        f"bomb        {bomb_bytes / 1e3:.0f} kB PNG of 36 MP: refused in p50 "
        f"{bomb_refusal:.2f} ms; a full decode of it: p50 {bomb_decode:.0f} ms "
        f"({bomb_decode / bomb_refusal:,.0f}x)"
    )
    verdict = "meets" if ratio <= TARGET_RATIO else "MISSES"
    print(f"ratio       renditions / decode = {ratio:.2f} ({verdict} the target <= {TARGET_RATIO})")
    sys.exit(0 if ratio <= TARGET_RATIO else 1)


if __name__ == "__main__":
    main()
