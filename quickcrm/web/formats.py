"""How values are written for a person: dates relative to today, amounts of money."""

from __future__ import annotations

from datetime import date


def today() -> date:
    """The server's today; views pass it to domain rules that need one."""
    return date.today()


def friendly_date(when: date) -> str:
    """ "today", "tomorrow", a weekday within the week, else "Mon 30 Nov"."""
    days = (when - today()).days
    if days == 0:
        return "today"
    if days == 1:
        return "tomorrow"
    if days == -1:
        return "yesterday"
    if 1 < days < 7:
        return when.strftime("%A")
    return when.strftime("%a %d %b %Y" if when.year != today().year else "%a %d %b")


def amount(value, cents: bool = False, signed: bool = False) -> str:
    """How every page writes an amount (the ``money`` filter): thousands separated, whole
    units unless ``cents``, with its sign when ``signed`` (a change)."""
    return format(value, ("+" if signed else "") + (",.2f" if cents else ",.0f"))
