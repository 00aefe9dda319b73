"""Script stored in a record stays text: payloads in every text field of a lead, company,
contact, opportunity and activity are shown, never run, on every page that shows them —
and the Content-Security-Policy never has to step in (no violation is reported)."""

from __future__ import annotations

from datetime import date

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from quickcrm.models import Activity, Company, Contact, Lead, Opportunity, Stage
from tests.e2e.conftest import sign_in

# Each sets the global `pwned` (and opens a dialog) if it ever runs.
PAYLOADS = (
    "<script>pwned=alert(1)</script>",
    '"><img src=x onerror=pwned=alert(1)>',
    "javascript:pwned=alert(1)//",
    "'><svg/onload=pwned=alert(1)>",
    "{{7*7}}",
)

# Reports what the page would have run or loaded against the policy, and what ran.
WATCH = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__violations.push(`${event.violatedDirective} ${event.blockedURI}`);
});
"""


def hostile(limit: int, start: int = 0) -> str:
    """As many payloads as fit in ``limit`` characters, starting with the ``start``-th."""
    text = ""
    for payload in PAYLOADS[start:] + PAYLOADS[:start]:
        if len(text) + len(payload) <= limit:
            text += payload
    return text


@pytest.fixture
def hostile_records(make_live_user, live_db):
    """Every text field of each kind of record holds script; all on the coordinator's
    agenda, board and review list."""
    cora = make_live_user("cora@example.com", "coordinator", "Cora")
    company = Company(
        name=hostile(200),
        name_key="hostile",
        industry=hostile(120, 1),
        website="javascript://%0apwned=alert(1)",
        email_domain="hostile.example",
        phone=hostile(40, 1),
        address=hostile(1000, 2),
        owner=cora,
    )
    contact = Contact(
        company=company,
        name=hostile(200, 1),
        title=hostile(120, 2),
        email=hostile(254, 3),
        phone=hostile(40, 3),
        owner_id=cora.id,
    )
    stage = live_db.scalars(select(Stage).order_by(Stage.position)).first()
    opportunity = Opportunity(
        company=company,
        contact=contact,
        title=hostile(200, 2),
        stage=stage,
        probability=stage.probability,
        owner=cora,
        close_on=date.today(),
    )
    lead = Lead(
        owner=cora,
        name=hostile(200, 3),
        company_name=hostile(200),
        email=hostile(254, 4),
        phone=hostile(40, 2),
        note=hostile(2000),
        source=hostile(120, 4),
        temperature="hot",
        next_action_on=date.today(),
    )
    live_db.add_all([company, contact, opportunity, lead])
    live_db.flush()
    for record in ("lead", "company", "contact", "opportunity"):
        live_db.add(
            Activity(
                kind="task",
                text=hostile(2000, 1),
                due_on=date.today(),
                author=cora,
                assignee=cora,
                **{record: locals()[record]},
            )
        )
    live_db.commit()
    return {"lead": lead, "company": company, "contact": contact, "opportunity": opportunity}


def test_script_in_any_text_field_is_shown_as_text_and_never_runs(hostile_records, page):
    dialogs, errors = [], []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.on(
        "console",
        lambda message: (
            errors.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.add_init_script(WATCH)
    sign_in(page, "cora@example.com")
    ids = {kind: record.id for kind, record in hostile_records.items()}
    pages = [
        f"/leads/{ids['lead']}",
        "/leads/",
        "/leads/review",
        f"/leads/{ids['lead']}/convert",
        f"/companies/{ids['company']}",
        "/companies/",
        f"/contacts/{ids['contact']}",
        "/contacts/",
        f"/opportunities/{ids['opportunity']}",
        "/opportunities",
        "/agenda",
        "/",
    ]
    for path in pages:
        page.goto(path)
        main = page.get_by_role("main")
        # The payloads are on the page as the text that was typed.
        expect(main).to_contain_text("{{7*7}}")
        expect(main).to_contain_text("pwned=alert(1)")
        assert page.evaluate("() => 'pwned' in window") is False, path
        assert page.evaluate("() => window.__violations") == [], path
        assert dialogs == [] and errors == [], (path, dialogs, errors)

    # The company's website is shown, but a javascript: URL is never a link.
    page.goto(f"/companies/{ids['company']}")
    expect(page.get_by_text("Website: javascript://%0apwned=alert(1)")).to_be_visible()
    expect(page.get_by_role("link", name="Website")).to_have_count(0)
    assert page.locator("[href^='javascript' i], [src^='javascript' i]").count() == 0
