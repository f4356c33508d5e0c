"""The verification console in the Django admin, as moderators use it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse
from django.utils import timezone

from accounts.models import AuditAction, AuditLog
from accounts.tests.factories import PASSWORD, UserFactory, make_moderator
from onboarding.models import VerificationQueue
from profiles.models import Profile
from profiles.tests.factories import make_member

pytestmark = pytest.mark.django_db

QUEUE = reverse("admin:onboarding_verificationqueue_changelist")


def pending(days_ago: int, **kwargs) -> Profile:
    profile = make_member(approved=False, **kwargs)
    Profile.objects.filter(pk=profile.pk).update(
        verification_status="Pending", submitted_at=timezone.now() - timedelta(days=days_ago)
    )
    return Profile.objects.select_related("user").get(pk=profile.pk)


def change_url(profile: Profile) -> str:
    return reverse("admin:onboarding_verificationqueue_change", args=[profile.pk])


def test_moderators_group_exists_from_a_migration_with_exactly_its_permissions():
    group = Group.objects.get(name="Moderators")

    codenames = set(group.permissions.values_list("content_type__app_label", "codename"))

    assert ("onboarding", "change_verificationqueue") in codenames
    assert ("profiles", "view_education") in codenames
    assert ("profiles", "change_profile") not in codenames
    assert not any(codename.startswith("delete_") for _, codename in codenames)


def test_queue_lists_pending_first_oldest_first(client):
    newer, older = pending(1), pending(5)
    approved = make_member(approved=True)
    client.force_login(make_moderator())

    page = client.get(QUEUE).content.decode()

    codes = [p.user.profile_code for p in (older, newer, approved)]
    positions = [page.index(code) for code in codes]
    assert positions == sorted(positions)


def test_queue_filters_and_search(client):
    ernakulam = pending(1, district="ernakulam")
    kannur = pending(2, district="kannur")
    client.force_login(make_moderator())

    filtered = client.get(QUEUE, {"district__exact": "kannur"}).content.decode()
    found = client.get(QUEUE, {"q": ernakulam.user.phone}).content.decode()

    assert kannur.user.profile_code in filtered and ernakulam.user.profile_code not in filtered
    assert ernakulam.user.profile_code in found and kannur.user.profile_code not in found


def test_change_page_shows_every_section_on_one_page(client, django_assert_max_num_queries):
    member = pending(1)
    client.force_login(make_moderator())

    with django_assert_max_num_queries(20):
        page = client.get(change_url(member))

    body = page.content.decode()
    assert page.status_code == 200
    for text in ["Master", "Government", "Joint", "Carnatic", member.user.phone]:
        assert text in body, text


def test_approve_on_the_change_page_goes_through_the_service(client):
    member = pending(1)
    moderator = make_moderator()
    client.force_login(moderator)

    response = client.post(
        change_url(member), {"decision": "approve", "notes": "", **_inline_mgmt()}
    )

    assert response.status_code == 302, response.content.decode()[:3000]
    member.user.refresh_from_db()
    assert member.user.admin_approved is True
    assert AuditLog.objects.get(action=AuditAction.VERIFICATION_DECISION).actor == moderator


def test_reject_on_the_change_page_needs_notes(client):
    member = pending(1)
    client.force_login(make_moderator())

    response = client.post(
        change_url(member), {"decision": "reject", "notes": "", **_inline_mgmt()}
    )

    assert response.status_code == 200
    assert b"the member reads the notes" in response.content
    assert Profile.objects.get(pk=member.pk).verification_status == "Pending"


def test_bulk_approve_action(client):
    first, second = pending(1), pending(2)
    client.force_login(make_moderator())

    client.post(QUEUE, {"action": "approve", "_selected_action": [first.pk, second.pk]})

    statuses = set(Profile.objects.values_list("verification_status", flat=True))
    assert statuses == {"Approved"}


def test_bulk_reject_action_asks_for_notes_then_rejects(client):
    member = pending(1)
    client.force_login(make_moderator())

    ask = client.post(QUEUE, {"action": "reject", "_selected_action": [member.pk]})
    done = client.post(
        QUEUE,
        {"action": "reject", "_selected_action": [member.pk], "apply": "1", "notes": "Blurry ID"},
    )

    assert ask.status_code == 200 and b"notes" in ask.content
    assert done.status_code == 302
    profile = Profile.objects.get(pk=member.pk)
    assert profile.verification_status == "Rejected" and profile.admin_notes == "Blurry ID"


def test_members_cannot_open_the_console(client):
    client.force_login(UserFactory())

    assert client.get(QUEUE).status_code == 302


def test_profiles_are_read_only_in_the_admin(client):
    from accounts.tests.factories import make_admin

    member = make_member()
    client.force_login(make_admin())

    response = client.post(
        reverse("admin:profiles_profile_change", args=[member.pk]), {"height_cm": 999}
    )

    assert response.status_code == 403
    assert Profile.objects.get(pk=member.pk).height_cm == 162


def _inline_mgmt() -> dict[str, str]:
    data = {}
    for prefix in ("education", "career", "family", "preferences"):
        data.update(
            {
                f"{prefix}-TOTAL_FORMS": "1",
                f"{prefix}-INITIAL_FORMS": "1",
                f"{prefix}-MIN_NUM_FORMS": "0",
                f"{prefix}-MAX_NUM_FORMS": "1",
            }
        )
    return data


# --- in a real browser ------------------------------------------------------------------------


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_moderator_approves_a_member_in_the_browser(live_server, browser, csp_violations):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select, WebDriverWait

    make_moderator(email="meera@aurum.example")
    member = pending(3)

    browser.get(f"{live_server.url}/admin/login/")
    browser.find_element(By.NAME, "username").send_keys("meera@aurum.example")
    browser.find_element(By.NAME, "password").send_keys(PASSWORD)
    browser.find_element(By.CSS_SELECTOR, "input[type=submit]").click()
    WebDriverWait(browser, 15).until(lambda b: "/admin/login/" not in b.current_url)

    browser.get(f"{live_server.url}{QUEUE}")
    browser.find_element(By.LINK_TEXT, member.user.profile_code).click()
    assert "Carnatic" in browser.page_source  # the member's sections on the one page
    Select(browser.find_element(By.NAME, "decision")).select_by_value("approve")
    browser.find_element(By.NAME, "_save").click()
    WebDriverWait(browser, 15).until(
        lambda b: "changed successfully" in b.page_source or "errornote" in b.page_source
    )

    assert "changed successfully" in browser.page_source, browser.page_source[-3000:]
    assert csp_violations() == []  # every page on the way ran under the admin's policy
    member.user.refresh_from_db()
    assert member.user.admin_approved is True
    assert VerificationQueue.objects.get(pk=member.pk).verification_status == "Approved"
