"""What happens to a row when the row it points at goes.

Undoing a conversion removes the company, contact and opportunity it made (and the note it
copied); undoing an import removes its leads, companies and contacts. Every foreign key to
those rows was read again; one answer changes here:

- ``attachment.contact_id`` → **SET NULL**. A card photo or a voice note belongs to its lead
  (``attachment.lead_id``, CASCADE since revision 0011) and is shown on the contact the lead
  became. When that contact goes, the attachment stays with its lead. Before, the DELETE
  of the contact failed (``FOREIGN KEY constraint failed``) and undo answered 500. The undo
  itself also takes the attachments back from any contact (``domain/convert.py``), so this
  is the database's guarantee, not the path the app takes.

And why the others stay as they are (NO ACTION: the delete fails rather than losing a
link silently — the domain removes or unlinks each first, and a test covers each path):

- ``lead.company_id`` / ``contact_id`` / ``opportunity_id``: a converted lead says what it
  became; undo clears them before it deletes, and refuses while another lead was converted
  into the same records.
- ``activity.company_id`` / ``contact_id`` / ``opportunity_id``: history. Undo deletes the
  note it copied and unlinks the lead's own activities; it refuses while anyone else's
  activity is on the records (``_added_since``). A CASCADE here would delete someone's call
  log, a SET NULL could leave an activity on no record at all (``ck_activity_record``).
- ``opportunity.company_id`` / ``contact_id``: undo removes the opportunity first and
  refuses while another one uses the contact or company.
- ``contact.company_id``, ``company.merged_into_id``: undo refuses while the company has
  another contact; merged companies are never deleted.
- ``snapshot_opportunity.opportunity_id`` (CASCADE), ``offline_action.activity_id``
  (SET NULL), ``api_request.lead_id`` (SET NULL), the import tables (CASCADE): as they were.
- Links to ``user``: users are deactivated and handed over, never deleted.

SQLite changes a foreign key by copying the table (batch mode). Nothing points at
``attachment``, so dropping the old copy cascades nowhere.

Revision ID: 0017_attachment_contact_set_null
Revises: 0016_cheaper_word_starts
"""

import warnings
from collections.abc import Sequence

from alembic import op

revision: str = "0017_attachment_contact_set_null"
down_revision: str | None = "0016_cheaper_word_starts"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NAME = "fk_attachment_contact_id_contact"


def _contact_key(ondelete: str | None) -> None:
    with warnings.catch_warnings(), op.batch_alter_table("attachment") as batch:
        # Reflecting the contact table the key points at meets its expression index (0015),
        # which SQLAlchemy cannot reflect on SQLite and need not: only ``attachment`` is copied.
        warnings.filterwarnings("ignore", "Skipped unsupported reflection of expression-based")
        batch.drop_constraint(NAME, type_="foreignkey")
        batch.create_foreign_key(NAME, "contact", ["contact_id"], ["id"], ondelete=ondelete)


def upgrade() -> None:
    _contact_key("SET NULL")


def downgrade() -> None:
    _contact_key(None)
