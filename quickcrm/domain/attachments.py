"""Attachments of a capture: card photos and voice notes (docs/domain.md, "Attachment").

What is accepted is decided by the bytes, never by the file's name or the type the client
claims: a photo is JPEG, PNG, WebP (or HEIC, recognised to say why it is refused); a voice
note is WebM, Ogg or MP4 audio (what MediaRecorder makes in Chromium, Firefox and Safari).
Each is at most ``LIMIT`` bytes. A photo is stored upright (its EXIF orientation applied)
and without its EXIF block, so the place it was taken is not kept in it; the lead keeps
its own location only when the rep allowed it.

Functions here flush nothing and commit nothing: the capture or the view that adds an
attachment commits it with the rest of its change.
"""

from __future__ import annotations

import contextlib
import io
import threading
import warnings
from collections.abc import Iterator
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from quickcrm.domain import validation as v
from quickcrm.models import Attachment, Contact, Lead, User

MB = 1024 * 1024
# The largest photo or voice note accepted (docs/security.md, "Bad input").
LIMIT = 10 * MB
# A request that carries a capture with both a photo and a voice note, plus its fields.
CAPTURE_BODY_LIMIT = 2 * LIMIT + MB

PHOTO_TYPES = ("image/jpeg", "image/png", "image/webp")
AUDIO_TYPES = ("audio/webm", "audio/ogg", "audio/mp4")
# A card needs a few megapixels; a phone's camera takes 12, some 24: larger is refused
# before decoding (a small file can claim a huge picture: 7,000 × 7,000 px fit in 200 KB).
MAX_PIXELS = 25_000_000
# The memory one photo's decoding may take (docs/security.md, "Bad input"): its pixels as
# Pillow holds them, the copies made to shrink it, and for a JPEG of several scans
# (progressive) the whole picture's coefficients, which libjpeg keeps however small it
# decodes. A worker's peak then stays within 150 MB (bench/photo_memory.py).
DECODE_LIMIT = 128 * MB
# The longest side kept: the phone sends about 2,000 px; a photo sent without the page's
# shrinking is made this small, which is plenty to read a card again.
MAX_SIDE = 3000
# A larger JPEG is decoded at the smallest scale libjpeg offers (1/2, 1/4, 1/8) that keeps
# this many px on its long side, the size the page sends: a 12-megapixel camera photo is
# decoded as 3 megapixels, never as 12.
DRAFT_SIDE = 2000
# Photos decoded at once in a process, like the password hashes (quickcrm/domain/users.py):
# eight sent at once take one decode's memory, not eight. The others wait this long at most,
# then are refused with "try again" (429: a queued capture is sent again later).
SIMULTANEOUS_DECODES = 1
DECODE_WAIT = 5.0
_decoding = threading.BoundedSemaphore(SIMULTANEOUS_DECODES)

TOO_LARGE = "That file is larger than 10 MB."
NOT_A_PHOTO = "That is not a photo QuickCRM can read: send a JPEG, PNG or WebP picture."
HEIC = (
    "That photo is in HEIC format, which the server cannot read. The capture page turns "
    "photos into JPEG: take it there, or set the camera to “Most compatible”."
)
NOT_AUDIO = "That is not a voice recording QuickCRM can keep: send WebM, Ogg or MP4 audio."
EMPTY = "That file is empty."
TOO_MANY_PIXELS = "That photo has too many pixels: take it again at a normal size."
BUSY = "Too many photos are being read right now: send it again in a moment."


@dataclass(frozen=True)
class Prepared:
    """An attachment checked and ready to store."""

    kind: str
    content_type: str
    data: bytes


