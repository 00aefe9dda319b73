"""The capture screen (``/``): a lead in seconds, one hand, on a phone — with its card
photo read into the form (``/cards/read``) and the phone's queued captures (``/captures``)."""

from __future__ import annotations

import uuid
from datetime import datetime

from flask import (
    Blueprint,
    current_app,
    flash,
    jsonify,
    redirect,
    request,
    session,
    url_for,
)
from flask_login import current_user
from flask_wtf.csrf import generate_csrf
from jinja2_fragments.flask import render_blocks
from markupsafe import Markup

from quickcrm.db import get_session
from quickcrm.domain import attachments, cards, categories, leads
from quickcrm.domain import validation as v
from quickcrm.models import Lead, utcnow
from quickcrm.services import ocr
from quickcrm.web.errors import answers_json
from quickcrm.web.formats import phone_region, today, zone
from quickcrm.web.inputs import body_limit
from quickcrm.web.render import form_data, get_or_404, render, wants_page

bp = Blueprint("capture", __name__)

TEMPLATE = "capture/index.html"
STICKY_SOURCE = "capture_source"
# The categories chosen on the last capture, kept for the next like Source (their ids).
STICKY_CATEGORIES = "capture_categories"
LAST_SAVED = "capture_last_saved"


def _page(form: leads.LeadForm | None = None, status: int = 200, blocks=None, **context):
    db = get_session()
    if form is None:
        form = leads.LeadForm.from_mapping({"source": session.get(STICKY_SOURCE, "")})
    recent = leads.recent_captures(db, current_user)
    context.setdefault("chosen_categories", session.get(STICKY_CATEGORIES, []))
    return render(
        TEMPLATE,
        blocks or ["capture_form"],
        status=status,
        form=form,
        recent=recent,
        category_list=categories.ordered(db),
        undo_window=current_app.config["UNDO_WINDOW"],
        **context,
    )


@bp.get("/")
def index():
    # A card photo may follow: its OCR process starts now, in the background (docs/cards.md).
    # The phone's service worker asks for this page (X-QuickCRM-Shell) at each opening too.
    warm_up_ocr()
    if request.headers.get("X-QuickCRM-Shell"):
        # The copy the phone keeps (static/sw.js): no "Saved — …" or message of this visit.
        return _page(shell=True)
    saved = None
    saved_id = session.pop(LAST_SAVED, None)
    if saved_id is not None:
        lead = get_session().get(Lead, saved_id)
        saved = leads.CaptureOutcome.of(lead, created=True) if lead is not None else None
    return _page(saved=saved)


@bp.post("/")
@body_limit(attachments.CAPTURE_BODY_LIMIT)
def save():
    details = _details(request.form)
    try:
        data, files, filled_from = capture_attachments(
            request.files, form_data(), details["captured_at"]
        )
    except v.Refused as refusal:
        form = _clean(request.form)
        form.errors[refusal.field] = str(refusal)
        return _page(form, status=refusal.status, chosen_categories=_chosen(request.form))
    form = _clean(data)
    chosen = _chosen(request.form)
    if not form.ok:
        # The status says so too, replacing any "Saved — …" of the card before.
        refusal = "Not saved — check the marked fields."
        return _page(
            form,
            422,
            ["capture_form", "status"],
            refusal=refusal,
            oob=True,
            chosen_categories=chosen,
        )
    db = get_session()
    saved = _store(form, data, attachments=files, filled_from=filled_from, categories=chosen)
    if session.get(STICKY_SOURCE) != (form.values["source"] or ""):
        session[STICKY_SOURCE] = form.values["source"] or ""  # (re-signs the cookie)
    _keep_categories(chosen)
    if wants_page():
        db.commit()
        session[LAST_SAVED] = saved.lead_id
        return redirect(url_for("capture.index"), 303)
    # The recent captures, which list this one, are read in its transaction: one
    # transaction (one connection checkout) per capture, committed before the answer.
    recent = leads.recent_captures(db, current_user)
    db.commit()
    # The htmx answer (wants_page is false): the form, then "Saved — …" and the list.
    others = render_blocks(
        TEMPLATE,
        ["status", "recent"],
        saved=saved,
        recent=recent,
        oob=True,
        undo_window=current_app.config["UNDO_WINDOW"],
    )
    return _empty_form(session.get(STICKY_SOURCE, ""), session.get(STICKY_CATEGORIES, [])) + others


def _chosen(data) -> list[int]:
    """The category ids a capture names: the form's checked chips, or a queued capture's
    "3,5" (an id that is no longer a category is skipped when it is stored)."""
    values = data.getlist("categories") if hasattr(data, "getlist") else [data.get("categories")]
    return categories.chosen_ids(values)


def _keep_categories(chosen: list[int]) -> None:
    """The next capture starts with these chips on, as Source stays (a rep at an event
    tags every card of it alike)."""
    if session.get(STICKY_CATEGORIES, []) != chosen:
        session[STICKY_CATEGORIES] = chosen


