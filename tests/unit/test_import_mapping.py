"""Guessing what each column of a real export is: prefixes and suffixes, label and
identifier columns, several columns for one field, buyers, seven languages, temperature
values — each guess with its reason."""

from __future__ import annotations

import pytest

from quickcrm.domain.imports import mapping
from quickcrm.domain.imports.mapping import IGNORE, guess, guess_columns, guess_values


def guessed(headers, kind="leads", rows=None) -> dict[str, tuple[str, str]]:
    guesses = guess_columns(headers, kind, rows)
    return {h: (g.field, g.reason) for h, g in zip(headers, guesses, strict=True)}


def test_a_plain_header_says_where_its_guess_comes_from():
    assert guess_columns(["E-mail"]) == [mapping.Guess("email", "from the header “E-mail”")]
    assert guess_columns(["Badge colour"]) == [mapping.Guess(IGNORE, "not recognised")]


def test_google_value_columns_are_read_and_their_label_columns_ignored():
    headers = ["First Name", "Last Name", "E-mail 1 - Label", "E-mail 1 - Value",
               "E-mail 2 - Label", "E-mail 2 - Value", "Phone 1 - Type", "Phone 1 - Value",
               "Organization 1 - Name", "Organization Name"]  # fmt: skip
    got = guessed(headers)
    assert got["E-mail 1 - Value"] == ("email", "from the header “E-mail 1 - Value”")
    assert got["E-mail 2 - Value"] == (
        "email",
        "“E-mail 2 - Value” after “E-mail 1 - Value”: the first email found is used, the "
        "others go to the note",
    )
    assert got["E-mail 1 - Label"] == (
        IGNORE, "“E-mail 1 - Label” says what kind another column is, not a value"
    )  # fmt: skip
    assert got["Phone 1 - Type"][0] == IGNORE and got["Phone 1 - Value"][0] == "phone"
    assert got["Organization 1 - Name"][0] == "company_name"
    assert got["Organization Name"] == (IGNORE, "Company comes from “Organization 1 - Name”")


def test_prefixed_headers_are_read_by_their_meaning():
    headers = ["Person - ID", "Person - Name", "Person - Organization",
               "Person - Email - Work", "Person - Phone - Work", "Person - Phone - Mobile",
               "Person - Label", "Person - Owner"]  # fmt: skip
    assert guess(headers) == [
        IGNORE, "name", "company_name", "email", "phone", "phone", IGNORE, IGNORE
    ]  # fmt: skip
    companies = ["Organization - ID", "Organization - Name", "Organization - Address",
                 "Organization - People", "Organization - Label"]  # fmt: skip
    assert guess(companies, "companies") == [IGNORE, "company_name", "address", IGNORE, IGNORE]


@pytest.mark.parametrize(
    "header", ["Attendee #", "Order #", "Id", "Record ID", "User ID", "Person - ID",
               "Lead ID", "LEID", "Government ID Number", "Barcode"],
)  # fmt: skip
def test_a_column_of_identifiers_is_never_a_name(header):
    assert guess_columns([header]) == [
        mapping.Guess(IGNORE, f"“{header}” holds identifiers, not names")
    ]


def test_a_column_whose_values_are_all_numbers_or_codes_is_never_a_name():
    headers = ["Attendee", "Name", "Company"]
    rows = [["10231", "Ann Smith", "AB-1207"], ["10232", "Bob Jones", "AB-1208"], ["", "", ""]]
    got = guessed(headers, rows=rows)
    assert got["Attendee"] == (IGNORE, "“Attendee” holds identifiers, not names")
    assert got["Company"][0] == IGNORE
    assert got["Name"][0] == "name"
    # Names with a digit somewhere are still names.
    assert guess(["Name"], rows=[["Ann Smith"], ["Studio 54"]]) == ["name"]


