"""The *Export CSV* downloads: sign-in, roles, the lists' filters kept, the file's headers."""

from __future__ import annotations

import csv
import io
import re
from datetime import date
from decimal import Decimal

import pytest

from quickcrm.domain.stages import ordered_stages
from quickcrm.models import Activity, Company, Contact, Lead, Opportunity

LIST_EXPORTS = (
    "/leads/export.csv",
    "/companies/export.csv",
    "/contacts/export.csv",
    "/opportunities/export.csv",
)

# A download streams from a session of its own, after the request's has closed.
pytestmark = pytest.mark.commits


def rows(response) -> list[dict[str, str]]:
    body = response.get_data()
    assert body.startswith(b"\xef\xbb\xbf")
    return list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"), newline="")))


def export_link(page: str) -> str:
    match = re.search(r'href="([^"]+)">Export CSV</a>', page)
    assert match, "no Export CSV link"
    return match.group(1).replace("&amp;", "&")


@pytest.mark.parametrize("url", [*LIST_EXPORTS, "/admin/activities.csv", "/admin/backup.json"])
def test_every_export_needs_sign_in(client, url):
    response = client.get(url)
    assert response.status_code == 302
    assert "/login" in response.headers["Location"] or "/setup" in response.headers["Location"]


@pytest.mark.parametrize("url", LIST_EXPORTS)
def test_list_exports_are_csv_attachments_for_everyone(client, rep, url):
    response = client.get(url)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    name = url.split("/")[1]
    today = date.today().isoformat()
    assert (
        response.headers["Content-Disposition"]
        == f'attachment; filename="quickcrm-{name}-{today}.csv"'
    )
    assert rows(response) == []  # the header row alone


@pytest.mark.parametrize("role", ["rep", "coordinator"])
@pytest.mark.parametrize("url", ["/admin/activities.csv", "/admin/backup.json"])
def test_activities_and_backup_are_for_admins_only(client, sign_in_as, role, url):
    sign_in_as(role)
    assert client.get(url).status_code == 403


def test_a_reps_leads_export_has_only_their_leads(client, db, rep, make_user):
    sam = make_user("sam@example.com", name="Sam")
    db.add_all([Lead(owner=rep, name="Mine"), Lead(owner=sam, name="Sam's")])
    db.commit()
    exported = rows(client.get("/leads/export.csv"))
    assert [row["Name"] for row in exported] == ["Mine"]
    assert exported[0]["Owner email"] == "rep@example.com"
    # Asking for someone else's leads changes nothing for a rep.
    other = rows(client.get(f"/leads/export.csv?owner={sam.id}&status=all"))
    assert [row["Name"] for row in other] == ["Mine"]


def test_the_leads_list_link_keeps_its_filters(client, db, coordinator, make_user):
    sam = make_user("sam@example.com", name="Sam")
    db.add_all(
        [
            Lead(owner=sam, name="Hot expo", temperature="hot", source="Expo"),
            Lead(owner=sam, name="Cold expo", temperature="cold", source="Expo"),
            Lead(owner=coordinator, name="Hot web", temperature="hot", source="Web"),
            Lead(
                owner=sam,
                name="Hot gone",
                temperature="hot",
                source="Expo",
                status="disqualified",
                disqualified_reason="No budget",
            ),
        ]
    )
    db.commit()
    page = client.get("/leads/?temperature=hot&source=Expo&status=all&sort=name").get_data(
        as_text=True
    )
    link = export_link(page)
    assert link.startswith("/leads/export.csv?")
    assert [row["Name"] for row in rows(client.get(link))] == ["Hot expo", "Hot gone"]


def test_the_search_lists_links_keep_the_search(client, db, rep):
    acme = Company(name="Acme", name_key="acme")
    db.add_all(
        [
            acme,
            Company(name="Globex", name_key="globex"),
            Contact(name="Maria Acme", company=acme, email="maria@acme.example"),
            Contact(name="John Globex"),
        ]
    )
    db.commit()
    companies = client.get("/companies/?q=acm", headers={"HX-Request": "true"})
    link = export_link(companies.get_data(as_text=True))
    assert [row["Name"] for row in rows(client.get(link))] == ["Acme"]
    contacts = client.get("/contacts/?q=maria").get_data(as_text=True)
    exported = rows(client.get(export_link(contacts)))
    assert [(row["Name"], row["Company"]) for row in exported] == [("Maria Acme", "Acme")]


