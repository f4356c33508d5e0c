from __future__ import annotations

import io
import struct
import zlib

import pytest
from PIL import Image, ImageFile

from aurum.api_errors import status_for
from media.processing import BadImage, make_renditions
from media.tests import images


def _status(refused: BadImage) -> int:
    """The HTTP status the upload's refusal answers with (the error kind it names)."""
    return status_for(refused.kind())


def opened(data: bytes) -> Image.Image:
    return Image.open(io.BytesIO(data))


def test_renditions_have_the_promised_sizes_and_formats():
    result = make_renditions(images.jpeg(4000, 3000))

    tiny, medium, full = (opened(r.data) for r in (result.tiny, result.medium, result.full))
    assert (tiny.format, tiny.size) == ("WEBP", (200, 200))
    assert medium.format == "WEBP" and max(medium.size) == 800
    # A 4000-px JPEG decodes at half scale (draft) and is kept at 2000 px: within the cap.
    assert full.format == "JPEG" and 1536 <= max(full.size) <= 2048
    assert full.size == (2000, 1500)


def test_large_png_is_scaled_to_the_cap():
    result = make_renditions(images.png(3000, 1000, mode="RGB"))

    assert (result.full.width, result.full.height) == (2048, 683)


def test_no_metadata_survives_in_any_rendition():
    result = make_renditions(images.jpeg(1200, 900, gps=True))

    for rendition in (result.tiny, result.medium, result.full):
        image = opened(rendition.data)
        assert images.GPS_TAG not in image.getexif()
        assert len(image.getexif()) == 0
        assert "exif" not in image.info and "icc_profile" not in image.info
        assert b"PhoneMaker" not in rendition.data


def test_exif_orientation_is_applied_before_it_is_dropped():
    result = make_renditions(images.jpeg(1200, 800, orientation=6))  # rotated 90° by the camera

    full = opened(result.full.data)
    assert full.size == (800, 1200)


@pytest.mark.parametrize(
    "data",
    [
        images.png(mode="RGBA"),
        images.png(mode="P"),
        images.png(mode="LA"),
        images.png(mode="I;16"),
        images.jpeg(mode="CMYK"),
        images.jpeg(mode="L"),
    ],
)
def test_odd_modes_become_plain_rgb(data):
    result = make_renditions(data)

    assert opened(result.full.data).mode == "RGB"


@pytest.mark.parametrize(
    ("data", "code", "status"),
    [
        (b"", "empty_file", 400),
        (b"<html><script>alert(1)</script></html>", "unsupported_media", 415),
        (b'<svg xmlns="http://www.w3.org/2000/svg"></svg>', "unsupported_media", 415),
        (images.gif_animated(), "unsupported_media", 415),
        (images.webp_animated(), "animated_image", 415),
        (images.jpeg(1600, 1200)[:2000], "corrupt_image", 400),
    ],
)
def test_bad_files_are_refused_with_a_reason(data, code, status):
    with pytest.raises(BadImage) as refused:
        make_renditions(data)

    assert (refused.value.code, _status(refused.value)) == (code, status)


@pytest.mark.parametrize("side", [7_000, 7_100, 10_000, 60_000])  # 49, 50.4, 100 MP, 3.6 GP
def test_huge_dimensions_are_refused_from_the_header_alone(side):
    # A valid PNG header claiming side x side pixels, with no pixel data behind it.
    body = b"IHDR" + struct.pack(">IIBBBBB", side, side, 8, 2, 0, 0, 0)
    header = b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + body
    header += struct.pack(">I", zlib.crc32(body))
    header += struct.pack(">I", 0) + b"IEND" + struct.pack(">I", zlib.crc32(b"IEND"))

    with pytest.raises(BadImage) as refused:
        make_renditions(header)

    assert (refused.value.code, _status(refused.value)) == ("too_many_pixels", 413)


