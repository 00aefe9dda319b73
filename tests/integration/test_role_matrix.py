"""Route × role: every route of the URL map, tried by every kind of visitor, answers as
the roles of docs/security.md say. A route without an entry in ACCESS fails the test, so
a new route cannot ship without deciding who may use it."""

from __future__ import annotations

import re

import pytest

from quickcrm.models import (
    Activity,
    Lead,
    MeetingSnapshot,
    Stage,
    TeamSettings,
)
from tests import factories
from tests.conftest import PASSWORD, Auth, csrf_token

# Who may use each route:
#   anyone       — no sign-in needed (sign-in itself, static files, token-authenticated feeds);
#   token        — no sign-in either: an API token is the credential, and no visitor here
#                  holds one, so everyone gets 401 (tests/integration/test_api.py has it);
#   signed-in    — every signed-in user;
#   owner        — the rep the record belongs to, and coordinators and admins;
#   coordinator  — coordinators and admins;
#   admin        — admins only.
ACCESS = {
    ("static", "GET"): "anyone",
    ("auth.login", "GET"): "anyone",
    ("auth.login", "POST"): "anyone",
    # The second step of signing in: only with a right password's note in the session.
    ("auth.login_code", "GET"): "anyone",
    ("auth.login_code", "POST"): "anyone",
    ("auth.setup", "GET"): "anyone",
    ("auth.setup", "POST"): "anyone",
    ("auth.forgot_password", "GET"): "anyone",
    ("auth.forgot_password", "POST"): "anyone",
    ("auth.choose_password", "GET"): "anyone",
    ("auth.choose_password", "POST"): "anyone",
    ("shell.service_worker", "GET"): "anyone",
    ("shell.health", "GET"): "anyone",
    # A CA certificate is public; 404 unless scripts/serve made one (test_phones.py).
    ("phones.certificate", "GET"): "anyone",
    ("phones.index", "GET"): "admin",
    ("agenda.feed", "GET"): "anyone",
    # A reminder email's stop link: its signed token is the credential (here a wrong one:
    # 404 for everyone; tests/integration/test_reminder_emails.py tries right ones).
    ("reminders.stop", "GET"): "anyone",
    ("reminders.stop", "POST"): "anyone",
    ("api.create_lead", "POST"): "token",
    ("auth.logout", "POST"): "signed-in",
    ("auth.account", "GET"): "signed-in",
    ("auth.account", "POST"): "signed-in",
    ("auth.change_password", "GET"): "signed-in",
    ("auth.change_password", "POST"): "signed-in",
    ("auth.two_step", "GET"): "signed-in",
    ("auth.two_step", "POST"): "signed-in",
    ("auth.two_step_off", "POST"): "signed-in",
    ("reminders.settings", "GET"): "signed-in",
    ("reminders.settings", "POST"): "signed-in",
    # Notifications on this phone: each user's own subscriptions only.
    ("notifications.settings", "GET"): "signed-in",
    ("notifications.key", "GET"): "signed-in",
    ("notifications.subscribe", "POST"): "signed-in",
    ("notifications.unsubscribe", "POST"): "signed-in",
    ("admin.turn_off_two_step", "POST"): "admin",
    ("capture.index", "GET"): "signed-in",
    ("capture.save", "POST"): "signed-in",
    ("capture.sync", "POST"): "signed-in",
    ("shell.token", "GET"): "signed-in",
    # Anyone signed in may ask; only the rep who captured it within minutes gets it (409).
    ("capture.undo", "POST"): "signed-in",
    ("agenda.index", "GET"): "signed-in",
    ("agenda.calendar", "GET"): "signed-in",
    ("agenda.regenerate_calendar", "POST"): "signed-in",
    ("agenda.done", "POST"): "owner",
    ("agenda.snooze", "POST"): "owner",
    ("leads.index", "GET"): "signed-in",
    ("leads.review", "GET"): "signed-in",
    ("leads.detail", "GET"): "owner",
    ("leads.field_row", "GET"): "owner",
    ("leads.save_field", "POST"): "owner",
    ("leads.log_activity", "POST"): "owner",
    ("leads.snooze", "POST"): "owner",
    ("leads.disqualify", "POST"): "coordinator",
    ("leads.reopen", "POST"): "coordinator",
    # Merging two leads, its undo and the possible duplicates (quickcrm/views/lead_merges.py).
    ("merges.pick", "GET"): "coordinator",
    ("merges.compare", "GET"): "coordinator",
    ("merges.merge", "POST"): "coordinator",
    ("merges.undo", "POST"): "coordinator",
    ("merges.duplicates", "GET"): "coordinator",
    ("convert.form", "GET"): "coordinator",
    ("convert.convert", "POST"): "coordinator",
    # Coordinators may ask; only the one who converted (or an admin) gets it done (409).
    ("convert.undo", "POST"): "coordinator",
    ("companies.index", "GET"): "signed-in",
    ("companies.detail", "GET"): "signed-in",
    ("companies.log_activity", "POST"): "signed-in",
    ("companies.update", "POST"): "coordinator",
    ("companies.merge", "POST"): "coordinator",
    ("companies.new", "GET"): "coordinator",
    ("companies.create", "POST"): "coordinator",
    # Reps add contacts at any company (docs/pipeline.md, "Existing customers").
    ("companies.new_contact", "GET"): "signed-in",
    ("companies.create_contact", "POST"): "signed-in",
    ("companies.new_opportunity", "GET"): "coordinator",
    ("companies.create_opportunity", "POST"): "coordinator",
    ("contacts.index", "GET"): "signed-in",
    ("contacts.detail", "GET"): "signed-in",
    ("contacts.vcard", "GET"): "signed-in",
    ("contacts.log_activity", "POST"): "signed-in",
    ("contacts.update", "POST"): "coordinator",
    ("opportunities.index", "GET"): "signed-in",
    ("opportunities.listing", "GET"): "signed-in",
    ("opportunities.detail", "GET"): "signed-in",
    ("opportunities.log_activity", "POST"): "signed-in",
    ("opportunities.move", "POST"): "owner",
    ("opportunities.won", "POST"): "owner",
    ("opportunities.lost", "POST"): "owner",
    ("opportunities.update", "POST"): "coordinator",
    ("forecast.index", "GET"): "coordinator",
    ("meeting.index", "GET"): "coordinator",
    ("meeting.start", "POST"): "coordinator",
    ("admin.index", "GET"): "admin",
    ("system.index", "GET"): "admin",
    ("system.run_now", "POST"): "admin",
    ("admin.add_stage", "POST"): "admin",
    ("admin.edit_stage", "POST"): "admin",
    ("admin.move_stage", "POST"): "admin",
    ("admin.remove_stage", "POST"): "admin",
    ("admin.add_lost_reason", "POST"): "admin",
    ("admin.remove_lost_reason", "POST"): "admin",
    ("admin.user_list", "GET"): "admin",
    ("admin.user_page", "GET"): "admin",
    ("admin.invite_user", "POST"): "admin",
    ("admin.reset_password", "POST"): "admin",
    ("admin.change_role", "POST"): "admin",
    ("admin.deactivate_user", "POST"): "admin",
    ("admin.reactivate_user", "POST"): "admin",
    # Exports follow the lists' visibility (a rep's leads export holds their own leads).
    ("exports.leads_csv", "GET"): "signed-in",
    ("exports.companies_csv", "GET"): "signed-in",
    ("exports.contacts_csv", "GET"): "signed-in",
    ("exports.opportunities_csv", "GET"): "signed-in",
    ("exports.activities_csv", "GET"): "admin",
    ("exports.backup_json", "GET"): "admin",
    ("admin.hand_over", "POST"): "admin",
    ("admin.add_segment", "POST"): "admin",
    ("admin.remove_segment", "POST"): "admin",
    ("admin.category_list", "GET"): "admin",
    ("admin.add_category", "POST"): "admin",
    ("admin.rename_category", "POST"): "admin",
    ("admin.move_category", "POST"): "admin",
    ("admin.remove_category", "POST"): "admin",
    ("leads.reassign", "POST"): "coordinator",
    ("leads.reassign_many", "POST"): "coordinator",
    ("admin.team_settings", "GET"): "admin",
    ("admin.save_team_settings", "POST"): "admin",
    ("admin.tokens", "GET"): "admin",
    ("admin.create_token", "POST"): "admin",
    ("admin.revoke_token", "POST"): "admin",
    # Reading a card stores nothing: any signed-in user may ask.
    ("capture.read_card", "POST"): "signed-in",
    ("capture.warm_up_card_reader", "POST"): "signed-in",
    # A duplicate hint: anyone signed in; what it tells of a lead depends on the viewer
    # (tests/integration/test_duplicate_hints.py).
    ("duplicates.hints", "GET"): "signed-in",
    ("leads.add_voice_note", "POST"): "owner",
    ("leads.card_checked", "POST"): "owner",
    # A lead's photo or voice note: whoever may see the lead (the world's is not converted).
    ("attachments.show", "GET"): "owner",
    ("imports.index", "GET"): "admin",
    ("imports.upload", "POST"): "admin",
    ("imports.detail", "GET"): "admin",
    ("imports.start", "POST"): "admin",
    ("imports.run_batches", "POST"): "admin",
    ("imports.refused_csv", "GET"): "admin",
    ("imports.warnings_csv", "GET"): "admin",
    ("imports.undo", "POST"): "admin",
}

