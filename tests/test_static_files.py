"""The owner's admin keeps its CSS and JS in the production shape (DEBUG=false, gunicorn, no proxy)."""

import pytest
import requests


@pytest.mark.live
def test_gunicorn_with_debug_false_serves_the_admin_stylesheet(live_server_proc):
    server = live_server_proc(workers=1, threads=2)
    response = requests.get(f"{server.url}/static/admin/css/base.css", timeout=30)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/css")
    assert b"body" in response.content
    ours = requests.get(f"{server.url}/static/nuvlyx/admin.css", timeout=30)
    assert ours.status_code == 200 and ours.content
