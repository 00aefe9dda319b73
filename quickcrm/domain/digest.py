"""The coordinator's Monday digest (issue 27, point 3): what changed since the last weekly
meeting — the new leads by rep and source, the hot leads nobody has set a next action
for, the opportunities that moved stage, were won or lost — with the meeting page to open.

"Since the last meeting" is since the newest snapshot (*Start this week's meeting*,
quickcrm/domain/meeting.py); a team that never started one gets the last seven days, and
no stage moves (they are read from a snapshot)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from quickcrm.domain import meeting
from quickcrm.domain.team import Team, local_day
from quickcrm.models import Lead, MeetingSnapshot, Opportunity, User

WITHOUT_SNAPSHOT = timedelta(days=7)
LIST_LIMIT = 20


@dataclass(frozen=True)
class NewLeads:
    owner_id: int
    owner: str
    source: str | None
    count: int


@dataclass
class Digest:
    # Since when (UTC), and the team's day that was; the snapshot it compares with.
    since: datetime
    since_day: date
    snapshot: MeetingSnapshot | None
    new_leads: list[NewLeads] = field(default_factory=list)
    # Open hot leads without a next action: the first LIST_LIMIT (oldest first) and how many.
    hot_without_action: list[Lead] = field(default_factory=list)
    hot_without_action_total: int = 0
    moved: list[meeting.Change] = field(default_factory=list)
    won: list[Opportunity] = field(default_factory=list)
    lost: list[Opportunity] = field(default_factory=list)

    @property
    def new_lead_count(self) -> int:
        return sum(row.count for row in self.new_leads)

    @property
    def empty(self) -> bool:
        """Nothing to tell: no digest is sent."""
        return not (
            self.new_leads or self.hot_without_action_total or self.moved or self.won or self.lost
        )


def digest(session: Session, now: datetime, team: Team) -> Digest:
    """What changed from the last meeting's snapshot (else the last seven days) to ``now``,
    the team's meeting in the team's zone — the same for every coordinator."""
    snapshot = session.scalars(
        select(MeetingSnapshot)
        .where(MeetingSnapshot.taken_at <= now)
        .order_by(MeetingSnapshot.taken_at.desc(), MeetingSnapshot.id.desc())
        .limit(1)
    ).first()
    since = snapshot.taken_at if snapshot is not None else now - WITHOUT_SNAPSHOT
    found = Digest(since=since, since_day=local_day(since, team.zone), snapshot=snapshot)
    found.new_leads = [
        NewLeads(*row)
        for row in session.execute(
            select(User.id, User.name, Lead.source, func.count(Lead.id))
            .join(User, User.id == Lead.owner_id)
            .where(Lead.created_at >= since, Lead.created_at < now)
            .group_by(User.id, User.name, Lead.source)
            .order_by(User.name, User.id, Lead.source)
        )
    ]
    hot = (Lead.status == "open", Lead.temperature == "hot", Lead.next_action_on.is_(None))
    found.hot_without_action_total = session.scalar(select(func.count(Lead.id)).where(*hot))
    found.hot_without_action = list(
        session.scalars(
            select(Lead).where(*hot).order_by(Lead.captured_at, Lead.id).limit(LIST_LIMIT)
        )
    )
    if snapshot is not None:
        today = local_day(now, team.zone)
        changes = meeting.compare(session, snapshot, None, today, team.zone)
        found.moved, found.won, found.lost = changes.moved, changes.won, changes.lost
    return found
