"""/healthz: what a load balancer asks an app server before sending it users."""

from __future__ import annotations

from quickcrm import create_app
from tests.conftest import config_for


def test_the_health_check_answers_ok_without_sign_in_and_without_data(client, rep):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_data(as_text=True) == "ok\n"
    assert response.headers["Cache-Control"] == "no-store"
    assert "Set-Cookie" not in response.headers


def test_a_server_that_cannot_reach_its_database_answers_503(database_url, tmp_path):
    # Nothing listens on port 9: the database is down for this app server.
    config = config_for(database_url) | {
        "DATABASE_URL": "postgresql+psycopg://nobody@127.0.0.1:9/none?connect_timeout=2"
    }
    app = create_app(config, instance_path=str(tmp_path))
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.get_data(as_text=True) == "database unreachable\n"
