"""The one shape of a list's query: what a list shows (its filters and sort) and where its
page starts (the cursor), read from the URL the same way by every list — leads, companies,
contacts, opportunities — and written back the same way for the links that keep them
(the next page, *Export CSV*, review mode)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Self


@dataclass(kw_only=True)
class ListQuery:
    """A list's filters, sort and cursor. A subclass names its filters (its fields), how
    they are read from the URL (``filters_from``) and written to it (``filter_args``).

    A list URL is never refused: a value the list does not offer is left out, and a
    cursor that is not one of the list's starts at the beginning (each list decodes its
    own ``after``)."""

    # Where the page starts, as the list's "More" / "Next page" link carries it.
    after: str = ""

    @classmethod
    def from_args(cls, args: Mapping[str, str]) -> Self:
        """The query of a request's URL (``request.args``)."""
        return cls(**cls.filters_from(args), after=args.get("after") or "")

    @classmethod
    def filters_from(cls, args: Mapping[str, str]) -> dict[str, object]:
        """The list's filters and sort from ``args``, cleaned, by field name."""
        return {}

    def filter_args(self) -> dict[str, str]:
        """The list's filters and sort as URL parameters, by parameter name."""
        return {}

    def to_args(self) -> dict[str, str]:
        """The filters and sort as URL parameters, empty ones left out, without the cursor:
        for the links that keep the list (``url_for(endpoint, **query.to_args())``)."""
        return {name: value for name, value in self.filter_args().items() if value}

    @property
    def paged(self) -> bool:
        """Whether this is a later page than the first (it offers "Back to the start")."""
        return bool(self.after)