# Stands for the CSRF token in a kept empty form; no typed text can become it, as the
# template escapes every "<".
_TOKEN_SLOT = "<csrf-token>"
_KEPT_FORMS_MAX = 100  # sources; past that, forms of new sources are rendered every time


def _empty_form(source: str, chosen: list[int]) -> str:
    """The empty capture form a saved capture answers with. It is the same for every
    capture from ``source`` with the same categories chosen, and the same list of
    categories, but for the session's CSRF token, so each process renders it once per
    source (docs/speed.md, "Capture under load, against the floor")."""
    kept = current_app.extensions.setdefault("quickcrm.empty_capture_forms", {})
    category_list = categories.ordered(get_session())
    listed = tuple((c.id, c.name) for c in category_list)
    key = (source, tuple(chosen), listed)
    html = kept.get(key)
    if html is None:
        slot = Markup(f'<input type="hidden" name="csrf_token" value="{_TOKEN_SLOT}">')
        html = render_blocks(
            TEMPLATE,
            ["capture_form"],
            form=leads.LeadForm.from_mapping({"source": source}),
            csrf_field=lambda: slot,
            category_list=category_list,
            chosen_categories=chosen,
        )
        if len(kept) < _KEPT_FORMS_MAX and not current_app.jinja_env.auto_reload:
            kept[key] = html
    return html.replace(_TOKEN_SLOT, generate_csrf())


@bp.post("/captures/<int:lead_id>/undo")
def undo(lead_id: int):
    db = get_session()
    lead = get_or_404(Lead, lead_id)
    name = lead.name
    try:
        leads.undo_capture(db, lead, current_user, window=current_app.config["UNDO_WINDOW"])
    except v.Conflict as refusal:
        return _page(blocks=["status"], status=409, refusal=str(refusal), oob=True)
    db.commit()
    if wants_page():
        flash(f"Removed — {name}.")
        return redirect(url_for("capture.index"), 303)
    return _page(blocks=["status", "recent"], removed=name, oob=True)


def _clean(data) -> leads.LeadForm:
    region = phone_region()
    return leads.LeadForm.clean(get_session(), data, today=today(), phone_region=region)


def _details(data) -> dict:
    """The phone's side of a capture: when it was made and, if allowed, where."""
    latitude, longitude = leads.location(data.get("latitude"), data.get("longitude"))
    return {
        "captured_at": leads.captured_time(data.get("captured_at"), now=utcnow()),
        "latitude": latitude,
        "longitude": longitude,
    }


def _store(form: leads.LeadForm, data, **extra) -> leads.CaptureOutcome:
    """Store a form capture once per the UUID the page gave it (a double tap, or a resend
    after a lost reply, shows the same lead). Not committed: the caller commits."""
    key = leads.capture_key(data.get("uuid")) or uuid.uuid4()
    details = {**_details(data), **extra}
    try:
        return leads.store_capture(get_session(), current_user, form, key, **details)
    except v.Conflict:
        # Not this rep's key: store under a fresh one, and tell nothing of the other lead.
        return leads.store_capture(get_session(), current_user, form, uuid.uuid4(), **details)


@bp.post("/captures")
@answers_json
@body_limit(attachments.CAPTURE_BODY_LIMIT)
def sync():
    """A capture queued on the phone, sent as JSON — or as multipart form data when it
    carries a card photo or a voice note — with its UUID as idempotency key: 201 when
    stored now, 200 when it already was, 422 with the field messages (a refused card photo
    or voice note, and a key that is another rep's (409), are answered by web/errors.py)."""
    if request.mimetype == "multipart/form-data":
        data = form_data()
    else:
        data = request.get_json(silent=True)
        if not isinstance(data, dict):
            return jsonify(error="Send the capture as a JSON object."), 400
    fields = {name: "" if data.get(name) is None else str(data[name]) for name in data}
    key = leads.capture_key(fields.get("uuid") or request.headers.get("Idempotency-Key"))
    if key is None:
        return jsonify(errors={"uuid": "A capture needs the UUID the phone made for it."}), 422
    details = _details(fields)
    if isinstance(data.get("categories"), list):  # JSON may send a list of ids
        fields["categories"] = ",".join(str(each) for each in data["categories"])
    chosen = _chosen(request.form if request.mimetype == "multipart/form-data" else fields)
    stored = leads.stored_capture(get_session(), current_user, key)
    if stored is None:
        fields, files, filled_from = capture_attachments(
            request.files, fields, details["captured_at"]
        )
        form = _clean(fields)
        if not form.ok:
            return jsonify(errors=form.errors), 422
        stored = leads.store_capture(
            get_session(),
            current_user,
            form,
            key,
            **details,
            attachments=files,
            filled_from=filled_from,
            categories=chosen,
        )
        get_session().commit()
        if session.get(STICKY_SOURCE) != (form.values["source"] or ""):  # as save() does
            session[STICKY_SOURCE] = form.values["source"] or ""
        _keep_categories(chosen)
    body = {
        "id": stored.lead_id,
        "uuid": str(stored.key),
        "name": stored.name,
        "url": url_for("leads.detail", lead_id=stored.lead_id),
        "created": stored.created,
    }
    return jsonify(body), 201 if stored.created else 200


