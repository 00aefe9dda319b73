"""The import's mapping page: why each column is what it is, the mapping remembered for a
header set, a Temperature column's values and what each becomes, what a duplicate does,
and hostile value fields refused or set aside — never a 500, never a half-started import."""

from __future__ import annotations

import json
import re

from sqlalchemy import func, select

from quickcrm.domain.imports import choices, mapping
from quickcrm.models import IMPORT_ON_DUPLICATE, Import, ImportMapping, Lead
from quickcrm.views.imports import DUPLICATE_CHOICES
from quickcrm.web import formats
from tests.conftest import csrf_token
from tests.integration.test_import import finish, import_id_of, mapping_form, start, upload

RATED = (
    b"Name,E-mail,Rating,Tel. (work)\n"
    b"Ann,ann@example.com,A,\nBob,bob@example.com,B,\nCleo,,C,\n"
    b"Dan,dan@example.com,,\nEve,eve@example.com,A,\n"
)


def page_of(client, import_id: int, **query) -> str:
    return client.get(f"/admin/import/{import_id}", query_string=query).get_data(as_text=True)


def preview_of(client, import_id: int, **query) -> str:
    response = client.get(
        f"/admin/import/{import_id}", query_string=query, headers={"HX-Request": "true"}
    )
    assert response.status_code == 200
    return response.get_data(as_text=True)


def reason(page: str, column: int) -> str:
    """The reason beside column ``column``'s select, which the select names as its
    description."""
    select = re.search(rf'<select id="column-{column}" [^>]*>', page).group(0)
    assert f'aria-describedby="column-{column}-reason' in select
    return re.search(rf'id="column-{column}-reason">([^<]*)<', page).group(1)


def value_selects(page: str) -> dict[str, tuple[str, str]]:
    """Each value select of the page: its name → (the value in the file, what it becomes)."""
    found = {}
    for input_id, label in re.findall(r'<label for="(value-[\d-]+)">([^<]*)</label>', page):
        body = re.search(rf'<select id="{input_id}" name="([^"]+)"[^>]*>(.*?)</select>', page, re.S)
        chosen = re.search(r'<option value="([^"]*)" selected>', body.group(2))
        found[body.group(1)] = (label, chosen.group(1))
    return found


def test_each_column_says_why_it_is_what_it_is(client, admin):
    import_id = import_id_of(upload(client, RATED))
    page = page_of(client, import_id)
    headers = ["Name", "E-mail", "Rating", "Tel. (work)"]
    guesses = mapping.guess_columns(headers, "leads", [["Ann", "ann@example.com", "A", ""]])
    assert reason(page, 1) == "From the header “E-mail”"
    for column, guess in enumerate(guesses):
        assert reason(page, column).casefold() == guess.reason.casefold()

    # The admin changes a select: the preview fragment brings its reason along, out of band.
    form = mapping_form(client, import_id, column_1="ignore")
    del form["csrf_token"]
    fragment = preview_of(client, import_id, **form)
    assert fragment.lstrip().startswith('<section class="panel stack" id="preview"')
    assert '<div class="column-notes" id="column-1-notes" hx-swap-oob="true">' in fragment
    assert reason(page_of(client, import_id, **form), 1) == "Chosen by you"
    assert 'id="column-1-reason">Chosen by you<' in fragment
    assert 'id="column-0-reason">From the header “Name”<' in fragment


