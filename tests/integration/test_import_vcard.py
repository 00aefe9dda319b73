"""vCard import through the app: each sample export uploaded on the import page comes in
with the guessed mapping, as leads or as contacts at companies; a broken .vcf is refused
with its message and nothing stored."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from quickcrm.models import Company, Contact, Import, ImportChunk, Lead
from tests.integration.test_import import finish, import_id_of, mapping_form, upload

SAMPLES = Path(__file__).parents[1] / "data" / "imports" / "vcard"
LEAD_MAPPING = [
    "name", "first_name", "last_name", "company_name", "ignore", "email", "phone", "ignore",
    "address", "note",  # a lead's address: issue 29
]  # fmt: skip

# What each sample's cards become as leads: name, company, email, phone.
LEADS = {
    "iphone-icloud.vcf": [
        ("John Appleseed", "Apple Inc.", "john.appleseed@mac.example", "+1 (408) 555-5270"),
        ("Kate Bell", "Creative Consulting", "kate-bell@mac.example", "+1 (555) 564-8583"),
        ("Anna Haro", None, "anna-haro@mac.example", "+1 (555) 522-8243"),
    ],
    "outlook-2.1.vcf": [
        (
            "Jürgen Müller", "Müller & Söhne GmbH", "juergen.mueller@mueller-soehne.example",
            "+49 170 1234567",
        ),
        (
            "Hélène Dupré", "Société Générale des Eaux", "helene.dupre@eaux.example",
            "+33 6 12 34 56 78",
        ),
    ],
    "rfc6350-4.0.vcf": [
        ("Simon Perreault", "Viagenie", "simon.perreault@viagenie.ca", "+1-418-656-9254 ext. 102"),
        ("Jane Doe", "ABC, Inc.", "jane_doe@abc.example", "+1-555-555-5556"),
    ],
    "google-contacts.vcf": [
        ("Ann Smith", "Acme Ltd", "ann@acme.example", "+44 7700 900123"),
        ("Bob Jones", "Globex", "bob@globex.example", "+44 20 7946 0959"),
        ("Chloé Martin", "Initech", "chloe.martin@initech.example", None),
    ],
}  # fmt: skip


def post_start(client, import_id: int, **changes):
    return client.post(
        f"/admin/import/{import_id}", data=mapping_form(client, import_id, **changes)
    )


@pytest.mark.parametrize("sample", sorted(LEADS))
def test_each_export_comes_in_as_leads_with_the_guessed_mapping(client, admin, db, sample):
    client.application.config["PHONE_REGION"] = "US"
    data = (SAMPLES / sample).read_bytes()
    import_id = import_id_of(upload(client, data, filename=sample))
    made = db.get(Import, import_id)
    assert (made.delimiter, made.total_rows) == ("vcard", len(LEADS[sample]))
    assert made.encoding == ("cp1252" if sample.startswith("outlook") else "utf-8")
    page = client.get(f"/admin/import/{import_id}")
    assert page.status_code == 200 and LEADS[sample][0][0] in page.get_data(as_text=True)
    guessed = mapping_form(client, import_id)
    assert [guessed[f"column_{i}"] for i in range(len(LEAD_MAPPING))] == LEAD_MAPPING

    assert post_start(client, import_id, source="Phone contacts").status_code == 303
    finish(client, import_id)
    db.refresh(made)
    assert (made.imported, made.refused, made.status) == (len(LEADS[sample]), 0, "done")
    leads = db.scalars(select(Lead).where(Lead.import_id == import_id).order_by(Lead.id))
    assert [(lead.name, lead.company_name, lead.email, lead.phone) for lead in leads] == LEADS[
        sample
    ]


def test_the_other_emails_and_phones_are_kept_in_the_lead_note(client, admin, db):
    data = (SAMPLES / "outlook-2.1.vcf").read_bytes()
    import_id = import_id_of(upload(client, data, filename="Jürgen Müller.vcf"))
    assert post_start(client, import_id).status_code == 303
    finish(client, import_id)
    lead = db.scalars(select(Lead).where(Lead.name == "Jürgen Müller")).one()
    assert lead.note == (
        "Kennengelernt auf der Messe in Köln.\n"
        "Möchte ein Angebot für 20 Lizenzen, Rückruf am Montag.\n"
        "Other email: j.mueller@privat.example\n"
        "Work phone: +49 221 1234567\n"
        "Home phone: +49 221 7654321\n"
        "Fax: +49 221 1234568"
    )


def test_the_companies_kind_makes_contacts_at_their_companies(client, admin, db):
    data = (SAMPLES / "google-contacts.vcf").read_bytes()
    import_id = import_id_of(upload(client, data, filename="contacts.vcf", kind="companies"))
    guessed = mapping_form(client, import_id)
    assert [guessed[f"column_{i}"] for i in range(10)] == [
        "name", "first_name", "last_name", "company_name", "title", "email", "phone",
        "website", "address", "ignore",
    ]  # fmt: skip
    assert post_start(client, import_id).status_code == 303
    finish(client, import_id)
    made = db.get(Import, import_id)
    db.refresh(made)
    assert (made.imported, made.refused) == (3, 0)
    companies = {c.id: c.name for c in db.scalars(select(Company))}
    contacts = {
        c.name: (companies[c.company_id], c.title, c.email, c.phone)
        for c in db.scalars(select(Contact))
    }
    assert contacts == {
        "Ann Smith": ("Acme Ltd", "Buyer", "ann@acme.example", "+44 7700 900123"),
        "Bob Jones": ("Globex", None, "bob@globex.example", "+44 20 7946 0959"),
        "Chloé Martin": ("Initech", None, "chloe.martin@initech.example", None),
    }


def stored(db) -> tuple[int, int]:
    return (
        db.scalar(select(func.count()).select_from(Import)),
        db.scalar(select(func.count()).select_from(ImportChunk)),
    )


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            b"Name,Email\r\nAnn,ann@acme.example\r\n",
            "This .vcf file is not a vCard: export the contacts again as vCard (.vcf).",
        ),
        (
            b"BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Ann\r\nEND:VCARD\r\n"
            b"BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Bob\r\n",
            "The card that starts on line 5 has no END:VCARD: the file is cut short.",
        ),
        (
            b"BEGIN:VCARD\r\nVERSION:2.1\r\nN;ENCODING=QUOTED-PRINTABLE:M=FCller=\r\nEND:VCARD\r\n",
            "the quoted-printable text is broken",
        ),
        (
            b"BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Ann\r\nnot a property\r\nEND:VCARD\r\n",
            "Line 4 of the vCard cannot be read.",
        ),
    ],
    ids=["not a vcard", "cut short", "broken quoted-printable", "unreadable line"],
)
def test_a_broken_vcf_is_refused_with_its_message_and_nothing_stored(
    client, admin, db, data, message
):
    response = upload(client, data, filename="contacts.vcf")
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert stored(db) == (0, 0)
