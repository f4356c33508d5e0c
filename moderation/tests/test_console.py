from __future__ import annotations

import re

import pytest
from django.urls import reverse

from accounts.tests.factories import PASSWORD, UserFactory, make_moderator
from moderation import services
from moderation.console import console_numbers
from moderation.models import Report
from profiles.models import Profile
from profiles.tests.factories import make_groom, make_member

pytestmark = pytest.mark.django_db


def test_console_numbers_count_what_is_waiting():
    waiting = make_member(approved=False)
    Profile.objects.filter(pk=waiting.pk).update(verification_status="Pending")
    bride, groom = make_member(), make_groom()
    services.report_create(reporter=bride.user, reported=groom.user, reason="fake_profile")
    UserFactory.create_batch(3)

    numbers = console_numbers(days=30)

    assert numbers["pending_verifications"] == 1
    assert numbers["open_reports"] == 1 and numbers["flagged_reports"] == 0
    assert numbers["signups_today"] == sum(numbers["signups"][-1:]) >= 3
    assert len(numbers["days"]) == len(numbers["signups"]) == 30


def test_admin_index_shows_numbers_and_a_server_drawn_chart(client):
    client.force_login(make_moderator())
    UserFactory.create_batch(2)

    page = client.get(reverse("admin:index")).content.decode()

    assert 'id="console-numbers"' in page
    assert "<svg" in page and "Signups and approvals per day" in page
    # nothing is loaded from another origin (no CDN): every script, style and image is ours
    assert not re.findall(r'(?:src|href)="(?:https?:)?//', page)


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_moderator_suspends_a_reported_member_in_the_browser(
    live_server, browser, api, csp_violations
):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select, WebDriverWait

    make_moderator(email="meera@aurum.example")
    bride, groom = make_member(), make_groom()
    report = services.report_create(reporter=bride.user, reported=groom.user, reason="money_scam")

    browser.get(f"{live_server.url}/admin/login/")
    browser.find_element(By.NAME, "username").send_keys("meera@aurum.example")
    browser.find_element(By.NAME, "password").send_keys(PASSWORD)
    browser.find_element(By.CSS_SELECTOR, "input[type=submit]").click()
    WebDriverWait(browser, 15).until(lambda b: "/admin/login/" not in b.current_url)
    assert "console-numbers" in browser.page_source

    browser.get(f"{live_server.url}{reverse('admin:moderation_report_change', args=[report.pk])}")
    assert groom.user.profile_code in browser.page_source
    Select(browser.find_element(By.NAME, "resolve_with")).select_by_value("suspend")
    browser.find_element(By.NAME, "resolution_notes").send_keys("Asked for money twice")
    browser.find_element(By.NAME, "_save").click()
    WebDriverWait(browser, 15).until(lambda b: "changed successfully" in b.page_source)

    assert csp_violations() == []  # every page on the way ran under the admin's policy
    assert Report.objects.get(pk=report.pk).action == "suspend"
    login = api.post(
        "/api/v1/auth/login", {"identifier": groom.user.email, "password": PASSWORD}, format="json"
    )
    assert login.status_code == 403
    assert login.json()["code"] == "account_disabled"


def test_resolving_an_already_resolved_report_in_the_admin_shows_an_error(client):
    bride, groom = make_member(), make_groom()
    report = services.report_create(reporter=bride.user, reported=groom.user, reason="other")
    moderator = make_moderator()
    services.report_resolve(moderator=moderator, report=report, action="dismiss", notes="")
    client.force_login(moderator)

    response = client.post(
        reverse("admin:moderation_report_change", args=[report.pk]),
        {"resolve_with": "suspend", "resolution_notes": ""},
    )

    assert response.status_code == 200
    assert b"already resolved" in response.content
    assert Report.objects.get(pk=report.pk).action == "dismiss"