def test_phones_are_read_mobile_first_then_work_home_other():
    headers = ["Business Phone", "Home Phone", "Mobile Phone", "Other Phone", "Business Fax",
               "Pager", "Assistant's Phone", "Primary Phone"]  # fmt: skip
    got = guessed(headers)
    assert [got[h][0] for h in headers] == [
        "phone", "phone", "phone", "phone", IGNORE, IGNORE, IGNORE, "phone"
    ]  # fmt: skip
    assert got["Mobile Phone"][1] == "from the header “Mobile Phone”"
    assert got["Primary Phone"][1].startswith("“Primary Phone” after “Mobile Phone”: the first")
    assert got["Business Phone"][1].startswith("“Business Phone” after “Primary Phone”")
    columns = [i for i, field in enumerate(guess(headers)) if field == "phone"]
    assert [headers[i] for i in mapping.priority(headers, columns)] == [
        "Mobile Phone", "Primary Phone", "Business Phone", "Home Phone", "Other Phone"
    ]  # fmt: skip


def test_emails_are_read_in_their_order():
    headers = ["E-mail 3 Address", "E-mail 2 Address", "E-mail Address", "Secondary Email"]
    columns = list(range(len(headers)))
    assert [headers[i] for i in mapping.priority(headers, columns)] == [
        "E-mail Address", "E-mail 2 Address", "E-mail 3 Address", "Secondary Email"
    ]  # fmt: skip
    assert guess(["Email Opt Out", "E-mail Type", "E-mail Display Name"]) == [IGNORE] * 3


def test_the_attendee_is_used_not_the_buyer():
    headers = ["Buyer First Name", "Buyer Last Name", "Buyer Email", "First Name", "Last Name",
               "Email", "Attendee #"]  # fmt: skip
    got = guessed(headers)
    assert [got[h][0] for h in headers] == [
        IGNORE, IGNORE, IGNORE, "first_name", "last_name", "email", IGNORE
    ]  # fmt: skip
    assert got["Buyer First Name"][1] == "First name comes from “First Name”"
    assert got["Buyer Email"][1] == "“Buyer Email” is another person’s, not this one’s"
    # Without the person's own columns, the buyer's are used.
    assert guess(["Buyer First Name", "Buyer Email"]) == ["first_name", "email"]


@pytest.mark.parametrize(
    ("headers", "fields"),
    [
        (["Nom", "Prénom", "Société", "Courriel", "Téléphone", "Portable", "Commentaires"],
         ["last_name", "first_name", "company_name", "email", "phone", "phone", "note"]),
        (["Vorname", "Nachname", "Firma", "E-Mail-Adresse", "Telefon", "Handy", "Notiz"],
         ["first_name", "last_name", "company_name", "email", "phone", "phone", "note"]),
        (["Vorname", "Name", "Unternehmen", "E-Mail", "Telefon (geschäftlich)", "Mobil",
          "Bemerkung"],
         ["first_name", "last_name", "company_name", "email", "phone", "phone", "note"]),
        (["Nombre", "Apellidos", "Empresa", "Correo electrónico", "Teléfono", "Móvil", "Notas"],
         ["first_name", "last_name", "company_name", "email", "phone", "phone", "note"]),
        (["Nome", "Cognome", "Azienda", "Email", "Telefono", "Cellulare", "Note"],
         ["first_name", "last_name", "company_name", "email", "phone", "phone", "note"]),
        (["Voornaam", "Achternaam", "Bedrijf", "E-mailadres", "Telefoon", "Mobiel",
          "Opmerkingen"],
         ["first_name", "last_name", "company_name", "email", "phone", "phone", "note"]),
        (["Nome", "Apelido", "Empresa", "E-mail", "Telefone", "Telemóvel", "Observações"],
         ["first_name", "last_name", "company_name", "email", "phone", "phone", "note"]),
        (["Nome", "Sobrenome", "Empresa", "E-mail", "Telefone", "Celular", "Observações"],
         ["first_name", "last_name", "company_name", "email", "phone", "phone", "note"]),
        (["Nom", "Société", "Portable"], ["name", "company_name", "phone"]),
        (["Naam", "Bedrijf"], ["name", "company_name"]),
    ],
    ids=["fr", "de", "de vorname name", "es", "it", "nl", "pt", "pt-br", "fr nom alone",
         "nl naam"],
)  # fmt: skip
def test_headers_in_seven_languages(headers, fields):
    assert guess(headers) == fields


