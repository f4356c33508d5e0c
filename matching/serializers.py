from __future__ import annotations

from typing import Any

from django.http import QueryDict
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from aurum.serializers import QuerySerializer, StrictSerializer, choice_list
from matching.models import Interest, InterestStatus
from matching.search import LIST_COLUMNS, ORDERINGS
from profiles.choices import (
    ALL_CASTES,
    HEIGHT_CM_RANGE,
    MAX_AGE,
    MAX_INCOME_INR,
    District,
    EducationLevel,
    MaritalStatus,
    MotherTongue,
    Religion,
    Star,
)
from profiles.serializers import CardOut


class InterestIn(StrictSerializer):
    to_profile = serializers.CharField(max_length=64)
    message = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class InterestQuery(serializers.Serializer):
    direction = serializers.ChoiceField(
        choices=["received", "sent"], required=False, default="received"
    )
    status = serializers.ChoiceField(choices=InterestStatus.choices, required=False)


class InterestOut(serializers.Serializer):
    id = serializers.UUIDField()
    from_profile = serializers.UUIDField(source="sender_id")
    to_profile = serializers.UUIDField(source="receiver_id")
    status = serializers.CharField()
    message = serializers.CharField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    decided_at = serializers.DateTimeField(allow_null=True)
    other = serializers.SerializerMethodField(help_text="The other member, as a card.")

    @extend_schema_field(CardOut(allow_null=True))
    def get_other(self, interest: Interest) -> Any:
        viewer = self.context["viewer"]
        other = interest.receiver if interest.sender_id == viewer.pk else interest.sender
        profile = getattr(other, "profile", None)
        if profile is None:
            return None
        return CardOut(profile, context=self.context).data


class ShortlistOut(serializers.Serializer):
    created_at = serializers.DateTimeField()
    profile = serializers.SerializerMethodField()

    @extend_schema_field(CardOut(allow_null=True))
    def get_profile(self, item: Any) -> Any:
        profile = getattr(item.target, "profile", None)
        return CardOut(profile, context=self.context).data if profile is not None else None


def query_data(params: QueryDict, list_fields: set[str]) -> dict[str, Any]:
    """Query parameters as serializer input: a list filter takes repeated parameters and
    comma-separated values alike (`religion=hindu&religion=muslim`, `religion=hindu,muslim`)."""
    data: dict[str, Any] = {}
    for key, values in params.lists():
        if key in list_fields:
            data[key] = [part.strip() for value in values for part in value.split(",")]
        else:
            data[key] = values[-1]
    return data


def _bound(low: int, high: int) -> serializers.IntegerField:
    return serializers.IntegerField(min_value=low, max_value=high, required=False)


class PageQuery(QuerySerializer):
    cursor = serializers.CharField(required=False, max_length=1000)
    page_size = serializers.IntegerField(min_value=1, max_value=50, required=False, default=20)


class SearchQuery(PageQuery):
    """Search filters (the API guide). Ranges are inclusive; a list matches any of its values."""

    age_min = _bound(18, MAX_AGE)
    age_max = _bound(18, MAX_AGE)
    height_min = _bound(*HEIGHT_CM_RANGE)
    height_max = _bound(*HEIGHT_CM_RANGE)
    religion = choice_list(Religion)
    caste = choice_list(ALL_CASTES)
    district = choice_list(District)
    mother_tongue = choice_list(MotherTongue)
    marital_status = choice_list(MaritalStatus)
    education_level = choice_list(EducationLevel)
    star = choice_list(Star)
    income_min = _bound(0, MAX_INCOME_INR)
    with_photo = serializers.BooleanField(required=False, default=False)
    verified_only = serializers.BooleanField(
        required=False,
        default=False,
        help_text="Always satisfied: only verified (approved) members are ever listed.",
    )
    ordering = serializers.ChoiceField(
        choices=list(ORDERINGS), required=False, default="recently_active"
    )

    LIST_FIELDS = set(LIST_COLUMNS)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        errors = {}
        for low, high in (("age_min", "age_max"), ("height_min", "height_max")):
            if attrs.get(low) is not None and attrs.get(high) is not None:
                if attrs[low] > attrs[high]:
                    errors[high] = [f"Must not be below {low} ({attrs[low]})."]
        if errors:
            raise serializers.ValidationError(errors)
        return attrs


class MatchReasonsOut(serializers.Serializer):
    mine = serializers.ListField(
        child=serializers.CharField(), help_text="Your preferences they meet."
    )
    theirs = serializers.ListField(
        child=serializers.CharField(), help_text="Their preferences you meet."
    )


class FeedCardOut(CardOut):
    """The schema of a feed card (matching.feed builds the data itself)."""

    match_score = serializers.IntegerField(help_text="0-100: how well you fit each other.")
    match_reasons = MatchReasonsOut()


class VisitOut(serializers.Serializer):
    visited_at = serializers.DateTimeField(source="created_at")
    profile = serializers.SerializerMethodField()

    @extend_schema_field(CardOut(allow_null=True))
    def get_profile(self, visit: Any) -> Any:
        profile = getattr(visit.viewer, "profile", None)
        return CardOut(profile, context=self.context).data if profile is not None else None
