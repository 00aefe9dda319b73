"""The forecast over HTTP: who may open it, a bad period, its block for htmx."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize("path", ["/forecast", "/admin"])
def test_a_rep_may_not_open_forecast_or_admin(client, rep, path):
    assert client.get(path).status_code == 403


def test_a_coordinator_sees_the_forecast_but_not_admin(client, coordinator):
    assert client.get("/forecast").status_code == 200
    assert client.get("/admin").status_code == 403
    assert client.get("/forecast?start=2026-13-01").status_code == 422


def test_htmx_period_gets_the_forecasts_block(client, coordinator):
    period = client.get("/forecast?start=2026-01-01&end=2026-12-31", headers={"HX-Request": "true"})
    assert period.status_code == 200 and "Funnel" in period.get_data(as_text=True)