def test_nom_beside_prenom_says_why_it_is_the_last_name():
    reason = "“Nom” beside “Prénom”: the last name"
    assert guessed(["Nom", "Prénom"])["Nom"] == ("last_name", reason)


@pytest.mark.parametrize(
    "header", ["Rating", "Lead Rating", "Temperature", "Température", "Temperatur", "Bewertung",
               "Valoración", "Valutazione", "Temperatuur", "Classificação"],
)  # fmt: skip
def test_rating_and_temperature_columns_are_the_temperature(header):
    assert guess([header]) == ["temperature"]


def test_mailchimp_member_rating_is_not_a_temperature():
    assert guess_columns(["MEMBER_RATING"]) == [
        mapping.Guess(IGNORE, "“MEMBER_RATING” rates engagement, not a lead")
    ]


def test_salesforce_and_hubspot_headers():
    assert guess(["Company / Account", "Lead Source", "Description", "Message", "Lead Owner"]) == [
        "company_name", "source", "note", "note", IGNORE
    ]  # fmt: skip
    assert guess(["Mailing Street", "Mailing City", "Account Name"], "companies") == [
        "address", "address", "company_name"
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("value", "stored"),
    [
        ("Hot", "hot"), ("WARM", "warm"), ("cold", "cold"), ("Chaud", "hot"), ("tiède", "warm"),
        ("Froid", "cold"), ("heiß", "hot"), ("lauwarm", "warm"), ("kalt", "cold"),
        ("Caliente", "hot"), ("Templado", "warm"), ("Frío", "cold"), ("Caldo", "hot"),
        ("Tiepido", "warm"), ("Freddo", "cold"), ("Heet", "hot"), ("Lauw", "warm"),
        ("Koud", "cold"), ("Quente", "hot"), ("Morno", "warm"), ("Frio", "cold"),
        ("A", "hot"), ("B", "warm"), ("C", "cold"), ("3", "hot"), ("2", "warm"), ("1", "cold"),
        ("★★★", "hot"), ("★★", "warm"), ("★", "cold"), ("***", "hot"), ("2 stars", "warm"),
        ("3 étoiles", "hot"), ("1 Stern", "cold"), ("High", "hot"), ("Medium", "warm"),
        ("Low", "cold"), ("Hoch", "hot"), ("Mittel", "warm"), ("Niedrig", "cold"),
        ("Active", None), ("5", None), ("★★★★", None), ("", None), ("maybe", None),
    ],
)  # fmt: skip
def test_temperature_values_are_guessed(value, stored):
    assert guess_values("temperature", [value]) == {value.strip(): stored}


def test_guess_values_keys_each_distinct_value_as_in_the_file_stripped():
    assert guess_values("temperature", [" Hot ", "B", "Shut Down"]) == {
        "Hot": "hot", "B": "warm", "Shut Down": None
    }  # fmt: skip
    assert guess_values("source", ["Hot"]) == {"Hot": None}


def test_check_accepts_several_columns_for_a_multi_field_only():
    headers = ["Name", "Email", "Email 2", "Phone", "Mobile"]
    fields = ["name", "email", "email", "phone", "phone"]
    assert mapping.check(fields, headers) == fields
    assert {"email", "phone"} <= mapping.MULTI


def test_attendee_prefixed_columns_are_the_persons_own():
    assert guess(["Attendee Name", "Attendee Email", "Attendee Cell Phone"]) == [
        "name", "email", "phone"
    ]  # fmt: skip


def test_a_field_the_kind_does_not_have_says_so():
    assert guess_columns(["Job Title"]) == [
        mapping.Guess(IGNORE, "“Job Title”: leads have no such field")
    ]
    assert guess(["Job Title", "Company"], "companies") == ["title", "company_name"]


def test_telling_a_header_row_looks_at_a_bounded_part_of_it():
    assert mapping.recognised(["Email", "Phone", "Badge"]) == 2
    assert mapping.recognised(["Email"] * 100_000) == mapping.RECOGNISED_MAX
    assert mapping.recognised(["x" * 100_000 + "Email"]) == 0
