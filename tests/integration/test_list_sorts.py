"""The lists' column headers sort them (a desk's table): each header a link that keeps the
filters, ``aria-sort`` on the sorted one, a second click the other way round, and paging
that carries on in the chosen order."""

from __future__ import annotations

import re
from datetime import date

from quickcrm.domain import companies, opportunities
from tests import factories


def _names(page: str, cell: str = "cell-name") -> list[str]:
    return re.findall(rf'<td class="{cell}[^"]*"><a href="[^"]+">([^<]+)</a>', page)


def _sorted_header(page: str) -> tuple[str, str]:
    """The label and order of the header marked ``aria-sort``."""
    found = re.search(r'aria-sort="(\w+)">\s*<a class="sort-link" href="[^"]+">([^<]+)<', page)
    assert found, "one header says how the list is sorted"
    return found.group(2), found.group(1)


def test_leads_sort_by_name_both_ways_and_keep_the_filters(client, db, coordinator):
    for name in ("Bea Hot", "Al Hot", "Cy Hot"):
        factories.lead(db, coordinator, name=name, temperature="hot")
    factories.lead(db, coordinator, name="Di Cold", temperature="cold")
    page = client.get("/leads/?temperature=hot").get_data(as_text=True)
    assert _sorted_header(page) == ("Captured", "descending")
    link = re.search(r'href="([^"]+)">Name<', page).group(1).replace("&amp;", "&")
    assert "temperature=hot" in link and "sort=name" in link
    page = client.get(link).get_data(as_text=True)
    assert _names(page) == ["Al Hot", "Bea Hot", "Cy Hot"]
    assert _sorted_header(page) == ("Name", "ascending")
    back = re.search(r'href="([^"]+)">Name<', page).group(1).replace("&amp;", "&")
    assert "sort=-name" in back
    page = client.get(back).get_data(as_text=True)
    assert _names(page) == ["Cy Hot", "Bea Hot", "Al Hot"]
    assert _sorted_header(page) == ("Name", "descending")
    # The coordinator converts an open lead from its row.
    assert page.count(">Convert<span") == 3


def test_leads_oldest_first_page_on(client, db, coordinator, monkeypatch):
    from quickcrm.domain.leads import listing

    monkeypatch.setattr(listing, "PAGE_SIZE", 2)
    for name in ("First", "Second", "Third"):
        factories.lead(db, coordinator, name=name)
    page = client.get("/leads/?sort=-captured").get_data(as_text=True)
    assert _names(page) == ["First", "Second"]
    more = re.search(r'href="([^"]+)">Next page<', page).group(1).replace("&amp;", "&")
    assert _names(client.get(more).get_data(as_text=True)) == ["Third"]


def test_companies_and_contacts_sort_z_to_a_and_page_on(client, db, rep, monkeypatch):
    monkeypatch.setattr(companies, "LIST_LIMIT", 2)
    acme = factories.company(db, "Acme", type="customer")
    for name in ("Beta", "Ceta"):
        factories.company(db, name, type="customer")
    factories.company(db, "Delta", type="partner")
    for name in ("Al", "Bo", "Cy"):
        factories.contact(db, acme, name)

    page = client.get("/companies/?type=customer&sort=-name").get_data(as_text=True)
    assert _names(page) == ["Ceta", "Beta"] and _sorted_header(page) == ("Name", "descending")
    more = re.search(r'href="([^"]+)">More companies<', page).group(1).replace("&amp;", "&")
    assert "sort=-name" in more and "type=customer" in more
    assert _names(client.get(more).get_data(as_text=True)) == ["Acme"]
    # The filter form keeps the order.
    assert '<input type="hidden" name="sort" value="-name">' in page

    page = client.get("/contacts/?sort=-name").get_data(as_text=True)
    assert _names(page) == ["Cy", "Bo"] and _sorted_header(page) == ("Name", "descending")
    more = re.search(r'href="([^"]+)">More contacts<', page).group(1).replace("&amp;", "&")
    assert _names(client.get(more).get_data(as_text=True)) == ["Al"]
    # An order the list does not offer is its usual one.
    assert _names(client.get("/contacts/?sort=phone").get_data(as_text=True)) == ["Al", "Bo"]


def test_opportunities_sort_by_value_and_page_on(client, db, coordinator, monkeypatch):
    monkeypatch.setattr(opportunities, "LIST_PAGE", 2)
    acme = factories.company(db, "Acme")
    for title, value, close in (("Small", "100", date(2026, 1, 5)), ("Big", "9000", None),
                                ("Mid", "500", date(2026, 2, 1))):  # fmt: skip
        factories.opportunity(db, acme, title=title, value=value, close_on=close)
    page = client.get("/opportunities/list").get_data(as_text=True)
    assert _names(page, "cell-title") == ["Small", "Mid"]
    assert _sorted_header(page) == ("Close", "ascending")
    page = client.get("/opportunities/list?sort=value").get_data(as_text=True)
    assert _names(page, "cell-title") == ["Big", "Mid"]
    assert _sorted_header(page) == ("Value", "descending")
    more = re.search(r'href="([^"]+)">More opportunities<', page).group(1).replace("&amp;", "&")
    assert "sort=value" in more
    assert _names(client.get(more).get_data(as_text=True), "cell-title") == ["Small"]
    page = client.get("/opportunities/list?sort=-value").get_data(as_text=True)
    assert _names(page, "cell-title") == ["Small", "Mid"]
    # A cursor that is not one of this order's starts at the beginning, never a 500.
    for after in ("1e999999:1", "NaN:1", "abc", "2026-01-05.1", "9" * 40 + ":1"):
        answer = client.get("/opportunities/list", query_string={"sort": "value", "after": after})
        assert answer.status_code == 200
        assert _names(answer.get_data(as_text=True), "cell-title") == ["Big", "Mid"]
