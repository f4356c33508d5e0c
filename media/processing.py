"""Photo renditions with Pillow: checked by content, oriented, stripped of metadata, fast.

tiny    about 200x200 WebP, centre square (cards, lists)
medium  fits 800x800, WebP (profile pages)
full    long edge at most 2048 (at least 1536 when the photo is that large), JPEG

JPEGs are decoded at reduced scale (`draft`) when the full size is not needed, so a 12 MP
photo never decodes at full size. No EXIF, ICC or XMP block is written to any rendition: a GPS
position in a photo's header can lead someone to a member's door.
"""

from __future__ import annotations

import io
import struct
import warnings
from dataclasses import dataclass

from django.conf import settings
from PIL import Image, ImageOps, UnidentifiedImageError
from pillow_heif import register_heif_opener

from aurum.errors import DomainError, Invalid, TooLarge, Unsupported

# MPO is a JPEG with extra frames (iPhone HDR, depth photos): its first frame is the photo.
ACCEPTED_FORMATS = ("JPEG", "MPO", "PNG", "WEBP", "HEIF")
PARSERS = ("JPEG", "PNG", "WEBP", "HEIF")  # Pillow's JPEG parser also yields MPO
Image.init()  # register every plugin once, so `formats=` below can name WEBP
register_heif_opener()  # iPhones' HEIC photos
# Pillow's own bomb check (a warning, turned into a refusal below, then an error at twice the
# cap) follows the same cap as the header check in `_open`.
Image.MAX_IMAGE_PIXELS = settings.MEDIA_MAX_PIXELS
# Up to this many pixels an image passes whatever its file size: decoding one costs at most
# ~50 MB and ~0.15 s, and flat screenshots or graphics that small compress far beyond any
# photo. Above it an image must bring a byte per MEDIA_MAX_PIXELS_PER_BYTE pixels.
SMALL_PIXELS = 4_000_000
TINY = 200
MEDIUM = 800
FULL = 2048
# Measured on bench/images.py's 12 MP photo (800 px medium): WebP method 0 encoded in 36 ms
# against 113 ms for method 4 and 419 ms for 6, with a file no larger (156 kB vs 163 kB).
# A baseline JPEG took 18 ms against 119 ms optimized+progressive: the full rendition is
# fetched only when a member opens the photo, so encoding speed wins.
WEBP_MEDIUM = {"quality": 80, "method": 0}
WEBP_TINY = {"quality": 75, "method": 0}
JPEG_FULL = {"quality": 85}
# Decode a JPEG at 1/2, 1/4 or 1/8 scale while its long edge stays at least this long.
DRAFT_MIN_EDGE = 1536


class BadImage(ValueError):
    """Why an upload is refused; `kind` is the domain error the upload service raises."""

    def __init__(self, detail: str, code: str, kind: type[DomainError] = Invalid) -> None:
        super().__init__(detail)
        self.detail, self.code, self.kind = detail, code, kind


@dataclass(frozen=True)
class Rendition:
    data: bytes
    width: int
    height: int
    content_type: str
    extension: str


@dataclass(frozen=True)
class Renditions:
    tiny: Rendition
    medium: Rendition
    full: Rendition
    source_format: str


def _open(data: bytes) -> Image.Image:
    if not data:
        raise BadImage("The file is empty.", "empty_file")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            # Only these parsers ever see the bytes: no TIFF, EPS or PSD code runs on uploads.
            image = Image.open(io.BytesIO(data), formats=PARSERS)
    except (Image.DecompressionBombWarning, Image.DecompressionBombError):
        raise BadImage(_too_many_pixels(), "too_many_pixels", TooLarge) from None
    except UnidentifiedImageError:
        raise BadImage(
            "This is not a photo we can read: send a JPEG, PNG, WebP or HEIC.",
            "unsupported_media",
            Unsupported,
        ) from None
    except (ValueError, OSError, SyntaxError, struct.error):  # e.g. a text-chunk bomb in a PNG
        raise BadImage("The photo file is damaged or incomplete.", "corrupt_image") from None
    if image.format not in ACCEPTED_FORMATS:
        raise BadImage(
            f"{image.format} files are not accepted: send a JPEG, PNG or WebP.",
            "unsupported_media",
            Unsupported,
        )
    _check_size(image.size, len(data))  # from the header: nothing is decoded yet
    if image.format == "MPO":
        image.seek(0)
    elif getattr(image, "is_animated", False):
        raise BadImage("Animated images are not accepted.", "animated_image", Unsupported)
    return image