def test_jpeg_comments_do_not_survive():
    buffer = io.BytesIO()
    Image.new("RGB", (800, 600), (10, 20, 30)).save(buffer, "JPEG", comment=b"SECRETCOMMENT")

    result = make_renditions(buffer.getvalue())

    for rendition in (result.tiny, result.medium, result.full):
        assert b"SECRETCOMMENT" not in rendition.data


def test_png_text_and_webp_metadata_do_not_survive():
    from PIL import PngImagePlugin

    info = PngImagePlugin.PngInfo()
    info.add_text("Location", "9.58N 76.52E")
    buffer = io.BytesIO()
    Image.new("RGB", (600, 400)).save(buffer, "PNG", pnginfo=info)

    result = make_renditions(buffer.getvalue())

    for rendition in (result.tiny, result.medium, result.full):
        assert b"9.58N" not in rendition.data


def test_png_text_chunk_bomb_is_refused_not_a_crash():
    chunk_data = b"Comment\x00\x00" + zlib.compress(b"A" * 50_000_000)
    chunk = struct.pack(">I", len(chunk_data)) + b"zTXt" + chunk_data
    chunk += struct.pack(">I", zlib.crc32(b"zTXt" + chunk_data))
    buffer = io.BytesIO()
    Image.new("RGB", (10, 10)).save(buffer, "PNG")
    png = buffer.getvalue()
    bomb = png[:33] + chunk + png[33:]  # after the IHDR chunk

    with pytest.raises(BadImage) as refused:
        make_renditions(bomb)

    assert _status(refused.value) in {400, 413}


def test_mpo_phone_photos_are_accepted():
    buffer = io.BytesIO()
    frames = [Image.new("RGB", (1200, 900), (i * 100, 50, 50)) for i in range(2)]
    frames[0].save(buffer, "MPO", save_all=True, append_images=frames[1:])

    result = make_renditions(buffer.getvalue())

    assert result.source_format == "MPO"
    assert (result.full.width, result.full.height) == (1200, 900)


def test_tiff_is_never_parsed():
    buffer = io.BytesIO()
    Image.new("RGB", (100, 100)).save(buffer, "TIFF")

    with pytest.raises(BadImage) as refused:
        make_renditions(buffer.getvalue())

    assert refused.value.code == "unsupported_media"


def test_heic_photos_from_iphones_are_accepted():
    buffer = io.BytesIO()
    Image.new("RGB", (1280, 960), (10, 200, 30)).save(buffer, "HEIF")

    result = make_renditions(buffer.getvalue())

    assert result.source_format == "HEIF"
    assert opened(result.full.data).format == "JPEG"
    assert (result.full.width, result.full.height) == (1280, 960)


@pytest.fixture
def no_decoding(monkeypatch):
    """Fails the test if any image's pixels are decoded."""

    def load(self):
        raise AssertionError(f"decoded a {self.size} image")

    monkeypatch.setattr(ImageFile.ImageFile, "load", load)


def test_a_small_png_that_decodes_to_36_megapixels_is_refused_without_decoding(no_decoding):
    bomb = images.png_bomb(6000, 6000)  # 107 kB; 108 MB of pixels, 346 MB to process
    assert len(bomb) < 110_000

    with pytest.raises(BadImage) as refused:
        make_renditions(bomb)

    assert (refused.value.code, _status(refused.value)) == ("too_many_pixels", 413)
    assert "file size" in refused.value.detail


def test_the_pixel_cap_is_a_setting_and_pillow_holds_the_same_one(settings, no_decoding):
    settings.MEDIA_MAX_PIXELS = 1_000_000

    with pytest.raises(BadImage) as refused:
        make_renditions(images.jpeg(1200, 900))

    assert refused.value.code == "too_many_pixels" and "1 megapixels" in refused.value.detail
    from aurum import settings as defaults

    assert Image.MAX_IMAGE_PIXELS == defaults.MEDIA_MAX_PIXELS


def test_small_images_pass_whatever_their_compression():
    # A flat 3 MP PNG is 340 pixels a byte, but decoding one costs little.
    result = make_renditions(images.png(2000, 1500, mode="RGB"))

    assert result.full.width == 2000
