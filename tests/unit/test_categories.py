"""The team's categories: the admin's list, a lead's and a company's, a request's ids."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from quickcrm.domain import categories
from quickcrm.domain import validation as v
from quickcrm.models import Company, CompanyCategory, Lead, LeadCategory
from tests import factories


def test_the_admin_adds_renames_reorders_and_removes(db, make_user):
    north = categories.add(db, "  North   of the river ")
    south = categories.add(db, "South of the river")
    retail = categories.add(db, "Retail")
    assert [c.name for c in categories.ordered(db)] == [
        "North of the river",
        "South of the river",
        "Retail",
    ]
    with pytest.raises(v.Refused) as refused:
        categories.add(db, "retail")
    assert "already in the list" in refused.value.errors["name"]
    with pytest.raises(v.Refused):
        categories.add(db, "   ")
    with pytest.raises(v.Refused):
        categories.rename(db, north, "RETAIL")
    categories.rename(db, north, "North")
    categories.rename(db, north, "north")  # its own name in another case is fine
    categories.move(db, retail, -1)
    categories.move(db, north, -1)  # the first stays first
    assert [c.name for c in categories.ordered(db)] == ["north", "Retail", "South of the river"]
    lead = factories.lead(db, make_user())
    categories.add_to_lead(db, lead.id, [north.id, south.id])
    company = factories.company(db)
    categories.set_company_categories(db, company, [south.id])
    assert categories.usage(db) == {north.id: (1, 0), south.id: (1, 1)}
    assert categories.remove(db, south) == (1, 1)
    db.commit()
    db.expire_all()
    assert [c.name for c in db.get(Lead, lead.id).categories] == ["north"]
    assert db.get(Company, company.id).categories == []


def test_ids_from_a_request_skip_what_cannot_be_one_and_what_is_gone(db, make_user):
    north = factories.category(db, "North", 1)
    south = factories.category(db, "South", 2)
    ids = categories.chosen_ids(
        [f"{south.id},{north.id}", "x", "0", "-3", "99999999999", str(north.id), None]
    )
    assert ids == [south.id, north.id]
    gone = north.id + south.id + 1000
    lead = factories.lead(db, make_user())
    categories.add_to_lead(db, lead.id, [gone, south.id, north.id])
    categories.add_to_lead(db, lead.id, [north.id])  # again: no second row, no error
    db.commit()
    db.expire_all()
    assert [c.name for c in db.get(Lead, lead.id).categories] == ["North", "South"]
    assert categories.existing_ids(db, [gone, south.id]) == [south.id]
    chosen = categories.set_lead_categories(db, db.get(Lead, lead.id), [south.id])
    assert [c.name for c in chosen] == ["South"]
    assert categories.set_lead_categories(db, db.get(Lead, lead.id), []) == []


def test_names_split_on_semicolons_or_commas_and_are_made_only_when_asked(db):
    assert categories.split_names(" Retail ; north,  NORTH;;  big   firm ") == [
        "Retail",
        "north",
        "big firm",
    ]
    assert categories.split_names(None) == []
    factories.category(db, "Retail", 1)
    assert [c.name for c in categories.by_names(db, ["retail", "North"])] == ["Retail"]
    made = categories.by_names(db, ["retail", "North"], create=True)
    assert [c.name for c in made] == ["Retail", "North"]
    assert categories.label(made) == "Retail; North"


def test_the_filter_is_a_look_up_of_lead_category(db, make_user):
    north = factories.category(db, "North", 1)
    owner = make_user()
    tagged, other = factories.lead(db, owner, "Ann"), factories.lead(db, owner, "Bob")
    db.add(LeadCategory(lead_id=tagged.id, category_id=north.id))
    db.commit()
    found = db.scalars(select(Lead.name).where(categories.lead_has(north.id))).all()
    assert found == ["Ann"] and other.name not in found


def test_conversion_carries_and_undo_takes_back_only_what_it_added(db, make_user):
    north, south, big = (factories.category(db, n, i) for i, n in enumerate(("N", "S", "B")))
    owner = make_user()
    company = factories.company(db)
    db.add(CompanyCategory(company_id=company.id, category_id=big.id))
    first = factories.lead(db, owner, "Ann")
    categories.add_to_lead(db, first.id, [north.id, big.id])
    db.commit()
    assert categories.carry_to_company(db, first, company) == [north.id]
    db.commit()
    first.company_id = company.id
    second = factories.lead(db, owner, "Bob", company_id=company.id)
    categories.add_to_lead(db, second.id, [south.id])
    categories.carry_to_company(db, second, company)
    db.commit()
    categories.uncarry_from_company(db, second, company.id)
    db.commit()
    db.expire_all()
    assert {c.name for c in db.get(Company, company.id).categories} == {"N", "B"}


def test_undo_keeps_a_category_the_company_had_before_the_lead_brought_it_too(db, make_user):
    north = factories.category(db, "North", 1)
    company = factories.company(db)
    db.add(CompanyCategory(company_id=company.id, category_id=north.id))  # from an import
    lead = factories.lead(db, make_user(), "Ann")
    categories.add_to_lead(db, lead.id, [north.id])
    db.commit()
    assert categories.carry_to_company(db, lead, company) == []
    categories.uncarry_from_company(db, lead, company.id)
    db.commit()
    db.expire_all()
    assert [c.name for c in db.get(Company, company.id).categories] == ["North"]


def test_the_leads_list_and_review_filter_by_category(db, make_user):
    from datetime import date

    from quickcrm.domain import leads

    north = factories.category(db, "North", 1)
    owner = make_user()
    tagged, _other = factories.lead(db, owner, "Ann"), factories.lead(db, owner, "Bob")
    categories.add_to_lead(db, tagged.id, [north.id])
    db.commit()
    query = leads.LeadQuery.from_args({"category": str(north.id)})
    assert query.category_id == north.id and query.to_args()["category"] == str(north.id)
    page = leads.list_leads(db, query, owner, today=date(2026, 12, 1))
    assert [lead.name for lead in page.leads] == ["Ann"] and page.total == 1
    assert leads.lead_ids(db, query, owner, today=date(2026, 12, 1)) == [tagged.id]
    for junk in ("x", "0", "99999999999"):
        assert leads.LeadQuery.from_args({"category": junk}).category_id is None


def test_converting_gives_the_company_the_leads_categories_and_undo_takes_them_back(db, make_user):
    from datetime import date

    from quickcrm.domain.convert import ConvertForm, convert_lead, undo_conversion

    coordinator = make_user("c@example.com", "coordinator", "Cora")
    north, south, big = (factories.category(db, n, i) for i, n in enumerate(("N", "S", "B")))

    def convert(lead, **changes):
        raw = {**ConvertForm.initial(db, lead, [], date(2026, 11, 23)).raw, **changes}
        form = ConvertForm.clean(db, raw, phone_region="GB")
        assert form.ok, form.errors
        return convert_lead(db, lead, coordinator, form, phone_region="GB")

    fresh = factories.lead(db, coordinator, "Jo", company_name="Newco")
    categories.add_to_lead(db, fresh.id, [north.id, south.id])
    db.commit()
    made = convert(fresh).company
    assert [c.name for c in made.categories] == ["N", "S"]
    undo_conversion(db, fresh, coordinator)  # the company goes, its categories with it
    assert db.get(Company, made.id) is None
    assert db.scalars(select(CompanyCategory)).all() == []

    acme = factories.company(db, "Acme")
    db.add(CompanyCategory(company_id=acme.id, category_id=big.id))
    lead = factories.lead(db, coordinator, "Ann", company_name="Acme")
    categories.add_to_lead(db, lead.id, [north.id])
    db.commit()
    convert(lead, company=str(acme.id))
    db.expire_all()
    assert [c.name for c in db.get(Company, acme.id).categories] == ["N", "B"]
    undo_conversion(db, db.get(Lead, lead.id), coordinator)
    db.expire_all()
    assert [c.name for c in db.get(Company, acme.id).categories] == ["B"]
    assert [c.name for c in db.get(Lead, lead.id).categories] == ["N"]  # the lead keeps its own


def test_the_leads_and_companies_csv_have_a_categories_column(db, make_user):
    from datetime import date

    from quickcrm.domain import companies, exports, leads
    from tests.unit.test_exports import read

    owner = make_user("c@example.com", "coordinator")
    south, north = factories.category(db, "South", 2), factories.category(db, "North", 1)
    ann, _bob = factories.lead(db, owner, "Ann"), factories.lead(db, owner, "Bob")
    categories.add_to_lead(db, ann.id, [south.id, north.id])
    acme = factories.company(db, "Acme")
    db.add(CompanyCategory(company_id=acme.id, category_id=south.id))
    db.commit()
    query = leads.LeadQuery.from_args({"sort": "name"})
    _, rows = read(db, exports.lead_export(db, query, owner, today=date(2026, 12, 1)))
    column = rows[0].index("Categories")
    assert [(row[1], row[column]) for row in rows[1:]] == [("Ann", "North; South"), ("Bob", "")]
    _, rows = read(db, exports.company_export(companies.CompanyQuery.from_args({})))
    assert rows[1][rows[0].index("Categories")] == "South"


def test_the_forecast_breaks_the_open_pipeline_down_by_category(db, make_user):
    from decimal import Decimal

    from quickcrm.domain import forecast

    north, south = factories.category(db, "North", 1), factories.category(db, "South", 2)
    both, plain = factories.company(db, "Both"), factories.company(db, "Plain")
    db.add_all(
        [
            CompanyCategory(company_id=both.id, category_id=north.id),
            CompanyCategory(company_id=both.id, category_id=south.id),
        ]
    )
    factories.opportunity(db, both, "Big", "10000", "Proposal")  # 50 %
    factories.opportunity(db, plain, "Small", "1000", "New")  # 10 %
    factories.opportunity(db, both, "Gone", "5000", "Lost", outcome="lost", lost_reason="Price")
    owner = make_user()
    tagged = factories.lead(db, owner, "Ann", potential_value=Decimal("300"))
    factories.lead(db, owner, "Bob")
    factories.lead(db, owner, "Cleo", status="disqualified", disqualified_reason="no fit")
    categories.add_to_lead(db, tagged.id, [south.id])
    db.commit()
    rows = {r.name: r for r in forecast.by_category(db)}
    assert list(rows) == ["North", "South", forecast.NO_CATEGORY]
    north_row, south_row, none = rows.values()
    # The company in both counts in both.
    assert (north_row.opportunities, north_row.total, north_row.weighted) == (
        1,
        Decimal("10000.00"),
        Decimal("5000.00"),
    )
    assert (south_row.opportunities, south_row.leads, south_row.potential) == (
        1,
        1,
        Decimal("300.00"),
    )
    assert (none.opportunities, none.total, none.weighted, none.leads) == (
        1,
        Decimal("1000.00"),
        Decimal("100.00"),
        1,
    )
