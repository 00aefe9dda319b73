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

import io
import warnings
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
# Pillow would decode a picture of this many pixels into some 200 MB: larger is refused
# before decoding (a small file can claim a huge picture).
MAX_PIXELS = 50_000_000
# The longest side kept: the phone sends about 2,000 px; a photo sent without the page's
# shrinking is made this small, which is plenty to read a card again.
MAX_SIDE = 3000

TOO_LARGE = "That file is larger than 10 MB."
NOT_A_PHOTO = "That is not a photo QuickCRM can read: send a JPEG, PNG or WebP picture."
HEIC = (
    "That photo is in HEIC format, which the server cannot read. The capture page turns "
    "photos into JPEG: take it there, or set the camera to “Most compatible”."
)
NOT_AUDIO = "That is not a voice recording QuickCRM can keep: send WebM, Ogg or MP4 audio."
EMPTY = "That file is empty."


class Refused(v.Refused):
    """An attachment that cannot be kept: the one refusal type, keyed by the file input
    once the caller knows it. ``status`` is the HTTP status that says it: 413 for a file
    too large, else 422."""

    def __init__(self, message: str, status: int = 422, field: str = ""):
        super().__init__({field: message})
        self.status = status


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
        raise Refused(EMPTY)
    if len(data) > LIMIT:
        raise Refused(TOO_LARGE, status=413)
    return data


def prepare_photo(data: bytes) -> Prepared:
    """A card photo as it is stored: checked by its bytes, upright, without EXIF, at most
    ``MAX_SIDE`` px long. Raises ``Refused``."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    kind = sniff(_sized(data))
    if kind == "image/heic":
        raise Refused(HEIC)
    if kind not in PHOTO_TYPES:
        raise Refused(NOT_A_PHOTO)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            if image.width * image.height > MAX_PIXELS:
                raise Refused("That photo has too many pixels: take it again at a normal size.")
            image.load()
            upright = ImageOps.exif_transpose(image)
    except (
        UnidentifiedImageError,
        OSError,
        SyntaxError,
        ValueError,
        Image.DecompressionBombError,
        Image.DecompressionBombWarning,
    ) as exc:
        if isinstance(exc, Refused):
            raise
        raise Refused(NOT_A_PHOTO) from None
    if max(upright.size) > MAX_SIDE:
        upright.thumbnail((MAX_SIDE, MAX_SIDE))
    out = io.BytesIO()
    if kind == "image/png":
        upright.save(out, "PNG", optimize=True)
    elif kind == "image/webp":
        upright.save(out, "WEBP", quality=85)
    else:
        # Saved afresh without ``exif=``: no orientation left to apply, no GPS position.
        upright.convert("RGB").save(out, "JPEG", quality=85, optimize=True)
    return Prepared("card_photo", kind, out.getvalue())


def prepare_voice_note(data: bytes) -> Prepared:
    """A voice note as it is stored (as recorded), checked by its bytes. Raises ``Refused``."""
    kind = sniff(_sized(data))
    if kind not in AUDIO_TYPES:
        raise Refused(NOT_AUDIO)
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


def of_company(session: Session, company_id: int) -> list[Attachment]:
    """The attachments of the contacts of a company."""
    return list(
        session.scalars(
            select(Attachment)
            .join(Contact, Contact.id == Attachment.contact_id)
            .where(Contact.company_id == company_id)
            .order_by(Attachment.id)
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
