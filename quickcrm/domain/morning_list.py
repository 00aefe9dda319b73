"""The morning list (issue 27): what a user has to do, as their agenda says it on their
morning — overdue, due today, due tomorrow — for the email (and the phone's notification)
that reaches a rep who does not open the app. Only the user's own items: the activities
assigned to them, as on their agenda."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy.orm import Session

from quickcrm.domain import agenda
from quickcrm.models import User

# The sections of the morning list, in the order the email shows them.
SECTIONS = ("overdue", "today", "tomorrow")
# Items a section shows; more are counted and left to the agenda's page.
SECTION_LIMIT = 30


@dataclass
class MorningList:
    user: User
    # The user's own day it is for.
    day: date
    overdue: agenda.Section
    today: agenda.Section
    tomorrow: agenda.Section

    @property
    def sections(self) -> list[agenda.Section]:
        return [self.overdue, self.today, self.tomorrow]

    @property
    def empty(self) -> bool:
        """Nothing overdue, today or tomorrow: no email is sent."""
        return not any(section.total for section in self.sections)

    @property
    def count(self) -> int:
        return sum(section.total for section in self.sections)


def morning_list(
    session: Session, user: User, day: date, limit: int = SECTION_LIMIT
) -> MorningList:
    """``user``'s open activities due before ``day``, on it and the day after — the
    agenda's items, with their links and the lead's note's first line."""
    found = {key: agenda.section(session, user.id, key, day, limit=limit) for key in SECTIONS}
    return MorningList(user=user, day=day, **found)
