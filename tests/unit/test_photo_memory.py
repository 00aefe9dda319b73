"""A card photo costs a worker little memory whatever it claims to be: a picture with too
many pixels is refused before it is decoded, a large JPEG is decoded at a smaller scale and
made small before it is turned upright, and photos are decoded one at a time in a process
(docs/security.md, "Bad input"; bench/photo_memory.py has the figures)."""

from __future__ import annotations

import io
import struct
import threading
import zlib

import pytest
from PIL import Image, ImageFile, ImageOps

from quickcrm.domain import attachments as a
from quickcrm.domain import validation as v

ORIENTATION = 0x0112


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def png_of_nothing(width: int, height: int, colour_type: int = 0) -> bytes:
    """A valid PNG of ``width`` × ``height`` blank pixels, a few hundred KB at most: grey
    (0), RGB (2) or RGBA (6); made a row at a time, never whole in memory here."""
    channels = {0: 1, 2: 3, 6: 4}[colour_type]
    packer = zlib.compressobj(9)
    row = bytes(1 + width * channels)
    idat = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()
    header = struct.pack(">IIBBBBB", width, height, 8, colour_type, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", idat)
        + _chunk(b"IEND", b"")
    )


def jpeg(size, *, orientation=None, progressive=False, halves=False, subsampling=-1) -> bytes:
    """A JPEG; with ``halves`` its left half red and its right half blue."""
    image = Image.new("RGB", size, (200, 10, 10))
    if halves:
        image.paste((10, 10, 200), (size[0] // 2, 0, size[0], size[1]))
    exif = Image.Exif()
    if orientation:
        exif[ORIENTATION] = orientation
    out = io.BytesIO()
    exif = exif.tobytes()
    image.save(out, "JPEG", quality=90, exif=exif, progressive=progressive, subsampling=subsampling)
    return out.getvalue()


def claiming(photo: bytes, width: int, height: int) -> bytes:
    """``photo`` (a progressive JPEG) with a header that claims ``width`` × ``height``."""
    at = photo.index(b"\xff\xc2") + 5  # SOF2: length, precision, then height and width
    return photo[:at] + struct.pack(">HH", height, width) + photo[at + 4 :]


@pytest.fixture
def decodes(monkeypatch):
    """The pictures Pillow decoded during the test (their size when decoded)."""
    seen = []
    load = ImageFile.ImageFile.load

    def counted(image):
        if image.tile:  # not yet decoded
            seen.append(image.size)
        return load(image)

    monkeypatch.setattr(ImageFile.ImageFile, "load", counted)
    return seen


def test_a_small_png_of_7000_by_7000_pixels_is_refused_without_being_decoded(decodes):
    bomb = png_of_nothing(7000, 7000)
    assert len(bomb) < 300_000
    with pytest.raises(v.Refused) as refused:
        a.prepare_photo(bomb)
    assert str(refused.value) == a.TOO_MANY_PIXELS
    assert refused.value.status == 422
    assert decodes == []


@pytest.mark.parametrize(
    "photo",
    [
        pytest.param(lambda: png_of_nothing(3600, 3600, 6), id="RGBA PNG, 13 megapixels"),
        pytest.param(lambda: png_of_nothing(4000, 5000, 2), id="RGB PNG, 20 megapixels"),
        pytest.param(
            lambda: claiming(jpeg((64, 48), progressive=True, subsampling=0), 5712, 4284),
            id="progressive JPEG, 24 megapixels",
        ),
    ],
)
def test_a_picture_within_the_pixel_ceiling_that_would_cost_too_much_to_decode_is_refused(
    photo, decodes
):
    with pytest.raises(v.Refused, match=a.TOO_MANY_PIXELS[:30]):
        a.prepare_photo(photo())
    assert decodes == []


def test_a_large_exif_rotated_jpeg_is_decoded_at_a_smaller_scale_and_stored_upright(decodes):
    # A 12-megapixel camera photo turned on its side, sent without the page's shrinking.
    photo = jpeg((4032, 3024), orientation=6, halves=True)
    prepared = a.prepare_photo(photo)
    assert decodes == [(2016, 1512)]  # a quarter of its pixels, never all of them
    stored = Image.open(io.BytesIO(prepared.data))
    assert stored.size == (1512, 2016)  # upright: taller than wide
    assert not stored.getexif()
    # Turned a quarter clockwise: the left (red) half is now on top.
    red, _, blue = stored.convert("RGB").getpixel((756, 400))
    assert red > 150 and blue < 60
    red, _, blue = stored.convert("RGB").getpixel((756, 1600))
    assert blue > 150 and red < 60


def test_a_huge_jpeg_is_made_no_longer_than_max_side():
    photo = jpeg((6400, 3200), orientation=8)
    stored = Image.open(io.BytesIO(a.prepare_photo(photo).data))
    assert stored.size == (1500, 3000)


def _as_before(data: bytes, kind: str) -> bytes:
    """What prepare_photo made of a photo before decoding was bounded."""
    image = Image.open(io.BytesIO(data))
    image.load()
    upright = ImageOps.exif_transpose(image)
    if max(upright.size) > a.MAX_SIDE:
        upright.thumbnail((a.MAX_SIDE, a.MAX_SIDE))
    out = io.BytesIO()
    if kind == "PNG":
        upright.save(out, "PNG", optimize=True)
    else:
        upright.convert("RGB").save(out, "JPEG", quality=85, optimize=True)
    return out.getvalue()


@pytest.mark.parametrize(
    ("photo", "kind"),
    [
        pytest.param(lambda: jpeg((2000, 1125), halves=True), "JPEG", id="the page's JPEG"),
        pytest.param(lambda: jpeg((1125, 2000), orientation=6), "JPEG", id="turned JPEG"),
        pytest.param(lambda: jpeg((1600, 1200), progressive=True), "JPEG", id="progressive"),
        pytest.param(lambda: png_of_nothing(1200, 800, 2), "PNG", id="PNG"),
        pytest.param(lambda: png_of_nothing(2800, 2800, 6), "PNG", id="RGBA PNG"),
    ],
)
def test_a_normal_card_photo_is_stored_as_it_was_before(photo, kind):
    data = photo()
    assert a.prepare_photo(data).data == _as_before(data, kind)


def test_a_photo_sent_while_another_is_decoded_waits_then_is_asked_again(monkeypatch):
    monkeypatch.setattr(a, "DECODE_WAIT", 0.05)
    for _ in range(a.SIMULTANEOUS_DECODES):
        assert a._decoding.acquire(timeout=1)  # photos being decoded in other threads
    try:
        with pytest.raises(v.Refused) as refused:
            a.prepare_photo(jpeg((200, 100)))
    finally:
        for _ in range(a.SIMULTANEOUS_DECODES):
            a._decoding.release()
    assert str(refused.value) == a.BUSY
    assert refused.value.status == 429  # a queued capture is sent again later
    assert a.prepare_photo(jpeg((200, 100))).content_type == "image/jpeg"


def test_eight_photos_at_once_are_decoded_at_most_simultaneous_decodes_at_a_time(monkeypatch):
    stored = a._stored
    inside, most = [0], [0]
    lock = threading.Lock()

    def counted(image, kind):
        with lock:
            inside[0] += 1
            most[0] = max(most[0], inside[0])
        try:
            return stored(image, kind)
        finally:
            with lock:
                inside[0] -= 1

    monkeypatch.setattr(a, "_stored", counted)
    photo = jpeg((3000, 2000), orientation=6)
    start = threading.Barrier(8)
    answers = []

    def send():
        start.wait()
        answers.append(a.prepare_photo(photo).content_type)

    threads = [threading.Thread(target=send) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert answers == ["image/jpeg"] * 8  # queued, not refused: each takes little time
    assert most[0] == a.SIMULTANEOUS_DECODES == 1
