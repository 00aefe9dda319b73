"""Data out: the lists' *Export CSV* downloads and Admin → *Download backup*.

Each list export keeps the list's filters and shows what the list shows the signed-in user
(a rep's leads export holds only their leads); activities and the backup are for admins.
The files are streamed as they are read (see ``quickcrm.domain.exports`` and
``quickcrm.domain.backup``).
"""

from __future__ import annotations

from collections.abc import Generator, Iterator

from flask import Blueprint, Response, current_app, request
from flask_login import current_user

from quickcrm.db import get_engine, get_session
from quickcrm.domain import backup, companies, exports, leads, opportunities
from quickcrm.web.formats import today, viewer_days
from quickcrm.web.guards import role_required

bp = Blueprint("exports", __name__)


def _download(body, filename: str, mimetype: str) -> Response:
    return Response(
        body,
        mimetype=mimetype,
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "no-store",
            # Send each chunk as it is written, even behind nginx.
            "X-Accel-Buffering": "no",
        },
    )


def _csv(export: exports.Export) -> Response:
    # The rows are read after the view has returned and its session was closed: the
    # download has a session of its own. The statement runs now, so a refused one is an
    # error page, not a file cut short.
    db = current_app.extensions["quickcrm.sessionmaker"]()
    try:
        chunks = exports.stream(db, export)
        first = next(chunks)
    except BaseException:
        db.close()
        raise
    body = Download(first, chunks, db.close)
    return _download(body, export.filename(today()), "text/csv")


class Download:
    """A download's chunks: ``first``, then ``rest``. When it ends or is cut off (the WSGI
    server closes it), ``rest`` and then ``close`` are closed: the snapshot, the cursor and
    the connection are given back."""

    def __init__(self, first: bytes, rest: Generator[bytes, None, None], close=None):
        self.first, self.rest, self.on_close = first, rest, close
        self.closed = False

    def __iter__(self) -> Iterator[bytes]:
        try:
            yield self.first
            yield from self.rest
        finally:
            self.close()

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        try:
            self.rest.close()
        finally:
            if self.on_close is not None:
                self.on_close()


@bp.get("/leads/export.csv")
def leads_csv():
    query = leads.LeadQuery.from_args(request.args)
    return _csv(exports.lead_export(get_session(), query, current_user, **viewer_days()))


@bp.get("/companies/export.csv")
def companies_csv():
    return _csv(exports.company_export(companies.CompanyQuery.from_args(request.args)))


@bp.get("/contacts/export.csv")
def contacts_csv():
    return _csv(exports.contact_export(companies.ContactQuery.from_args(request.args)))


@bp.get("/opportunities/export.csv")
def opportunities_csv():
    query = opportunities.OpportunityQuery.from_args(request.args)
    return _csv(exports.opportunity_export(query))


@bp.get("/admin/activities.csv")
@role_required("admin")
def activities_csv():
    return _csv(exports.activity_export())


@bp.get("/admin/backup.json")
@role_required("admin")
def backup_json():
    """The JSON backup of the whole database, the same as ``flask backup`` writes on
    PostgreSQL."""
    chunks = backup.json_backup(get_engine())
    # The snapshot is taken now, so a failure is an error page, not a truncated file.
    first = next(chunks)
    filename = f"quickcrm-backup-{today().isoformat()}.json"
    return _download(Download(first, chunks), filename, "application/json")