def test_the_opportunities_links_keep_the_filters(client, db, rep):
    acme = Company(name="Acme", name_key="acme")
    stages = ordered_stages(db)
    won = next(s for s in stages if s.outcome == "won")
    db.add_all(
        [
            Opportunity(company=acme, title="Open deal", value=Decimal("100"), stage=stages[0],
                        probability=10, owner=rep),
            Opportunity(company=acme, title="Won deal", value=Decimal("900"), stage=won,
                        probability=100, outcome="won"),
        ]
    )  # fmt: skip
    db.commit()
    board = client.get("/opportunities").get_data(as_text=True)
    assert [row["Title"] for row in rows(client.get(export_link(board)))] == ["Open deal"]
    listing = client.get("/opportunities/list?outcome=won").get_data(as_text=True)
    exported = rows(client.get(export_link(listing)))
    assert [(row["Title"], row["Value"], row["Outcome"]) for row in exported] == [
        ("Won deal", "900.00", "won")
    ]


def test_the_opportunities_export_keeps_the_close_month(client, db, rep):
    acme = Company(name="Acme", name_key="acme")
    first = ordered_stages(db)[0]
    db.add_all(
        [
            Opportunity(company=acme, title=f"Closes {day}", stage=first, probability=10,
                        close_on=day)
            for day in (date(2026, 12, 15), date(2027, 1, 15))
        ]
    )  # fmt: skip
    db.commit()
    listing = client.get("/opportunities/list?close_month=2026-12").get_data(as_text=True)
    link = export_link(listing)
    assert "close_month=2026-12&" in link + "&"
    assert [row["Title"] for row in rows(client.get(link))] == ["Closes 2026-12-15"]


def test_an_admin_exports_every_activity(client, db, admin, make_user):
    rita = make_user("rita@example.com", name="Rita")
    lead = Lead(owner=rita, name="Maria")
    db.add(lead)
    db.flush()
    db.add(Activity(kind="note", text="=cmd|' /C calc'!A0", author=rita, lead=lead))
    db.commit()
    page = client.get("/admin").get_data(as_text=True)
    assert 'href="/admin/activities.csv"' in page
    response = client.get("/admin/activities.csv")
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    (row,) = rows(response)
    assert (row["Text"], row["Lead"], row["Author"]) == ("'=cmd|' /C calc'!A0", "Maria", "Rita")


@pytest.mark.parametrize("url", ["/leads/export.csv", "/admin/backup.json"])
def test_a_download_cut_off_half_way_gives_its_database_connection_back(
    app, client, admin, db, url
):
    db.add_all([Lead(owner=admin, name=f"Lead {i}") for i in range(3)])
    db.commit()
    response = client.get(url, buffered=False)
    chunks = iter(response.response)
    next(chunks), next(chunks)  # the header, then the first rows: the reading is under way
    response.close()  # the phone lost the connection
    assert app.extensions["quickcrm.engine"].pool.checkedout() == 0


@pytest.mark.parametrize(
    "query",
    [
        "/leads/export.csv?owner=99999999999999999999&from=2026-02-30&due=never&sort=x",
        "/leads/export.csv?owner=%C2%B2&q=%25_",
        "/opportunities/export.csv?owner_id=99999999999999999999&stage_id=%C2%B2&close_month=2026-13",
        "/companies/export.csv?q=" + "x" * 5000,
    ],
)
def test_hostile_filters_are_ignored_not_a_server_error(client, coordinator, query):
    response = client.get(query)
    assert response.status_code == 200
    assert rows(response) == []


def test_a_nul_in_a_filter_is_refused_with_a_message(client, coordinator):
    response = client.get("/leads/export.csv?q=%00")
    assert response.status_code == 400 and "NUL" in response.get_data(as_text=True)
