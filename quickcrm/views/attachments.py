"""Card photos and voice notes, served to those who may see them (docs/cards.md). Reading a
card is the capture page's (views/capture.py); recording a voice note on a lead, the lead
page's (views/leads.py)."""

from __future__ import annotations

import io

from flask import Blueprint, abort, send_file
from flask_login import current_user

from quickcrm.db import get_session
from quickcrm.domain import attachments
from quickcrm.models import Attachment

bp = Blueprint("attachments", __name__)


@bp.app_context_processor
def _template_helpers() -> dict:
    # The contact page shows what its converted lead brought (quickcrm/domain/convert.py).
    return {"contact_attachments": lambda contact: attachments.of_contact(get_session(), contact)}


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