def test_the_mapping_chosen_is_offered_for_the_same_headers_and_no_others(app, client, admin, db):
    first = import_id_of(upload(client, RATED))
    assert db.scalar(select(func.count()).select_from(ImportMapping)) == 0
    response = start(
        client,
        first,
        column_2="temperature",
        column_3="phone",
        value_2_0="hot",
        value_2_1="cold",
        value_2_2="",
    )
    assert response.status_code == 303
    kept = db.scalar(select(ImportMapping))
    assert kept.kind == "leads"
    assert json.loads(kept.mapping) == ["name", "email", "temperature", "phone"]
    assert json.loads(kept.value_map)["temperature"] == {"A": "hot", "B": "cold", "C": None}
    finish(client, first)

    # The same headers, written otherwise (case, spaces, punctuation): the admin's mapping,
    # with the import it was chosen for.
    again = import_id_of(
        upload(client, b"NAME,Email,rating,Tel work\nZoe,zoe@example.com,B,\n", "again.csv")
    )
    page = page_of(client, again)
    form = mapping_form(client, again)
    assert [form[f"column_{i}"] for i in range(4)] == ["name", "email", "temperature", "phone"]
    with app.test_request_context():
        when = formats.day(kept.saved_at)
    for column in range(4):
        assert reason(page, column) == f"As chosen for your import of {when}"
    assert value_selects(page) == {"value_2_0": ("B", "cold")}

    # Other headers (one more column), or another kind: the guesses.
    other = import_id_of(
        upload(client, b"Name,E-mail,Rating,Tel. (work),City\nZoe,,B,,Paris\n", "other.csv")
    )
    page = page_of(client, other)
    assert (
        mapping_form(client, other)["column_3"]
        == mapping.guess(["Name", "E-mail", "Rating", "Tel. (work)", "City"])[3]
    )
    assert "As chosen" not in page
    companies = import_id_of(upload(client, RATED, "companies.csv", kind="companies"))
    assert "As chosen" not in page_of(client, companies)


def test_a_remembered_field_that_is_no_longer_a_choice_is_left_to_the_guess(client, admin, db):
    headers = ["Name", "E-mail", "Rating", "Tel. (work)"]
    choices.remember(
        db, "leads", headers, ["name", "fax", "temperature", "phone"], {"temperature": {"A": "x"}}
    )
    db.commit()
    import_id = import_id_of(upload(client, RATED))
    form = mapping_form(client, import_id)
    assert [form[f"column_{i}"] for i in range(4)] == [
        "name",
        mapping.guess(headers)[1],
        "temperature",
        "phone",
    ]
    page = page_of(client, import_id)
    assert reason(page, 1).startswith("From the header")
    guessed = mapping.guess_values("temperature", ["A", "B", "C"])
    assert value_selects(page)["value_2_0"] == ("A", guessed["A"] or "")


def test_a_temperature_columns_values_are_mapped_in_the_preview_and_the_import(client, admin, db):
    import_id = import_id_of(upload(client, RATED))
    page = page_of(client, import_id, column_2="temperature")
    assert "<caption>Values of “Rating”</caption>" in page
    guessed = mapping.guess_values("temperature", ["A", "B", "C"])
    assert value_selects(page) == {
        f"value_2_{n}": (value, guessed[value] or "") for n, value in enumerate("ABC")
    }
    options = re.search(r'<select id="value-2-0" name="value_2_0"[^>]*>(.*?)</select>', page, re.S)
    assert re.findall(r">([^<]+)</option>", options.group(1)) == [
        "Hot",
        "Warm",
        "Cold",
        "No temperature",
    ]

    # The preview follows the values' selects.
    chosen = {"value_2_0": "warm", "value_2_1": "hot", "value_2_2": ""}
    fragment = preview_of(client, import_id, column_0="name", column_2="temperature", **chosen)
    columns = re.findall(r'<th scope="col">([^<]*)</th>', fragment.split("</thead>")[0])
    rows = re.findall(r"<tr>\s*(<td>.*?)</tr>", fragment, re.S)
    # (the Problem cell, with markup, is left out: zip stops before it)
    cells = [dict(zip(columns, re.findall(r"<td>([^<]*)</td>", r), strict=False)) for r in rows]
    temperatures = {row["Line"]: row["Temperature"] for row in cells}
    assert temperatures == {"2": "warm", "3": "hot", "4": "", "5": "", "6": "warm"}
    assert "Values of “Rating”" in fragment  # out of band, beside the preview

    # A column no longer chosen as Temperature has no values to map.
    assert "Values of" not in page_of(client, import_id, column_2="ignore")

    response = start(client, import_id, column_2="temperature", **chosen)
    assert response.status_code == 303
    upload_ = db.get(Import, import_id)
    db.refresh(upload_)
    assert json.loads(upload_.value_map) == {"temperature": {"A": "warm", "B": "hot", "C": None}}
    finish(client, import_id)
    leads = {lead.name: lead.temperature for lead in db.scalars(select(Lead))}
    assert leads == {"Ann": "warm", "Bob": "hot", "Cleo": None, "Dan": None, "Eve": "warm"}