def _too_many_pixels() -> str:
    return f"The photo has more than {settings.MEDIA_MAX_PIXELS // 1_000_000} megapixels."


def _check_size(size: tuple[int, int], file_bytes: int) -> None:
    """Refuse an image too large to decode, or one whose pixels are out of proportion to its
    file (a decompression bomb: a 107 kB PNG of 36 MP took 1.3 s and 346 MB to process).
    Real photos carry a byte per 4-25 pixels (JPEG, HEIC, WebP from phones)."""
    pixels = size[0] * size[1]
    if pixels > settings.MEDIA_MAX_PIXELS:
        raise BadImage(_too_many_pixels(), "too_many_pixels", TooLarge)
    if pixels > SMALL_PIXELS and pixels > settings.MEDIA_MAX_PIXELS_PER_BYTE * file_bytes:
        raise BadImage(
            f"The photo has {pixels / 1_000_000:.0f} megapixels in a file size that no photo "
            "that large has: send the photo as the camera saved it, or a smaller copy.",
            "too_many_pixels",
            TooLarge,
        )


def _to_rgb(image: Image.Image) -> Image.Image:
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):
        image = image.point(lambda value: value / 256).convert("L")
    if image.mode in ("RGBA", "LA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGB", rgba.size, (255, 255, 255))
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    if image.mode == "RGB":
        return image
    return image.convert("RGB")  # CMYK, L, P, YCbCr… all become plain RGB


def _encode(image: Image.Image, fmt: str, options: dict[str, object]) -> Rendition:
    # Pillow carries some source metadata (a JPEG comment, for one) through `info`: clear it.
    image.info.clear()
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)  # no exif=, icc_profile=: metadata is not carried over
    content_type, extension = {"WEBP": ("image/webp", "webp"), "JPEG": ("image/jpeg", "jpg")}[fmt]
    return Rendition(buffer.getvalue(), image.width, image.height, content_type, extension)


def make_renditions(data: bytes) -> Renditions:
    image = _open(data)
    source_format = image.format or ""
    if source_format in ("JPEG", "MPO"):
        # Decode at 1/2, 1/4 or 1/8 scale while the long edge stays >= DRAFT_MIN_EDGE: a
        # 12 MP photo decodes at 2000x1500 instead of 4000x3000.
        width, height = image.size
        factor = DRAFT_MIN_EDGE / max(width, height)
        if factor < 1:
            image.draft("RGB", (max(1, int(width * factor)), max(1, int(height * factor))))
    try:
        image.load()
    except (OSError, SyntaxError, ValueError) as exc:
        raise BadImage("The photo file is damaged or incomplete.", "corrupt_image") from exc
    image = _to_rgb(ImageOps.exif_transpose(image))  # the camera's orientation, before EXIF goes

    full = image
    if max(full.size) > FULL:
        full = full.copy()
        full.thumbnail((FULL, FULL), Image.Resampling.LANCZOS, reducing_gap=3.0)
    medium = full.copy()
    medium.thumbnail((MEDIUM, MEDIUM), Image.Resampling.LANCZOS, reducing_gap=3.0)
    tiny = ImageOps.fit(medium, (TINY, TINY), Image.Resampling.LANCZOS, centering=(0.5, 0.5))
    return Renditions(
        tiny=_encode(tiny, "WEBP", WEBP_TINY),
        medium=_encode(medium, "WEBP", WEBP_MEDIUM),
        full=_encode(full, "JPEG", JPEG_FULL),
        source_format=source_format,
    )
