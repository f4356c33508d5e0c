from __future__ import annotations

import pytest
from django.urls import reverse

from accounts.tests.factories import make_moderator
from matching.models import Interest
from profiles.tests.factories import make_groom, make_member

pytestmark = pytest.mark.django_db


def test_moderator_reads_interests_and_cannot_change_them(client):
    bride, groom, other = make_member(), make_groom(), make_member()
    interest = Interest.objects.create(sender=groom.user, receiver=bride.user, message="Hello")
    Interest.objects.create(sender=make_groom().user, receiver=other.user)
    client.force_login(make_moderator())

    listed = client.get(
        reverse("admin:matching_interest_changelist"), {"q": groom.user.profile_code}
    )
    page = client.get(reverse("admin:matching_interest_change", args=[interest.pk]))
    posted = client.post(
        reverse("admin:matching_interest_change", args=[interest.pk]), {"status": "accepted"}
    )

    assert listed.status_code == 200
    assert listed.context["cl"].result_count == 1
    assert page.status_code == 200 and "Hello" in page.content.decode()
    assert posted.status_code == 403
    interest.refresh_from_db()
    assert interest.status == "pending"