# Which levels each visitor reaches.
REACHES = {
    "anonymous": {"anyone"},
    "owner rep": {"anyone", "signed-in", "owner"},
    "other rep": {"anyone", "signed-in"},
    "coordinator": {"anyone", "signed-in", "owner", "coordinator"},
    "admin": {"anyone", "signed-in", "owner", "coordinator", "admin"},
}
ROLE_OF = {"owner rep": "rep", "other rep": "rep", "coordinator": "coordinator", "admin": "admin"}


def routes(app):
    """(endpoint, method, rule) of every route; signing out last, as it ends the session."""
    found = [
        (rule.endpoint, method, rule)
        for rule in app.url_map.iter_rules()
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"})
    ]
    return sorted(found, key=lambda r: (r[0] == "auth.logout", r[2].rule, r[1]))


def test_every_route_has_an_entry(app):
    missing = {(endpoint, method) for endpoint, method, _ in routes(app)} - set(ACCESS)
    assert not missing, f"routes without an entry in ACCESS: {sorted(missing)}"
    stale = set(ACCESS) - {(endpoint, method) for endpoint, method, _ in routes(app)}
    assert not stale, f"entries of ACCESS without a route: {sorted(stale)}"


@pytest.fixture
def world(db, make_user):
    """Records owned by the owner rep, a spare user and stage for the admin routes."""
    users = {
        name: make_user(f"{name.replace(' ', '-')}@example.com", role, name.title())
        for name, role in ROLE_OF.items()
    }
    owner = users["owner rep"]
    spare = make_user("spare@example.com", "rep", "Spare User")
    spare_stage = Stage(name="Spare", position=99, probability=5, outcome="open")
    db.add(spare_stage)
    db.commit()
    path = factories.one_of_each(db, owner, owner, users["admin"])
    path.update(stage_id=spare_stage.id, user_id=spare.id, filename="app.css")
    return {"users": users, "path": path}


