"""Attachments are told by their bytes, limited to 10 MB, and photos are stored upright
without their EXIF block (no GPS position)."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from quickcrm.domain import attachments as a
from quickcrm.domain import validation as v

OGG = b"OggS\x00\x02" + b"\x00" * 40
WEBM = b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\x82\x84webm" + b"\x00" * 40
M4A = b"\x00\x00\x00\x20ftypM4A \x00\x00\x00\x00" + b"\x00" * 40
HEIC = b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00" + b"\x00" * 40


def jpeg(size=(40, 20), exif=None) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (200, 10, 10)).save(out, "JPEG", exif=exif or b"")
    return out.getvalue()


@pytest.mark.parametrize(
    ("data", "kind"),
    [
        (jpeg(), "image/jpeg"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 20, "image/png"),
        (b"RIFF\x00\x00\x00\x00WEBPVP8 ", "image/webp"),
        (HEIC, "image/heic"),
        (OGG, "audio/ogg"),
        (WEBM, "audio/webm"),
        (M4A, "audio/mp4"),
        (b"%PDF-1.7", None),
        (b"<html>", None),
    ],
)
def test_content_is_told_by_its_bytes(data, kind):
    assert a.sniff(data) == kind


def test_a_photo_is_turned_upright_and_loses_its_exif():
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: turn 90° to show
    exif[0x8825] = {2: (48.0, 51.0, 0.0)}  # a GPS position
    prepared = a.prepare_photo(jpeg((40, 20), exif=exif.tobytes()))
    stored = Image.open(io.BytesIO(prepared.data))
    assert stored.size == (20, 40)
    assert not stored.getexif()
    assert prepared.content_type == "image/jpeg"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", a.EMPTY),
        (b"hello, not a picture", a.NOT_A_PHOTO),
        (b"\xff\xd8\xff" + b"broken" * 10, a.NOT_A_PHOTO),
        (HEIC, a.HEIC),
        (OGG, a.NOT_A_PHOTO),
    ],
)
def test_what_is_not_a_usable_photo_is_refused_with_a_reason(data, message):
    with pytest.raises(v.Refused, match=message[:20]):
        a.prepare_photo(data)


def test_more_than_10_mb_is_refused_as_too_large():
    with pytest.raises(v.Refused) as refused:
        a.prepare_voice_note(OGG + b"\x00" * a.LIMIT)
    assert refused.value.status == 413


def test_a_voice_note_must_be_audio():
    assert a.prepare_voice_note(WEBM).content_type == "audio/webm"
    with pytest.raises(v.Refused):
        a.prepare_voice_note(jpeg())
