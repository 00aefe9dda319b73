"""Admins manage users in the browser: invite, change a role, deactivate, reactivate
(inviting and resetting a password: tests/integration/test_accounts.py)."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from quickcrm.models import User
from tests.conftest import PASSWORD, Auth, csrf_token


def users_in(db) -> int:
    return db.scalar(select(func.count()).select_from(User))


def new_user(client, **values):
    data = {"name": "Nina New", "email": "nina@example.com", "role": "rep"}
    data.update(values)
    return client.post(
        "/admin/users/invite", data={**data, "csrf_token": csrf_token(client, "/admin/users")}
    )


def test_admin_page_links_to_users_which_lists_everyone(client, admin, make_user):
    rita = make_user("rita@example.com", "rep", "Rita Rep")
    assert 'href="/admin/users"' in client.get("/admin").get_data(as_text=True)
    page = client.get("/admin/users").get_data(as_text=True)
    assert 'Ada Admin</strong> <span class="badge">you</span>' in page
    assert "Rita Rep" in page and "rita@example.com" in page
    assert f'href="/admin/users/{rita.id}"' in page and f'href="/admin/users/{admin.id}"' in page
    assert '<label for="role">Role</label>' in page and ">Invite user</button>" in page
    assert "Deactivate" not in page  # one line a person: the rest is on their page
    assert "Temporary password" not in page  # nobody types another person's password


def test_a_users_page_has_what_an_admin_does_for_them(client, admin, make_user):
    rita = make_user("rita@example.com", "rep", "Rita Rep")
    response = client.get(f"/admin/users/{rita.id}")
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    page = response.get_data(as_text=True)
    assert '<h1 class="admin-person">Rita Rep</h1>' in page and "rita@example.com" in page
    for action in ("role", "reset-password", "hand-over", "deactivate"):
        assert f'action="/admin/users/{rita.id}/{action}"' in page, action
    assert '<label for="role">Role</label>' in page
    assert '>Deactivate<span class="visually-hidden"> Rita Rep</span></button>' in page
    assert '>Reset password<span class="visually-hidden"> of Rita Rep</span></button>' in page
    takers = re.findall(r'<option value="(\d+)"\s*>([^<]+)</option>', page)
    assert takers == [(str(admin.id), "Ada Admin")]  # never Rita herself
    assert client.get("/admin/users/9999").status_code == 404


def test_an_admins_own_page_offers_nothing_they_may_not_do(client, admin):
    page = client.get(f"/admin/users/{admin.id}").get_data(as_text=True)
    assert "This is you" in page and 'href="/account/password"' in page
    for action in ("role", "reset-password", "hand-over", "deactivate"):
        assert f'action="/admin/users/{admin.id}/{action}"' not in page, action


def test_admin_invites_a_user_who_has_no_password_yet(app, client, admin, db):
    response = new_user(client, role="coordinator")
    assert response.status_code == 201
    page = response.get_data(as_text=True)
    assert "Invited Nina New (coordinator)" in page and "/password/" in page
    assert response.headers["Cache-Control"] == "no-store"
    nina = db.scalar(select(User).where(User.email == "nina@example.com"))
    assert nina.role == "coordinator" and nina.active

    other = app.test_client()
    refused = Auth(other).login("nina@example.com", "")
    assert refused.status_code == 401


@pytest.mark.parametrize(
    ("values", "field", "message"),
    [
        ({"email": "admin@example.com"}, "email", "A user with this email already exists."),
        ({"email": "not an email"}, "email", "email"),
        ({"role": "boss"}, "role", "Role must be one of rep, coordinator, admin."),
    ],
)
def test_bad_new_user_answers_422_and_writes_nothing(client, admin, db, values, field, message):
    before = users_in(db)
    response = new_user(client, **values)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert f'<p class="field-error" id="{field}-error">' in page and message in page
    assert 'value="Nina New"' in page  # what was typed stays
    assert users_in(db) == before


def test_admin_changes_a_role(client, admin, make_user, db):
    rita = make_user("rita@example.com", "rep", "Rita Rep")
    token = csrf_token(client, "/admin/users")
    response = client.post(
        f"/admin/users/{rita.id}/role", data={"csrf_token": token, "role": "coordinator"}
    )
    assert response.status_code == 303
    db.expire_all()
    assert rita.role == "coordinator"
    refused = client.post(
        f"/admin/users/{rita.id}/role", data={"csrf_token": token, "role": "boss"}
    )
    assert refused.status_code == 422
    db.expire_all()
    assert rita.role == "coordinator"


def test_a_deactivated_user_is_signed_out_and_cannot_sign_in(app, client, admin, make_user, db):
    rita = make_user("rita@example.com", "rep", "Rita Rep")
    phone = app.test_client()
    Auth(phone).login("rita@example.com", remember=True)
    assert phone.get("/leads/").status_code == 200
    assert phone.get_cookie("remember_token") is not None

    token = csrf_token(client, "/admin/users")
    response = client.post(f"/admin/users/{rita.id}/deactivate", data={"csrf_token": token})
    assert response.status_code == 303
    assert response.location.endswith(f"/admin/users/{rita.id}")
    page = client.get(response.location).get_data(as_text=True)
    assert "Deactivated Rita Rep: they can no longer sign in." in page
    assert f'action="/admin/users/{rita.id}/reactivate"' in page
    assert f'action="/admin/users/{rita.id}/deactivate"' not in page
    db.expire_all()
    assert rita.active is False

    # Her open session (and its "stay signed in" cookie) ends at her next request.
    answer = phone.get("/leads/")
    assert answer.status_code == 302 and "/login" in answer.location
    assert phone.get_cookie("remember_token") is None
    assert phone.get("/leads/").status_code == 302
    refused = Auth(app.test_client()).login("rita@example.com")
    assert refused.status_code == 401

    client.post(f"/admin/users/{rita.id}/reactivate", data={"csrf_token": token})
    assert phone.get("/leads/").status_code == 302  # that session stays ended
    again = app.test_client()
    Auth(again).login("rita@example.com")
    assert again.get("/leads/").status_code == 200


def test_the_last_active_admin_cannot_be_removed(client, admin, db):
    token = csrf_token(client, "/admin/users")
    for url, data in (
        (f"/admin/users/{admin.id}/deactivate", {}),
        (f"/admin/users/{admin.id}/role", {"role": "coordinator"}),
    ):
        response = client.post(url, data={"csrf_token": token, **data})
        assert response.status_code == 422
        assert "QuickCRM needs at least one active admin." in response.get_data(as_text=True)
    db.expire_all()
    assert admin.active and admin.role == "admin"


def test_an_admin_cannot_deactivate_or_demote_themselves(client, admin, make_user, db):
    make_user("bea@example.com", "admin", "Bea Admin")
    token = csrf_token(client, "/admin/users")
    gone = client.post(f"/admin/users/{admin.id}/deactivate", data={"csrf_token": token})
    assert gone.status_code == 422
    assert "You cannot deactivate yourself." in gone.get_data(as_text=True)
    demoted = client.post(
        f"/admin/users/{admin.id}/role", data={"csrf_token": token, "role": "rep"}
    )
    assert demoted.status_code == 422
    assert "You cannot remove your own admin role." in demoted.get_data(as_text=True)
    db.expire_all()
    assert admin.active and admin.role == "admin"


def user_routes(user_id: int):
    return [
        ("GET", "/admin/users"),
        ("POST", "/admin/users/invite"),
        ("POST", f"/admin/users/{user_id}/role"),
        ("POST", f"/admin/users/{user_id}/reset-password"),
        ("POST", f"/admin/users/{user_id}/deactivate"),
        ("POST", f"/admin/users/{user_id}/reactivate"),
    ]


@pytest.mark.parametrize("role", ["rep", "coordinator"])
def test_only_admins_reach_the_user_routes(client, sign_in_as, make_user, db, role):
    target = make_user("target@example.com", "rep", "Tara Target")
    sign_in_as(role)
    token = csrf_token(client, "/")
    for method, url in user_routes(target.id):
        data = {"csrf_token": token, "role": "admin", **new_user_form()}
        assert client.open(url, method=method, data=data).status_code == 403, url
    assert client.get(f"/admin/users/{target.id}").status_code == 403
    db.expire_all()
    assert target.role == "rep" and target.active
    assert db.scalar(select(User).where(User.email == "nina@example.com")) is None


def new_user_form():
    return {"name": "Nina", "email": "nina@example.com", "password": PASSWORD}


def test_user_routes_need_csrf_and_known_users(client, admin, make_user, db):
    rita = make_user("rita@example.com", "rep", "Rita Rep")
    for _, url in user_routes(rita.id)[1:]:
        assert client.post(url, data={"role": "coordinator", **new_user_form()}).status_code == 400
    db.expire_all()
    assert rita.role == "rep" and rita.active and users_in(db) == 2
    token = csrf_token(client, "/admin/users")
    for _, url in user_routes(9999)[2:]:
        assert client.post(url, data={"csrf_token": token, "role": "rep"}).status_code == 404