def test_what_a_duplicate_does_is_chosen_and_stored(client, admin, db):
    assert tuple(DUPLICATE_CHOICES) == IMPORT_ON_DUPLICATE
    import_id = import_id_of(upload(client, RATED))
    page = page_of(client, import_id)
    assert "<legend>When a row matches an existing lead or contact</legend>" in page
    radios = re.findall(r'<input type="radio" name="on_duplicate" value="(\w+)" ?(checked)?>', page)
    assert radios == [("skip", "checked"), ("fill", ""), ("update", "")]
    for label in ("Skip it", "Fill in its empty fields", "Update it with the file's values"):
        assert label.replace("'", "&#39;") in page

    response = start(client, import_id, on_duplicate="sometimes")
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert 'id="on_duplicate-error"' in page
    assert db.get(Import, import_id).status == "mapping"

    assert start(client, import_id, on_duplicate="fill").status_code == 303
    stored = db.get(Import, import_id)
    db.refresh(stored)
    assert (stored.status, stored.on_duplicate) == ("running", "fill")


def test_hostile_value_fields_are_refused_or_set_aside_never_a_500(client, admin, db):
    import_id = import_id_of(upload(client, RATED))

    # The preview sets aside what is not a choice; so does a field of no value or column.
    fragment = preview_of(
        client,
        import_id,
        column_0="name",
        column_2="temperature",
        value_2_0="boiling",
        value_2_99="hot",
        value_7_0="hot",
        value_x_y="hot",
    )
    assert "boiling" not in fragment

    # Starting with one is a 422 with the message beside its select, nothing started.
    response = start(client, import_id, column_2="temperature", value_2_0="boiling")
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'id="value_2_0-error">Choose one of Hot, Warm, Cold, No temperature.<' in page
    assert db.get(Import, import_id).status == "mapping"
    assert db.scalar(select(func.count()).select_from(ImportMapping)) == 0

    # A NUL: 400 with a message; thousands of fields: 413; nothing started either way.
    response = start(client, import_id, column_2="temperature", value_2_0="hot\x00")
    assert response.status_code == 400
    token = csrf_token(client, f"/admin/import/{import_id}")
    many = {f"value_2_{n}": "hot" for n in range(5000)}
    response = client.post(f"/admin/import/{import_id}", data={"csrf_token": token, **many})
    assert 400 <= response.status_code < 500
    db.expire_all()
    assert db.get(Import, import_id).status == "mapping"

    # Fields for values or columns that are not there are ignored: the import starts.
    response = start(client, import_id, column_2="temperature", value_2_99="x", value_9_0="y")
    assert response.status_code == 303
    stored = db.get(Import, import_id)
    db.refresh(stored)
    assert set(json.loads(stored.value_map)["temperature"]) == {"A", "B", "C"}


def test_a_vcard_upload_says_vcard_and_the_upload_takes_vcf(client, admin, db):
    page = client.get("/admin/import").get_data(as_text=True)
    assert '<label for="file">CSV file</label>' in page and "Or a vCard file (.vcf)." in page
    assert 'accept=".csv,.vcf' in page
    import_id = import_id_of(upload(client, RATED))
    stored = db.get(Import, import_id)
    stored.delimiter = "vcard"
    db.commit()
    page = page_of(client, import_id)
    assert "5 rows · vCard</p>" in page and "separated" not in page
