"""A rep's follow-ups as an iCalendar file, for the calendar app that subscribes to their
feed (docs/domain.md, "Agenda")."""

from __future__ import annotations

from datetime import date, timedelta

from icalendar import Calendar, Event
from sqlalchemy.orm import Session

from quickcrm.domain import agenda
from quickcrm.models import User


def follow_ups(
    session: Session, user: User, *, today: date, host: str, zone: str | None = None
) -> bytes:
    """``user``'s open follow-ups as an all-day event each (``host`` makes their UIDs
    unique to this installation): what to do, for whom, and how to reach them.

    A follow-up is due on a day, not at a time: its event is a DATE value (``DTSTART;
    VALUE=DATE``), the same day in every calendar whatever its zone. ``today`` is the
    user's (their zone, ``zone``, named as the calendar's own); the stamp is UTC as the
    standard asks. QuickCRM has no timed items; one would carry a TZID of ``zone``."""
    calendar = Calendar()
    calendar.add("prodid", "-//QuickCRM//Follow-ups//EN")
    calendar.add("version", "2.0")
    calendar.add("x-wr-calname", f"QuickCRM — {user.name}")
    if zone:
        calendar.add("x-wr-timezone", zone)
    for activity in agenda.feed_activities(session, user, today):
        entry = agenda.item(activity)
        event = Event()
        event.add("uid", f"activity-{activity.id}@{host}")
        event.add("summary", f"{activity.text or activity.kind.capitalize()} — {entry.label}")
        event.add("dtstart", activity.due_on)
        event.add("dtend", activity.due_on + timedelta(days=1))
        event.add("dtstamp", activity.updated_at)
        details = [d for d in (entry.phone, entry.email) if d]
        if details:
            event.add("description", " · ".join(details))
        calendar.add_component(event)
    return calendar.to_ical()
