"""CSV import (``/admin/import``, admins only): upload, map the columns, import with a
progress bar, read the report, undo (docs/import.md, "Import")."""

from __future__ import annotations

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    request,
    stream_with_context,
    url_for,
)
from flask_login import current_user

from quickcrm.db import get_session
from quickcrm.domain import users
from quickcrm.domain import validation as v
from quickcrm.domain.imports import choices, mapping, run
from quickcrm.models import IMPORT_KINDS, Import, User
from quickcrm.web import formats
from quickcrm.web.errors import error_response
from quickcrm.web.formats import phone_region, today
from quickcrm.web.guards import role_required
from quickcrm.web.render import get_or_404, render, wants_page

bp = Blueprint("imports", __name__, url_prefix="/admin/import")

# The largest file an admin may upload; the rest of the app keeps MAX_CONTENT_LENGTH.
UPLOAD_MAX = 50 * 1024 * 1024
# How long one progress request imports batches before it answers.
RUN_BUDGET_SECONDS = 2.0
KIND_LABELS = {"leads": "Leads", "companies": "Companies and contacts"}
# What a row that matches an existing lead or contact does (Import.on_duplicate).
DUPLICATE_CHOICES = {
    "skip": "Skip it",
    "fill": "Fill in its empty fields",
    "update": "Update it with the file's values",
}


def _upload_max() -> int:
    return int(current_app.config.get("IMPORT_MAX_BYTES", UPLOAD_MAX))


def _too_large() -> str:
    megabytes = _upload_max() // (1024 * 1024)
    return f"The file is larger than {megabytes} MB. Split it into smaller files and import each."


@bp.url_value_preprocessor
def raise_upload_limit(endpoint: str | None, _values) -> None:
    """An admin's file upload may be up to ``UPLOAD_MAX``. URL value preprocessors run
    before every ``before_request`` function, so the app's body check (quickcrm/web/inputs.py)
    sees the raised limit; anyone else, and any other kind of body, keeps the 1 MB limit
    (the form fields beside the file stay under werkzeug's 500 KB per field)."""
    if endpoint != "imports.upload" or request.method != "POST":
        return
    if request.mimetype != "multipart/form-data":
        return
    if current_user.is_authenticated and current_user.can("admin"):
        request.max_content_length = _upload_max()
        if (request.content_length or 0) > _upload_max():
            abort(413)


@bp.errorhandler(413)
def too_large(_error):
    if request.max_content_length == _upload_max():
        return error_response(413, _too_large())
    return error_response(413)


@bp.before_request
@role_required("admin")
def only_admins():
    return None


def _region() -> str | None:
    return phone_region()


def _index(status: int = 200, error: str | None = None, kind: str = "leads"):
    imports = run.recent_imports(get_session())
    return render(
        "imports/index.html",
        ["content"],
        status=status,
        imports=list(imports),
        error=error,
        kind=kind,
        kinds=KIND_LABELS,
        upload_max=_upload_max() // (1024 * 1024),
    )


@bp.get("")
def index():
    return _index()


@bp.post("")
def upload():
    kind = request.form.get("kind", "leads")
    if kind not in IMPORT_KINDS:
        kind = "leads"
    file = request.files.get("file")
    if file is None or not file.filename:
        return _index(422, "Choose a CSV or vCard file to upload.", kind)
    try:
        made = run.store_upload(get_session(), file.stream, file.filename, kind, current_user)
    except v.Refused as exc:
        return _index(422, str(exc), kind)
    get_session().commit()
    return redirect(url_for("imports.detail", import_id=made.id), 303)


def _mapping(upload: Import, data, *, strict: bool = False) -> tuple[dict, dict]:
    """What the mapping page shows for ``data`` (the query, or the posted form): the field
    chosen for each column (else the remembered or guessed one) and why, the value columns
    with what each value becomes, the value map; and the errors of the value selects
    (``choices.value_columns``)."""
    db = get_session()
    offered = choices.defaults(db, upload, day=formats.day)
    chosen = [data.get(f"column_{i}", g.field) for i, g in enumerate(offered.guesses)]
    reasons = [
        g.reason if c == g.field else choices.CHOSEN_BY_YOU
        for c, g in zip(chosen, offered.guesses, strict=True)
    ]
    allowed = mapping.FIELDS[upload.kind]
    fields = [f if f in allowed else mapping.IGNORE for f in chosen]
    columns, value_map, errors = choices.value_columns(
        db, upload, fields, data, offered.value_map, strict=strict
    )
    context = {
        "chosen": chosen,
        "reasons": reasons,
        "value_columns": {column.index: column for column in columns},
        "value_map": value_map,
        "value_choices": choices.VALUE_CHOICES,
    }
    return context, errors


