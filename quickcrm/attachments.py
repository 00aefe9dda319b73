"""Card photos and voice notes: reading a card to fill the capture form, the attachments
a capture brings, recording a voice note on a lead's page, and serving the files to those
who may see them (README, "Card photos and voice notes")."""

from __future__ import annotations

import io
from datetime import datetime

from flask import Blueprint, abort, current_app, jsonify, redirect, request, send_file, url_for
from flask_login import current_user

from quickcrm import ocr
from quickcrm.db import get_session
from quickcrm.domain import attachments, cards, leads
from quickcrm.inputs import body_limit
from quickcrm.leads import TEMPLATE, _detail_context, _lead_for
from quickcrm.models import Attachment, Lead
from quickcrm.web import render, today, wants_page

bp = Blueprint("attachments", __name__)

NOTHING_READ = "Nothing could be read from this card: type what it says. The photo is kept."
READ = "Read from the card — check each field."


def read_photo(photo: bytes) -> cards.Card:
    """What the card in ``photo`` says (an upright JPEG, PNG or WebP). Raises
    ``ocr.CardUnreadable``."""
    config = current_app.config
    lines = ocr.read_lines(
        photo,
        instance_path=current_app.instance_path,
        timeout=float(config["OCR_TIMEOUT"]),
        idle=float(config["OCR_IDLE_SECONDS"]),
    )
    return cards.read_card(lines, region=config["PHONE_REGION"])


def _checks() -> dict:
    return leads.field_checks(today=today(), phone_region=current_app.config["PHONE_REGION"])


@bp.app_context_processor
def _template_helpers() -> dict:
    # The contact page shows what its converted lead brought (quickcrm/domain/convert.py).
    return {"contact_attachments": lambda contact: attachments.of_contact(get_session(), contact)}


@bp.post("/cards/read")
@body_limit(attachments.LIMIT + attachments.MB)
def read():
    """A card photo from the capture form → the fields read from it, as JSON, for the rep
    to check; nothing is stored."""
    upload = request.files.get("photo")
    if upload is None:
        return jsonify(error="Send the card photo."), 422
    try:
        photo = attachments.prepare_photo(upload.read(attachments.LIMIT + 1))
        card = read_photo(photo.data)
    except attachments.Refused as refusal:
        return jsonify(error=str(refusal)), refusal.status
    except ocr.CardUnreadable as failure:
        return jsonify(fields={}, message=str(failure))
    fields = cards.form_fields(card, _checks())
    return jsonify(fields=fields, message=READ if fields else NOTHING_READ)


def capture_attachments(
    files, fields: dict[str, str], captured_at: datetime
) -> tuple[dict[str, str], list[attachments.Prepared], bool]:
    """The card photo and voice note sent with a capture, checked; the capture's fields
    filled from the card where the rep left them empty, when the card was not read on the
    phone already; and whether the lead is marked "from a card — check".

    Raises ``attachments.Refused`` with the field name in ``.field``."""
    prepared = []
    for name in ("card_photo", "voice_note"):
        upload = files.get(name)
        if upload is None:
            continue
        data = upload.read(attachments.LIMIT + 1)
        if not data and not upload.filename:
            continue  # an empty file input of the no-JavaScript form
        try:
            prepared.append(attachments.PREPARE[name](data))
        except attachments.Refused as refusal:
            raise attachments.Refused(str(refusal), refusal.status, field=name) from None
    photo = next((p for p in prepared if p.kind == "card_photo"), None)
    if photo is None:
        return fields, prepared, False
    card = None
    if fields.get("card_read") != "1":
        try:
            card = read_photo(photo.data)
        except ocr.CardUnreadable:
            card = None
    elif (fields.get("name") or "").strip():
        return fields, prepared, False  # read on the phone and checked by the rep
    local = captured_at.astimezone()  # the server's time zone, like its "today"
    return cards.fill_capture(fields, card, checks=_checks(), when=local), prepared, True


def _lead_page(lead: Lead, status: int = 200, **extra):
    """The lead page's attachments (and, out of band, its heading with the card mark)."""
    blocks = ["attachments", "lead_heading"]
    context = _detail_context(lead, heading_oob=True, **extra)
    return render(TEMPLATE, blocks, status=status, **context)


@bp.post("/leads/<int:lead_id>/voice-notes")
@body_limit(attachments.LIMIT + attachments.MB)
def add_voice_note(lead_id: int):
    """A voice note recorded on a lead's page."""
    lead = _lead_for(lead_id)
    refusal = leads.edit_refusal(lead)
    if refusal:
        return _lead_page(lead, status=409, attachment_error=refusal)
    upload = request.files.get("voice_note")
    try:
        if upload is None:
            raise attachments.Refused("Record a voice note first.")
        note = attachments.prepare_voice_note(upload.read(attachments.LIMIT + 1))
    except attachments.Refused as refusal:
        return _lead_page(lead, status=refusal.status, attachment_error=str(refusal))
    attachments.attach(lead, note, current_user)
    get_session().commit()
    if wants_page():
        return redirect(url_for("leads.detail", lead_id=lead.id, _anchor="attachments"), 303)
    return _lead_page(lead, attachment_saved="Voice note saved.")


@bp.post("/leads/<int:lead_id>/card-checked")
def card_checked(lead_id: int):
    """The rep or coordinator checked the fields read from the card: the mark goes."""
    lead = _lead_for(lead_id)
    lead.from_card = False
    get_session().commit()
    if wants_page():
        return redirect(url_for("leads.detail", lead_id=lead.id), 303)
    return _lead_page(lead, attachment_saved="Marked as checked.")


@bp.get("/attachments/<int:attachment_id>")
def show(attachment_id: int):
    """The photo or recording itself, to whoever may see its lead or contact."""
    attachment = get_session().get(Attachment, attachment_id)
    if attachment is None:
        abort(404)
    if not attachments.may_see(current_user, attachment):
        abort(403)
    response = send_file(
        io.BytesIO(attachment.data),
        mimetype=attachment.content_type,
        conditional=True,
        etag=f"attachment-{attachment.id}-{attachment.size}",
        max_age=3600,
    )
    response.headers["Cache-Control"] = "private, max-age=3600"
    response.headers["Content-Disposition"] = "inline"
    return response
