"""The API docs (`/api/schema/`, `/docs`, `/redoc`): public unless AURUM_PUBLIC_DOCS is off (the
default in prod), then for staff only; and every page under a Content-Security-Policy that the
admin and both docs UIs work under (read from Chromium's console)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from accounts.tests.factories import PASSWORD, UserFactory, make_admin, make_moderator

pytestmark = pytest.mark.django_db

SCHEMA = "/api/schema/"
REDOCLY_LOGO = "https://cdn.redoc.ly/redoc/logo-mini.svg"
PAGES = ["/docs", "/redoc"]


@pytest.fixture
def staff_only(settings):
    settings.AURUM_PUBLIC_DOCS = False


def test_public_docs_by_default_outside_production(client):
    from django.conf import settings

    assert settings.AURUM_PUBLIC_DOCS is True  # AURUM_ENV=dev here
    for path in [SCHEMA, *PAGES]:
        assert client.get(path).status_code == 200, path


def test_staff_only_docs_send_a_browser_to_the_admin_login(client, staff_only):
    for path in PAGES:
        response = client.get(path)

        assert response.status_code == 302, path
        assert response["Location"] == f"/admin/login/?next={path}"


def test_staff_only_schema_refuses_anonymous_callers_and_members(api, client_for, staff_only):
    anonymous = api.get(SCHEMA)
    member = client_for(UserFactory()).get(SCHEMA)

    assert anonymous.status_code == 401 and anonymous.json()["code"] == "not_authenticated"
    assert member.status_code == 403 and member.json()["code"] == "permission_denied"
    for path in PAGES:
        assert client_for(UserFactory()).get(path).status_code == 403, path


def test_staff_read_staff_only_docs_signed_into_the_admin_or_with_a_token(
    client, client_for, staff_only
):
    client.force_login(make_moderator())
    with_token = client_for(make_admin())

    for path in [SCHEMA, *PAGES]:
        assert client.get(path).status_code == 200, path
        assert with_token.get(path).status_code == 200, path


def test_staff_without_the_mfa_they_need_do_not_read_staff_only_docs(client, settings, staff_only):
    settings.AURUM_ADMIN_REQUIRE_MFA = True
    client.force_login(make_moderator())  # a password sign-in, no code

    assert client.get(SCHEMA).status_code == 403
    assert client.get("/docs").status_code == 403


def test_production_makes_the_docs_staff_only_unless_configured_public():
    from aurum.tests.test_wiring import BASE_DIR, PROD_ENV

    def public_docs(extra: dict[str, str]) -> str:
        env = {k: v for k, v in os.environ.items() if k not in PROD_ENV}
        return subprocess.run(
            [sys.executable, "-c", "from aurum import settings; print(settings.AURUM_PUBLIC_DOCS)"],
            cwd=BASE_DIR,
            env={**env, **PROD_ENV, "DEBUG": "0", **extra},
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()

    assert public_docs({}) == "False"
    assert public_docs({"AURUM_PUBLIC_DOCS": "true"}) == "True"


def test_every_page_carries_a_content_security_policy(client):
    client.force_login(make_moderator())

    for path in ["/admin/", "/admin/accounts/auditlog/", "/api/v1/auth/me", *PAGES, SCHEMA]:
        policy = client.get(path)["Content-Security-Policy"]
        directives = dict(part.strip().split(" ", 1) for part in policy.split(";"))
        assert directives["script-src"] == "'self'", path  # no inline script anywhere
        assert directives["object-src"] == "'none'" and directives["frame-ancestors"] == "'none'"
        assert "'unsafe-eval'" not in policy, path


# --- in a real browser ------------------------------------------------------------------------


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_both_docs_uis_render_under_their_policy_for_a_signed_in_moderator(
    live_server, browser, csp_violations, settings
):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    settings.AURUM_PUBLIC_DOCS = False
    make_moderator(email="meera@aurum.example")

    # Not signed in: the docs send the browser to the admin's login, and back after it.
    browser.get(f"{live_server.url}/docs")
    WebDriverWait(browser, 15).until(lambda b: "/admin/login/" in b.current_url)
    browser.find_element(By.NAME, "username").send_keys("meera@aurum.example")
    browser.find_element(By.NAME, "password").send_keys(PASSWORD)
    browser.find_element(By.CSS_SELECTOR, "input[type=submit]").click()
    WebDriverWait(browser, 15).until(lambda b: b.current_url.endswith("/docs"))

    # Swagger UI drew the schema: its title and an operation of every app.
    WebDriverWait(browser, 20).until(
        lambda b: "Aurum API" in b.find_element(By.CSS_SELECTOR, ".swagger-ui .info").text
    )
    WebDriverWait(browser, 20).until(
        lambda b: len(b.find_elements(By.CSS_SELECTOR, ".opblock")) > 20
    )
    assert csp_violations() == []

    browser.get(f"{live_server.url}/redoc")
    # ReDoc drew it too: the title, and the operations in its side menu.
    WebDriverWait(browser, 20).until(
        lambda b: "Aurum API" in " ".join(h.text for h in b.find_elements(By.TAG_NAME, "h1"))
    )
    WebDriverWait(browser, 20).until(
        lambda b: len(b.find_elements(By.CSS_SELECTOR, "[role=menuitem]")) > 20
    )
    # Refused on purpose, the one thing: ReDoc's footer shows Redocly's logo from their CDN
    # (it then drops the image and keeps the words). Nothing else may be refused.
    refused = csp_violations()
    assert [m for m in refused if REDOCLY_LOGO not in m] == [], refused