def _detail(upload: Import, status: int = 200, blocks=("content",), **context):
    db = get_session()
    if upload.status == "mapping" and "chosen" not in context:
        context |= _mapping(upload, request.args)[0]
    context.setdefault("errors", {})
    context.setdefault("source", request.args.get("source", upload.source or ""))
    context.setdefault("owner_id", v.record_id(request.args.get("owner")) or upload.owner_id)
    context.setdefault("on_duplicate", request.args.get("on_duplicate", upload.on_duplicate))
    if upload.status == "mapping":
        fields = [
            f if f in mapping.FIELDS[upload.kind] else mapping.IGNORE for f in context["chosen"]
        ]
        try:
            source = v.text(context["source"], max_length=120)
        except v.Refused:
            source = None
        context["preview"] = run.preview(
            db,
            upload,
            fields,
            source=source,
            today=today(),
            region=_region(),
            value_map=context["value_map"],
        )
    return render(
        "imports/detail.html",
        list(blocks),
        status=status,
        upload=upload,
        headers=run.headers_of(upload),
        fields=mapping.FIELDS[upload.kind],
        owners=users.active_users(get_session()),
        kinds=KIND_LABELS,
        duplicate_choices=DUPLICATE_CHOICES,
        left=run.counts(db, upload) if upload.status == "done" else {},
        **context,
    )


@bp.get("/<int:import_id>")
def detail(import_id: int):
    upload = get_or_404(Import, import_id)
    preview_only = not wants_page() and request.args and upload.status == "mapping"
    # The preview, and each column's reason and values swapped beside it (out of band).
    return _detail(upload, blocks=("preview", "column_notes") if preview_only else ("content",))


@bp.post("/<int:import_id>")
def start(import_id: int):
    upload = get_or_404(Import, import_id)
    db = get_session()
    form = request.form
    shown, errors = _mapping(upload, form, strict=True)
    owner = v.chosen(db, User, form.get("owner"))
    if owner is None or not owner.active:
        errors["owner"] = "Choose who will own the records."
    try:
        source = v.text(form.get("source"), max_length=120)
    except v.Refused as exc:
        errors["source"], source = str(exc), None
    on_duplicate = form.get("on_duplicate", "skip")
    if not errors:
        try:
            run.start(
                db,
                upload,
                shown["chosen"],
                source=source,
                owner=owner,
                region=_region(),
                on_duplicate=on_duplicate,
                value_map=shown["value_map"] or None,
            )
        except v.Refused as exc:
            errors = exc.errors
        except v.Conflict as exc:
            flash(str(exc))
            return redirect(url_for("imports.detail", import_id=import_id), 303)
    if errors:
        db.rollback()
        return _detail(
            upload,
            422,
            errors=errors,
            source=form.get("source", ""),
            owner_id=v.record_id(form.get("owner")),
            on_duplicate=on_duplicate,
            **shown,
        )
    # Offered the next time a file with these headers comes (its own commit: the import
    # has started whatever happens here).
    choices.remember(
        db, upload.kind, run.headers_of(upload), run.fields_of(upload), shown["value_map"]
    )
    db.commit()
    return redirect(url_for("imports.detail", import_id=import_id), 303)


@bp.post("/<int:import_id>/run")
def run_batches(import_id: int):
    """Import the next batches for about two seconds: what the progress block's polls ask
    for (and its *Continue* button without script)."""
    upload = get_or_404(Import, import_id)
    db = get_session()
    if upload.status == "running":
        run.run(db, import_id, today=today(), region=_region(), budget=RUN_BUDGET_SECONDS)
        db.refresh(upload)
    if wants_page():
        return redirect(url_for("imports.detail", import_id=import_id), 303)
    return _detail(upload, blocks=("status",))


@bp.get("/<int:import_id>/refused.csv")
def refused_csv(import_id: int):
    """The refused rows, each with its line and reason, as CSV."""
    return _rows_csv(import_id, "refused", warnings=False)


@bp.get("/<int:import_id>/warnings.csv")
def warnings_csv(import_id: int):
    """The rows imported with a warning (e.g. a phone number kept in the note), as CSV."""
    return _rows_csv(import_id, "warnings", warnings=True)


def _rows_csv(import_id: int, name: str, *, warnings: bool) -> Response:
    upload = get_or_404(Import, import_id)
    db = get_session()

    def body():
        try:
            yield from run.refusals_csv(db, upload, warnings=warnings)
        finally:  # the download may outlive the request's own teardown: end its transaction
            db.close()

    return Response(
        stream_with_context(body()),
        mimetype="text/csv",
        headers={
            "Content-Disposition": f'attachment; filename="import-{upload.id}-{name}.csv"',
            "Cache-Control": "no-store",
        },
    )


@bp.post("/<int:import_id>/undo")
def undo(import_id: int):
    upload = get_or_404(Import, import_id)
    try:
        removed = run.undo(get_session(), upload)
    except v.Conflict as exc:
        flash(str(exc), "error")
        return redirect(url_for("imports.detail", import_id=import_id), 303)
    what = "leads" if upload.kind == "leads" else "companies and contacts"
    flash(f"Import undone: {removed} {what} removed.")
    return redirect(url_for("imports.detail", import_id=import_id), 303)
