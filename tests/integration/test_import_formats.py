"""Each export people really have (tests/data/imports/, one sample per format) imports
through the app with the guessed mapping only — no column changed by hand — and its
leads (or companies and contacts) get the right name, company, email, phone and note."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import select

from quickcrm.models import Company, Contact, Import, ImportChunk, Lead
from tests.integration.test_import import finish, import_id_of, mapping_form, upload

SAMPLES = Path(__file__).parent.parent / "data" / "imports"

# name → (company, email, phone, note) of every lead a sample makes.
LEADS = {
    "google-contacts.csv": ("GB", {
        "Amelia Hart": ("Brightwell Ltd", "amelia.hart@brightwell.example", "+44 7700 900123",
                        "Met at the Expo, wants a demo\nE-mail 2 - Value: amelia@hart.example\n"
                        "Phone 2 - Value: 020 7946 0011"),
        "Tom Baker": (None, None, "07700 900456", None),
        "Priya Natarajan": ("Kestrel Analytics", "priya@kestrel.example", None, None),
        "Wei Li": ("Harbour & Co", "wei.li@harbour.example", "+44 20 7946 0022", "Call after 3pm"),
        "Jon Ashby": (None, None, None, "Phone 1 - Value: ext. 12"),
    }),
    "google-contacts-legacy.csv": ("GB", {
        "Grace Okafor": ("Okafor Design", "grace@okafor-design.example", "+44 7700 900321",
                         "Referred by Amelia\nE-mail 2 - Value: grace.o@mail.example"),
        "Ravi Shah": (None, None, "07700 900654", None),
        "Ines Moreau": ("Atelier Moreau", "ines.moreau@atelier.example", None, None),
        "Sam Cole": ("Cole Logistics", None, "020 7946 0033", "Phone 2 - Value: +44 7700 900777"),
    }),
    "outlook.csv": ("GB", {
        "Hannah Price": ("Northwind Traders", "hannah.price@northwind.example", "+44 7700 900101",
                         "Renewal due in March\nBusiness Phone: +44 20 7946 0101"),
        "Oscar Lind": (None, None, "07700 900202", None),
        "Maya Brooks": ("Fabrikam", "maya@fabrikam.example", "020 7946 0303",
                        "E-mail 2 Address: maya.brooks@home.example"),
        "Leo Grant": ("Contoso", None, "020 7946 0404", "Prefers email"),
    }),
    "outlook-com.csv": ("GB", {
        "Nina Kowalski": ("Blue Yonder", "nina@blueyonder.example", "+44 7700 900505",
                          "Needs a quote by Friday\nBusiness Phone: 020 7946 0505"),
        "Felix Ward": (None, None, "07700 900606", None),
        "Aisha Khan": ("Tailspin Toys", "aisha@tailspin.example", None,
                       "E-mail 2 Address: aisha.khan@mail.example"),
        "Pete Olsen": ("Litware", None, "+44 20 7946 0707", "Home Phone: n/a"),
    }),
    "linkedin-connections.csv": ("GB", {
        "Chloe Martin": ("Vantage Partners", "chloe.martin@vantage.example", None, None),
        "Daniel Osei": ("Greenfield Energy", None, None, None),
        "Elena Rossi": (None, "elena@rossi.example", None, None),
        "Ben Adeyemi": ("Adeyemi & Sons", None, None, None),
    }),
    "salesforce-leads.csv": ("US", {
        "Grace Lee": ("Quantum Labs", "grace.lee@quantum.example", "(415) 555-0199",
                      "Asked for pricing\nPhone: (415) 555-0132"),
        "Marcus Young": ("Young Builders", None, "415-555-0145", None),
        "Sofia Alvarez": ("Alvarez Catering", "sofia@alvarez.example", None, "Only in spring"),
        "Brennan": ("Brennan Law", "brennan@brennanlaw.example", "+1 212 555 0177", None),
    }),
    "hubspot-contacts.csv": ("US", {
        "Olivia Chen": ("Lumen Health", "olivia@lumen.example", "(617) 555-0110",
                        "Please call me about the team plan"),
        "Noah Fischer": (None, None, "617-555-0121", None),
        "Emma Dubois": ("Orbit Media", "emma@orbit.example", None, None),
        "Liam Walsh": ("Walsh & Partners", "liam@walsh.example", "+1 617 555 0134",
                       "Saw the webinar\nPhone Number: +1 617 555 0133"),
    }),
    "pipedrive-people.csv": ("GB", {
        "Karin Berg": ("Berg Bikes", "karin@bergbikes.example", "+44 7700 900808",
                       "Person - Email - Home: karin.berg@mail.example\n"
                       "Person - Phone - Work: +44 20 7946 0808"),
        "Ahmed Farouk": (None, None, "07700 900909", None),
        "Julia Novak": ("Novak Print", "julia@novakprint.example", "020 7946 0111", None),
        "Tariq Aziz": ("Aziz Foods", "tariq@azizfoods.example", None, None),
    }),
    "zoho-leads.csv": ("GB", {
        "Anil Kapoor": ("Rangoli Textiles", "anil@rangoli.example", "+44 7700 900212",
                        "Wants samples of the spring range\nSecondary Email: anil.k@mail.example\n"
                        "Phone: 020 7946 0212"),
        "Keiko Tanaka": ("Blue Fin Sushi", None, "07700 900313", None),
        "Whitfield": ("Oakridge Farms", "office@oakridge.example", None, "Downloaded the brochure"),
        "Lucia Vega": ("Vega Motors", "lucia@vegamotors.example", "+44 20 7946 0414", None),
    }),
    "eventbrite-attendees.csv": ("US", {
        "Sofia Reyes": ("Reyes Studio", "sofia@reyes-studio.example", "(646) 555-0161", None),
        # Bought by Sofia: the attendee's own name and email, not the buyer's.
        "Marco Diaz": ("Reyes Studio", "marco.diaz@reyes-studio.example", "(646) 555-0162", None),
        "Hana Kim": (None, "hana.kim@mail.example", "646-555-0171", "Home Phone: 646-555-0170"),
        "Owen Price": ("Pricewater Pumps", "owen@pricewater.example", None, None),
    }),
    "meetup-attendees.csv": ("GB", {
        "Ruth Gallagher": (None, None, None, None),
        "Kwame Mensah": (None, None, None, None),
        "Lena Vogel": (None, None, None, None),
        "Tomás Ortega": (None, None, None, None),
    }),
    "mailchimp-audience.csv": ("GB", {
        "Harriet Bloom": ("Bloom Florists", "harriet@bloom.example", "+44 7700 900414",
                          "Asked about wedding packages"),
        "George Turner": (None, "george.t@mail.example", "07700 900515", None),
        "Yuki Sato": ("Sora Tea", "yuki@sora.example", None, None),
        "Fatima Noor": (None, "fatima@noor.example", None, "Unsubscribed from offers"),
    }),
    "spreadsheet-fr.csv": ("FR", {
        "Camille Lefèvre": ("Boulangerie Lefèvre", "camille@lefevre.example", "06 12 34 56 78",
                            "Rappeler lundi\nTéléphone: 01 99 00 12 34"),
        "Julien Girard": (None, None, "07 98 76 54 32", None),
        "Sophie Morel": ("Morel & Fils", "sophie@morel.example", "+33 1 99 00 56 78",
                         "Salon de Lyon"),
        "Luc Fontaine": ("Atelier Fontaine", "luc@fontaine.example", None, None),
    }),
    "spreadsheet-de.csv": ("DE", {
        "Jürgen Müller": ("Müller Maschinenbau GmbH", "j.mueller@mueller-mb.example",
                          "0171 2345678", "Messe München, Stand 4\nTelefon: 030 1234567"),
        "Anja Schröder": (None, None, "0152 33445566", "Rückruf erwünscht"),
        "Klaus Weiß": ("Weiß & Söhne KG", "klaus@weiss-soehne.example", "+49 89 1234567", None),
        "Petra Köhler": ("Köhler Bau", None, None, "Nur per Post\nTelefon: unbekannt"),
    }),
    "spreadsheet-es.csv": ("ES", {
        "María García López": ("Construcciones García", "maria@garcia.example", "612 345 678",
                               "Feria de Madrid\nTeléfono: 910 123 456"),
        "Javier Fernández": (None, None, "+34 622 111 222", None),
        "Lucía Martín Ruiz": ("Diseños Lucía", "lucia@disenos.example", None, "Quiere presupuesto"),
        "Pablo Sánchez": ("Taller Sánchez", None, "933 456 789", None),
    }),
    "spreadsheet-it.csv": ("IT", {
        "Giulia Bianchi": ("Bianchi Arredamenti", "giulia@bianchi.example", "347 123 4567",
                           "Fiera di Milano\nTelefono: 02 1234 5678"),
        "Marco Ricci": (None, None, "+39 333 765 4321", None),
        "Francesca Romano": ("Romano Vini", "francesca@romanovini.example", None,
                             "Richiamare a gennaio"),
        "Luca Greco": ("Greco Trasporti", None, "06 9876 5432", None),
    }),
    "spreadsheet-nl.csv": ("NL", {
        "Sanne de Vries": ("De Vries Bouw", "sanne@devriesbouw.example", "06 12345678",
                           "Beurs Utrecht\nTelefoon: 020 123 4567"),
        "Daan Jansen": (None, None, "+31 6 87654321", None),
        "Eva Bakker": ("Bakker Design", "eva@bakkerdesign.example", None, "Offerte sturen"),
        "Lars Visser": ("Visser Transport", None, "010 765 4321", None),
    }),
    "spreadsheet-pt.csv": ("PT", {
        "Ana Silva": ("Silva & Filhos", "ana@silvafilhos.example", "912 345 678",
                      "Feira de Lisboa\nTelefone: 21 123 4567"),
        "João Costa": (None, None, "+351 936 111 222", None),
        "Beatriz Santos": ("Santos Têxteis", "beatriz@santos.example", None, "Enviar catálogo"),
        "Rui Ferreira": ("Ferreira Lda", None, "22 987 6543", None),
    }),
}  # fmt: skip
# Temperatures the samples give (the others have none).
TEMPERATURES = {
    "salesforce-leads.csv": {"Grace Lee": "hot", "Marcus Young": "warm", "Sofia Alvarez": "cold"},
    "spreadsheet-fr.csv": {
        "Camille Lefèvre": "hot", "Julien Girard": "warm", "Sophie Morel": "cold",
        "Luc Fontaine": "warm",  # ★★
    },
}  # fmt: skip


def import_sample(client, filename: str, kind: str, region: str) -> Import:
    """``filename`` uploaded as an admin and imported with the mapping the page guessed."""
    client.application.config["PHONE_REGION"] = region
    import_id = import_id_of(upload(client, (SAMPLES / filename).read_bytes(), filename, kind))
    response = client.post(f"/admin/import/{import_id}", data=mapping_form(client, import_id))
    assert response.status_code == 303, response.get_data(as_text=True)[:2000]
    finish(client, import_id)
    return import_id


@pytest.mark.parametrize("filename", sorted(LEADS))
def test_each_sample_imports_its_leads_with_the_guessed_mapping(client, admin, db, filename):
    region, expected = LEADS[filename]
    import_id = import_sample(client, filename, "leads", region)
    made = db.get(Import, import_id)
    db.refresh(made)
    assert (made.imported, made.refused) == (len(expected), 0)
    leads = {lead.name: lead for lead in db.scalars(select(Lead))}
    got = {
        name: (lead.company_name, lead.email, lead.phone, lead.note) for name, lead in leads.items()
    }
    assert got == expected
    temperatures = {name: lead.temperature for name, lead in leads.items() if lead.temperature}
    assert temperatures == TEMPERATURES.get(filename, {})


def test_a_salesforce_contacts_report_imports_companies_with_their_contacts(client, admin, db):
    import_sample(client, "salesforce-contacts.csv", "companies", "US")
    companies = {c.id: c for c in db.scalars(select(Company))}
    assert sorted(c.name for c in companies.values()) == [
        "Burlington Textiles", "Edge Communications", "United Oil & Gas",
    ]  # fmt: skip
    burlington = next(c for c in companies.values() if c.name == "Burlington Textiles")
    assert "Mailing City: Burlington" in burlington.address
    contacts = {
        c.name: (companies[c.company_id].name, c.title, c.email, c.phone)
        for c in db.scalars(select(Contact))
    }
    assert contacts == {
        "Jack Rogers": ("Burlington Textiles", "VP, Facilities", "jrogers@burlington.example",
                        "(336) 555-0122"),
        "Rose Gonzalez": ("Edge Communications", "SVP, Procurement", "rose@edge.example",
                          "(512) 555-0144"),
        "Sean Forbes": ("Edge Communications", "CFO", "sean@edge.example", "(512) 555-0156"),
        "Lauren Boyle": ("United Oil & Gas", "SVP, Technology", "lboyle@uog.example", None),
    }  # fmt: skip


def test_a_pipedrive_organizations_export_imports_companies(client, admin, db):
    import_sample(client, "pipedrive-organizations.csv", "companies", "GB")
    companies = {c.name: c.address for c in db.scalars(select(Company))}
    assert companies == {
        "Berg Bikes": "12 Mill Lane, Bristol BS1 4DJ, UK",
        "Novak Print": None,
        "Aziz Foods": "4 Market St, Leeds LS1 6DT, UK",
    }
    assert db.scalars(select(Contact)).all() == []


def test_the_linkedin_preamble_is_skipped_and_rows_keep_their_line_numbers(client, admin, db):
    data = (SAMPLES / "linkedin-connections.csv").read_bytes()
    import_id = import_id_of(upload(client, data, "Connections.csv"))
    made = db.get(Import, import_id)
    assert json.loads(made.headers)[:3] == ["First Name", "Last Name", "URL"]
    chunk = db.scalars(select(ImportChunk).where(ImportChunk.import_id == import_id)).one()
    assert [row[0] for row in json.loads(chunk.rows)] == [5, 6, 7, 8]
    page = client.get(f"/admin/import/{import_id}").get_data(as_text=True)
    assert "4 rows" in page