# --- A card photo (docs/cards.md) --------------------------------------------------------

NOTHING_READ = "Nothing could be read from this card: type what it says. The photo is kept."
READ = "Read from the card — check each field."
READ_QR = "Filled from the QR code — exact."


def read_text(photo: bytes) -> cards.Card:
    """What the card in ``photo`` says (an upright JPEG, PNG or WebP), read by the OCR
    process. Raises ``ocr.CardUnreadable``."""
    config = current_app.config
    lines = ocr.read_lines(
        photo,
        instance_path=current_app.instance_path,
        timeout=float(config["OCR_TIMEOUT"]),
        idle=float(config["OCR_IDLE_SECONDS"]),
    )
    return cards.read_card(lines, region=phone_region())


def read_photo(photo: bytes) -> cards.Reading:
    """The capture fields a card photo gives: a QR code's contact when it holds one —
    exact, no OCR —, else the OCR's reading of the card's text (with the website of a QR
    code that holds only that). A photo is looked at one at a time in a process."""
    checks = _checks()
    with attachments.one_decode():
        found = cards.qr_in_photo(photo)
    if found is not None and found.exact:
        return cards.Reading.of_qr(found, checks)
    try:
        card = read_text(photo)
    except ocr.CardUnreadable as failure:
        return cards.Reading.of_text(None, checks, website=found, problem=str(failure))
    return cards.Reading.of_text(card, checks, website=found)


def warm_up_ocr() -> None:
    """Start the OCR process in the background unless it runs; never waits for it."""
    config = current_app.config
    if config["OCR_WARM_UP"]:
        ocr.warm_up(
            instance_path=current_app.instance_path,
            timeout=float(config["OCR_TIMEOUT"]),
            idle=float(config["OCR_IDLE_SECONDS"]),
        )


def _checks() -> dict:
    return leads.field_checks(today=today(), phone_region=phone_region())


@bp.post("/cards/warm-up")
def warm_up_card_reader():
    """The rep tapped *Card photo*: start the OCR process now if it stopped while the page
    stayed open (it stops after ``OCR_IDLE_SECONDS`` without a card), so the model loads
    while the camera is up rather than after the photo. Returns at once."""
    warm_up_ocr()
    return "", 204


@bp.post("/cards/read")
@answers_json
@body_limit(attachments.LIMIT + attachments.MB)
def read_card():
    """A card photo from the capture form → the fields read from it, as JSON, for the rep
    to check (``source`` "card") or exact from its QR code (``source`` "qr"); nothing is
    stored. A photo refused (413, 422, 429) is answered by web/errors.py; a card the OCR
    could not read is no refusal: 200, nothing read."""
    upload = request.files.get("photo")
    if upload is None:
        return jsonify(error="Send the card photo."), 422
    photo = attachments.prepare_photo(upload.read(attachments.LIMIT + 1))
    reading = read_photo(photo.data)
    if reading.source == cards.FROM_QR:
        message = READ_QR
    elif reading.problem:
        message = reading.problem  # a website from a QR code may be all there is
    else:
        message = READ if reading.fields else NOTHING_READ
    return jsonify(fields=reading.fields, message=message, source=reading.source)


def capture_attachments(
    files, fields: dict[str, str], captured_at: datetime
) -> tuple[dict[str, str], list[attachments.Prepared], str]:
    """The card photo and voice note sent with a capture, checked; the capture's fields
    filled from the card where the rep left them empty, when the card was not read on the
    phone already; and where they came from: ``cards.FROM_CARD`` (the lead is marked
    "from a card — check"), ``cards.FROM_QR`` (a QR code, read here or on the phone:
    exact) or "".

    Raises ``validation.Refused`` with the field name in ``.field``."""
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
        except v.Refused as refusal:
            raise v.Refused({name: str(refusal)}, status=refusal.status) from None
    # The page says "qr" when it filled the form from a QR code (a photo's or one scanned
    # live, static/js/qr.js) and the rep kept a field of it; "1" for a card read there.
    read_on_phone = fields.get("card_read")
    on_phone = cards.FROM_QR if read_on_phone == "qr" else ""
    photo = next((p for p in prepared if p.kind == "card_photo"), None)
    if photo is None:
        return fields, prepared, on_phone
    read: dict[str, str] = {}
    source = cards.FROM_CARD
    if read_on_phone not in ("1", "qr"):
        try:
            reading = read_photo(photo.data)
        except v.Refused as refusal:  # busy looking at other photos: 429, send it again
            raise v.Refused({"card_photo": str(refusal)}, status=refusal.status) from None
        read = reading.fields
        source = reading.source or cards.FROM_CARD
    elif (fields.get("name") or "").strip():
        return fields, prepared, on_phone  # read on the phone and checked by the rep
    local = captured_at.astimezone(zone())  # the rep's zone, like their "today"
    return cards.fill_fields(fields, read, when=local), prepared, source
