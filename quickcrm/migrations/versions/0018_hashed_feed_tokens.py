"""Calendar feed secrets are kept as their SHA-256, as API tokens are.

``user.ical_token`` held the secret of each user's feed address in plain text: anyone with
a copy of the database (a backup, a leaked file) could read everyone's follow-ups. It now
holds the hex SHA-256 of the secret (64 characters: the column's size), and the feed looks
the hash up. Existing addresses keep working: their secrets are hashed here.

Downgrade cannot give the secrets back: every feed address ends (the column is emptied) and
each user makes a new one on the calendar page.

Revision ID: 0018_hashed_feed_tokens
Revises: 0017_attachment_contact_set_null
"""

import hashlib
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018_hashed_feed_tokens"
down_revision: str | None = "0017_attachment_contact_set_null"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

USER = sa.table("user", sa.column("id", sa.Integer), sa.column("ical_token", sa.String(64)))


def upgrade() -> None:
    bind = op.get_bind()
    rows = bind.execute(
        sa.select(USER.c.id, USER.c.ical_token).where(USER.c.ical_token.is_not(None))
    )
    for user_id, secret in rows.all():
        digest = hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()
        bind.execute(sa.update(USER).where(USER.c.id == user_id).values(ical_token=digest))


def downgrade() -> None:
    op.execute(sa.update(USER).values(ical_token=None))