def sniff(data: bytes) -> str | None:
    """The content type of ``data`` told by its first bytes, or ``None`` when it is none of
    the photos and recordings an attachment may be (``image/heic`` is told, to explain)."""
    head = data[:64]
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head.startswith(b"OggS"):
        return "audio/ogg"
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        # EBML: Matroska, or WebM when its DocType says so.
        return "audio/webm" if b"webm" in data[:256] else None
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in (b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1"):
            return "image/heic"
        if brand in (b"M4A ", b"M4B ", b"mp41", b"mp42", b"isom", b"iso2", b"iso5", b"iso6"):
            return "audio/mp4"
        if brand in (b"dash", b"avc1", b"3gp4", b"3gp5", b"3g2a"):
            return "audio/mp4"
    return None


def _sized(data: bytes) -> bytes:
    if not data:
        raise v.Refused(EMPTY)
    if len(data) > LIMIT:
        raise v.Refused(TOO_LARGE, status=413)
    return data


def prepare_photo(data: bytes) -> Prepared:
    """A card photo as it is stored: checked by its bytes, upright, without EXIF, at most
    ``MAX_SIDE`` px long. Decoded one at a time in a process, never larger than the stored
    photo needs (and ``DECODE_LIMIT``). Raises ``validation.Refused``."""
    from PIL import Image, UnidentifiedImageError

    kind = sniff(_sized(data))
    if kind == "image/heic":
        raise v.Refused(HEIC)
    if kind not in PHOTO_TYPES:
        raise v.Refused(NOT_A_PHOTO)
    try:
        with warnings.catch_warnings():
            # Pillow's own ceiling is far above ours: a picture past it is refused as well.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            # Only the decoder of the type the bytes told.
            image = Image.open(io.BytesIO(data), formats=[kind.removeprefix("image/").upper()])
        _refuse_costly(image, data)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise v.Refused(TOO_MANY_PIXELS) from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        raise v.Refused(NOT_A_PHOTO) from None
    if not _decoding.acquire(timeout=DECODE_WAIT):
        raise v.Refused(BUSY, status=429)
    try:
        return Prepared("card_photo", kind, _stored(image, kind))
    except (OSError, SyntaxError, ValueError):
        raise v.Refused(NOT_A_PHOTO) from None
    finally:
        _decoding.release()


@contextlib.contextmanager
def one_decode() -> Iterator[None]:
    """This process's turn to work on a photo's pixels (``SIMULTANEOUS_DECODES``), as
    ``prepare_photo`` takes it: looking for a QR code in a card photo takes it too
    (quickcrm/views/capture.py). Raises ``validation.Refused`` (429) past ``DECODE_WAIT``."""
    if not _decoding.acquire(timeout=DECODE_WAIT):
        raise v.Refused(BUSY, status=429)
    try:
        yield
    finally:
        _decoding.release()


def _refuse_costly(image, data: bytes) -> None:
    """Refuse ``image`` (opened, not decoded) when decoding it would take more than
    ``MAX_PIXELS`` or ``DECODE_LIMIT``; a JPEG is set to decode at a smaller scale."""
    if image.width * image.height > MAX_PIXELS:
        raise v.Refused(TOO_MANY_PIXELS)
    cost = 0
    if image.format in ("JPEG", "MPO"):
        if _scans(image, data) > 1:
            # 2 bytes a sample (chroma may have fewer samples than the picture has pixels).
            most = max((h * v for _, h, v, _ in image.layer), default=0) or 1
            samples = sum(h * v for _, h, v, _ in image.layer) / most
            cost += 2 * image.width * image.height * samples
        image.draft(image.mode, _fitted(image.size, DRAFT_SIDE))
    # Pillow holds 4 bytes a pixel (RGB as RGBX), 1 for grey and palette pictures.
    per_pixel = 1 if image.mode in ("1", "L", "P") else 4
    width, height = image.size
    decoded = width * height * per_pixel
    # libwebp decodes into two pictures of its own, which stay with Pillow's.
    cost += decoded * (3 if image.format == "WEBP" else 1)
    if max(width, height) > MAX_SIDE:
        # Shrinking goes through a picture of the new width and the old height, and one
        # with its alpha premultiplied when there is alpha.
        new_width, new_height = _fitted(image.size, MAX_SIDE)
        cost += new_width * (height + new_height) * per_pixel
        cost += decoded if "A" in image.mode else 0
    else:
        cost += decoded  # turned upright: a copy
    if cost > DECODE_LIMIT:
        raise v.Refused(TOO_MANY_PIXELS)


def _scans(image, data: bytes) -> int:
    """The scans of a JPEG's picture: markers stand between its compressed data, where a
    0xFF byte is always followed by 0x00, and the picture ends at the first EOI."""
    if image.info.get("progressive"):
        return 2
    start = image.tile[0].offset  # after the first scan's header
    end = data.find(b"\xff\xd9", start)
    return 1 + data.count(b"\xff\xda", start, end if end >= 0 else len(data))


def _fitted(size: tuple[int, int], side: int) -> tuple[int, int]:
    """``size`` brought within ``side`` (as ``Image.thumbnail`` would make it)."""
    scale = min(1.0, side / max(size))
    return max(1, round(size[0] * scale)), max(1, round(size[1] * scale))


def _stored(image, kind: str) -> bytes:
    """``image`` decoded, made small, turned upright, saved afresh without its EXIF."""
    from PIL import ImageOps

    image.load()
    if max(image.size) > MAX_SIDE:
        # Before turning: the turn then copies the small picture, not the large one.
        image.thumbnail((MAX_SIDE, MAX_SIDE))
    ImageOps.exif_transpose(image, in_place=True)
    out = io.BytesIO()
    if kind == "image/png":
        image.save(out, "PNG", optimize=True)
    elif kind == "image/webp":
        image.save(out, "WEBP", quality=85)
    else:
        # Saved afresh without ``exif=``: no orientation left to apply, no GPS position.
        rgb = image if image.mode == "RGB" else image.convert("RGB")
        rgb.save(out, "JPEG", quality=85, optimize=True)
    return out.getvalue()


def prepare_voice_note(data: bytes) -> Prepared:
    """A voice note as it is stored (as recorded), checked by its bytes. Raises
    ``validation.Refused``."""
    kind = sniff(_sized(data))
    if kind not in AUDIO_TYPES:
        raise v.Refused(NOT_AUDIO)
    return Prepared("voice_note", kind, data)


PREPARE = {"card_photo": prepare_photo, "voice_note": prepare_voice_note}


def attach(lead: Lead, prepared: Prepared, author: User | None) -> Attachment:
    """``prepared`` kept with ``lead`` (added to the session with it, not committed)."""
    attachment = Attachment(
        kind=prepared.kind,
        content_type=prepared.content_type,
        size=len(prepared.data),
        data=prepared.data,
        author_id=author.id if author is not None else None,
        contact_id=lead.contact_id,
    )
    lead.attachments.append(attachment)
    return attachment


def of_contact(session: Session, contact: Contact) -> list[Attachment]:
    """The attachments carried to ``contact`` from the leads it was converted from."""
    return list(
        session.scalars(
            select(Attachment).where(Attachment.contact_id == contact.id).order_by(Attachment.id)
        )
    )


def may_see(user: User, attachment: Attachment) -> bool:
    """Whether ``user`` may see ``attachment``: whoever may see its lead (its owner, a
    coordinator or an admin), or — once carried to a contact — anyone, as contacts are
    seen by every user."""
    if attachment.contact_id is not None or user.can("coordinator"):
        return True
    lead = attachment.lead
    return lead is not None and lead.owner_id == user.id


def carry_to_contact(session: Session, lead: Lead, contact: Contact) -> None:
    """A converted lead's card photo and voice notes go with the contact it became (its
    page plays and shows them); they stay on the lead's page too. Not committed."""
    session.execute(
        update(Attachment)
        .where(Attachment.lead_id == lead.id)
        .values(contact_id=contact.id)
        .execution_options(synchronize_session=False)
    )
