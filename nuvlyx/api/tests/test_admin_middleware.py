"""The admin's session, CSRF, user and messages middleware skip API requests (issue 15) and still guard
the admin: an API request carries no session and sets no cookie even with a session cookie sent; the
admin keeps its session, its user and its CSRF check."""

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

pytestmark = pytest.mark.django_db


def test_an_api_request_gets_no_session_user_or_cookie(api, store):
    user = get_user_model().objects.create_user("owner", "owner@example.com", "pw", is_staff=True)
    api.client.force_login(user)  # a session cookie rides along, as from a browser logged in to the admin
    response = api.get("/me")
    assert response.status_code == 200
    request = response.wsgi_request
    assert not hasattr(request, "session") and not hasattr(request, "_messages")
    assert "sessionid" not in response.cookies and "csrftoken" not in response.cookies
    assert response.json()["store"]["id"] == str(store.pk)  # the token's store, never the session's user


def test_the_admin_keeps_its_session_user_and_csrf_check(store):
    get_user_model().objects.create_user("owner", "owner@example.com", "pw", is_staff=True)
    browser = Client(enforce_csrf_checks=True)
    refused = browser.post("/admin/login/", {"username": "owner", "password": "pw"})
    assert refused.status_code == 403  # no CSRF token: CsrfViewMiddleware still runs on the admin
    page = browser.get("/admin/login/")
    assert hasattr(page.wsgi_request, "session") and page.wsgi_request.user.is_anonymous
    token = page.cookies["csrftoken"].value
    logged_in = browser.post(
        "/admin/login/", {"username": "owner", "password": "pw", "csrfmiddlewaretoken": token, "next": "/admin/"}
    )
    assert logged_in.status_code == 302 and "sessionid" in logged_in.cookies
    assert browser.get("/admin/").wsgi_request.user.username == "owner"