def url_of(rule, values: dict) -> str:
    return re.sub(r"<(?:\w+:)?(\w+)>", lambda m: str(values[m.group(1)]), rule.rule)


def denied(response, visitor: str) -> bool:
    """Did the app refuse this visitor for who they are (not for what they sent)?"""
    if response.status_code == 401 and "Bearer" in response.headers.get("WWW-Authenticate", ""):
        return True  # an API route, asking for its token
    if visitor == "anonymous":  # sent to sign in, and back here afterwards
        location = response.headers.get("Location", "")
        return response.status_code in (302, 303) and "/login?next=" in location
    return response.status_code in (401, 403)


@pytest.mark.commits  # it downloads the exports, which stream from a session of their own
@pytest.mark.parametrize("visitor", list(REACHES))
def test_route_by_role(app, db, world, visitor):
    client = app.test_client()
    if visitor != "anonymous":
        Auth(client).login(world["users"][visitor].email, PASSWORD)
        token = csrf_token(client, "/")
    else:
        token = csrf_token(client, "/login")
    wrong = []
    for endpoint, method, rule in routes(app):
        url = url_of(rule, world["path"])
        data = {"csrf_token": token} if method == "POST" else None
        response = client.open(url, method=method, data=data)
        assert response.status_code < 500, (method, url, response.status_code)
        allowed = ACCESS[(endpoint, method)] in REACHES[visitor]
        if denied(response, visitor) == allowed:
            wrong.append(f"{method} {url}: {response.status_code} (allowed: {allowed})")
    assert not wrong, f"{visitor}:\n" + "\n".join(wrong)


@pytest.mark.commits  # it opens every page, the streamed exports and backup among them
def test_no_page_an_admin_opens_says_utc(app, db, world):
    """Dates and times are the viewer's (issue 22): no page writes "UTC" beside one. A zone
    offered in a time zone select ("UTC", "Etc/UTC") is a choice, not a time."""
    admin = world["users"]["admin"]
    db.add(TeamSettings(id=1, time_zone="Australia/Perth", currency="AUD", locale="en-AU",
                        week_start=0, phone_region="AU"))  # fmt: skip
    db.add_all([MeetingSnapshot(taken_by_id=admin.id), MeetingSnapshot(taken_by_id=admin.id)])
    lead = db.get(Lead, world["path"]["lead_id"])
    db.add(Activity(kind="note", text="Met", lead=lead, author_id=admin.id))
    db.commit()
    client = app.test_client()
    Auth(client).login(admin.email, PASSWORD)
    saying_utc = []
    for endpoint, method, rule in routes(app):
        if method != "GET" or endpoint == "auth.logout":
            continue
        response = client.get(url_of(rule, world["path"]))
        response.close()  # a streamed download keeps its request context until closed
        if response.mimetype != "text/html":
            continue
        page = re.sub(r'<option value="[^"]*UTC[^"]*"[^>]*>[^<]*</option>', "", response.text)
        if "UTC" in page:
            saying_utc.append(rule.rule)
    assert not saying_utc
