from __future__ import annotations

from typing import Any

from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

import policy
from accounts.serializers import PhoneField
from aurum.serializers import FieldsOnce, Out, Shape, StrictSerializer, choice_list
from profiles import selectors
from profiles.choices import (
    ALL_CASTES,
    HEIGHT_CM_RANGE,
    MAX_AGE,
    MAX_INCOME_INR,
    WEIGHT_KG_RANGE,
    CreatedBy,
    Diet,
    District,
    EducationLevel,
    FamilyStatus,
    FamilyType,
    Gender,
    Habit,
    MaritalStatus,
    MotherTongue,
    OccupationGroup,
    PhotoVisibility,
    Religion,
    Star,
    YesNoUnknown,
)
from profiles.models import Profile


def _choice(choices: Any, **kwargs: Any) -> serializers.ChoiceField:
    return serializers.ChoiceField(choices=choices.choices, **kwargs)


def _optional_choice(choices: Any) -> serializers.ChoiceField:
    return _choice(choices, required=False, allow_null=True)


def _text(max_length: int, **kwargs: Any) -> serializers.CharField:
    return serializers.CharField(max_length=max_length, required=False, allow_blank=True, **kwargs)


# --- input: the sections of complete-profile and PATCH profiles/me -----------------------------


class ProfileSectionIn(StrictSerializer):
    first_name = serializers.CharField(max_length=60, required=False)
    last_name = serializers.CharField(max_length=60, required=False, allow_blank=True)
    gender = _choice(Gender)
    date_of_birth = serializers.DateField()
    height_cm = serializers.IntegerField(min_value=HEIGHT_CM_RANGE[0], max_value=HEIGHT_CM_RANGE[1])
    weight_kg = serializers.IntegerField(
        min_value=WEIGHT_KG_RANGE[0], max_value=WEIGHT_KG_RANGE[1], required=False, allow_null=True
    )
    marital_status = _choice(MaritalStatus)
    religion = _choice(Religion)
    caste = serializers.ChoiceField(choices=ALL_CASTES)
    sub_caste = _text(60, allow_null=True)
    mother_tongue = _choice(MotherTongue)
    district = _choice(District)
    city = _text(60, allow_null=True)
    country = serializers.CharField(max_length=60, required=False)
    star = _optional_choice(Star)
    chovva_dosham = _optional_choice(YesNoUnknown)
    diet = _optional_choice(Diet)
    smoking = _optional_choice(Habit)
    drinking = _optional_choice(Habit)
    about = _text(2000)
    created_by = _choice(CreatedBy, required=False)
    whatsapp = PhoneField(required=False, allow_null=True, allow_blank=True)
    photo_visibility = _choice(PhotoVisibility, required=False)
    is_hidden = serializers.BooleanField(required=False)


class EducationIn(StrictSerializer):
    level = _choice(EducationLevel)
    field = _text(80)
    institution = _text(120)


class CareerIn(StrictSerializer):
    occupation = _choice(OccupationGroup)
    employer = _text(120)
    annual_income_inr = serializers.IntegerField(
        min_value=0, max_value=MAX_INCOME_INR, required=False, allow_null=True
    )
    work_location = _text(80)


class FamilyIn(StrictSerializer):
    family_type = _optional_choice(FamilyType)
    family_status = _optional_choice(FamilyStatus)
    father_occupation = _text(80)
    mother_occupation = _text(80)
    siblings = _text(200)
    native_place = _text(80)


class PreferencesIn(StrictSerializer):
    age_min = serializers.IntegerField(min_value=18, max_value=MAX_AGE)
    age_max = serializers.IntegerField(min_value=18, max_value=MAX_AGE)
    height_min_cm = serializers.IntegerField(
        min_value=HEIGHT_CM_RANGE[0], max_value=HEIGHT_CM_RANGE[1], required=False, allow_null=True
    )
    height_max_cm = serializers.IntegerField(
        min_value=HEIGHT_CM_RANGE[0], max_value=HEIGHT_CM_RANGE[1], required=False, allow_null=True
    )
    marital_statuses = choice_list(MaritalStatus)
    religions = choice_list(Religion)
    castes = choice_list(ALL_CASTES)
    districts = choice_list(District)
    mother_tongues = choice_list(MotherTongue)
    education_levels = choice_list(EducationLevel)
    income_min_inr = serializers.IntegerField(
        min_value=0, max_value=MAX_INCOME_INR, required=False, allow_null=True
    )
    diet = _optional_choice(Diet)

    def to_internal_value(self, data: Any) -> Any:
        value = super().to_internal_value(data)
        for name in (
            "marital_statuses",
            "religions",
            "castes",
            "districts",
            "mother_tongues",
            "education_levels",
        ):
            if name in value:
                value[name] = list(dict.fromkeys(value[name]))  # drop repeats, keep order
        return value


class ProfileUpdateIn(StrictSerializer):
    """PATCH profiles/me: any sections, each partial (the view validates with partial=True)."""

    profile = ProfileSectionIn(required=False)
    education = EducationIn(required=False)
    career = CareerIn(required=False)
    family = FamilyIn(required=False)
    preferences = PreferencesIn(required=False)


class CompleteProfileIn(StrictSerializer):
    """complete-profile: every section, whole."""

    profile = ProfileSectionIn()
    education = EducationIn()
    career = CareerIn()
    family = FamilyIn()
    preferences = PreferencesIn()


# --- output -----------------------------------------------------------------------------------


class EducationOut(FieldsOnce, serializers.Serializer):
    level = serializers.CharField()
    field = serializers.CharField()
    institution = serializers.CharField()


class CareerOut(FieldsOnce, serializers.Serializer):
    occupation = serializers.CharField()
    employer = serializers.CharField()
    annual_income_inr = serializers.IntegerField(allow_null=True)
    work_location = serializers.CharField()


class FamilyOut(FieldsOnce, serializers.Serializer):
    family_type = serializers.CharField(allow_null=True)
    family_status = serializers.CharField(allow_null=True)
    father_occupation = serializers.CharField()
    mother_occupation = serializers.CharField()
    siblings = serializers.CharField()
    native_place = serializers.CharField()


class PreferencesOut(FieldsOnce, serializers.Serializer):
    age_min = serializers.IntegerField()
    age_max = serializers.IntegerField()
    height_min_cm = serializers.IntegerField(allow_null=True)
    height_max_cm = serializers.IntegerField(allow_null=True)
    marital_statuses = serializers.ListField(child=serializers.CharField())
    religions = serializers.ListField(child=serializers.CharField())
    castes = serializers.ListField(child=serializers.CharField())
    districts = serializers.ListField(child=serializers.CharField())
    mother_tongues = serializers.ListField(child=serializers.CharField())
    education_levels = serializers.ListField(child=serializers.CharField())
    income_min_inr = serializers.IntegerField(allow_null=True)
    diet = serializers.CharField(allow_null=True)


class ContactOut(serializers.Serializer):
    phone = serializers.CharField(allow_null=True)
    email = serializers.EmailField(allow_null=True)
    whatsapp = serializers.CharField(allow_null=True)


@extend_schema_field(OpenApiTypes.URI_REF)
class SignedUrlField(serializers.CharField):
    """A signed photo URL: absolute on S3 or with AURUM_PUBLIC_URL, else relative to the API."""


class PhotoOut(serializers.Serializer):
    tiny_url = SignedUrlField()
    medium_url = SignedUrlField()


def _section(profile: Profile, name: str, serializer: type[serializers.Serializer]) -> Any:
    section = selectors.section_or_none(profile, name)
    return serializer(section).data if section is not None else None


_moment = serializers.DateTimeField()
LAST_ACTIVE_AT_HELP = (
    "Exact, to the member themself and staff only; null to everyone else (see last_active)."
)
LAST_ACTIVE_HELP = (
    "How recently the member was active, in local calendar days; null when they hide their "
    "last seen (to everyone but themself and staff)."
)


def last_seen_hidden(profile: Profile, context: dict[str, Any]) -> bool:
    """Whether the owner hides their last seen from the viewer (context): from an annotation
    (`profile_for_viewer`), the list's context (`card_context`), or one query."""
    hidden = getattr(profile, "hides_last_seen", None)
    if hidden is not None:
        return bool(hidden)
    hidden_ids = context.get("last_seen_hidden")
    if hidden_ids is None:
        hidden_ids = policy.last_seen_hidden_among(viewer=context["viewer"], owner_ids=[profile.pk])
    return profile.pk in hidden_ids


class LastActiveMixin:
    """`last_active_at` and `last_active` of a profile as the viewer (context) may know them
    (`selectors.last_active_shown`), whether the owner hides their last seen as
    `last_seen_hidden` finds it."""

    context: dict[str, Any]

    def _activity(self, profile: Profile) -> tuple[Any, Any]:
        memo = self.__dict__.setdefault("_activity_memo", {})
        if profile.pk not in memo:
            memo[profile.pk] = selectors.last_active_shown(
                viewer=self.context["viewer"],
                owner_id=profile.pk,
                moment=profile.last_active_at,
                hidden=last_seen_hidden(profile, self.context),
                today=timezone.localdate(),
            )
        return memo[profile.pk]

    @extend_schema_field(serializers.DateTimeField(allow_null=True, help_text=LAST_ACTIVE_AT_HELP))
    def get_last_active_at(self, profile: Profile) -> str | None:
        return _moment.to_representation(self._activity(profile)[0])

    @extend_schema_field(
        serializers.ChoiceField(
            choices=[a.value for a in selectors.Activity],
            allow_null=True,
            help_text=LAST_ACTIVE_HELP,
        )
    )
    def get_last_active(self, profile: Profile) -> str | None:
        bucket = self._activity(profile)[1]
        return bucket.value if bucket is not None else None


class ProfileOut(LastActiveMixin, serializers.Serializer):
    """A member as someone else may see them. Contact details only where the contact rule
    allows; the date of birth never (the age is enough)."""

    id = serializers.UUIDField(source="user_id")
    profile_code = serializers.CharField(source="user.profile_code")
    first_name = serializers.CharField(source="user.first_name")
    age = serializers.SerializerMethodField()
    gender = serializers.CharField(allow_null=True)
    height_cm = serializers.IntegerField(allow_null=True)
    weight_kg = serializers.IntegerField(allow_null=True)
    marital_status = serializers.CharField(allow_null=True)
    religion = serializers.CharField(allow_null=True)
    caste = serializers.CharField(allow_null=True)
    sub_caste = serializers.CharField(allow_null=True)
    mother_tongue = serializers.CharField(allow_null=True)
    district = serializers.CharField(allow_null=True)
    city = serializers.CharField(allow_null=True)
    country = serializers.CharField()
    star = serializers.CharField(allow_null=True)
    chovva_dosham = serializers.CharField(allow_null=True)
    diet = serializers.CharField(allow_null=True)
    smoking = serializers.CharField(allow_null=True)
    drinking = serializers.CharField(allow_null=True)
    about = serializers.CharField()
    created_by = serializers.CharField()
    verified = serializers.BooleanField(source="user.admin_approved")
    last_active_at = serializers.SerializerMethodField()
    last_active = serializers.SerializerMethodField()
    photo = serializers.SerializerMethodField()
    education = serializers.SerializerMethodField()
    career = serializers.SerializerMethodField()
    family = serializers.SerializerMethodField()
    preferences = serializers.SerializerMethodField()
    contact = serializers.SerializerMethodField()

    @extend_schema_field(serializers.IntegerField(allow_null=True))
    def get_age(self, profile: Profile) -> int | None:
        return selectors.age_on(profile.date_of_birth)

    @extend_schema_field(PhotoOut(allow_null=True))
    def get_photo(self, profile: Profile) -> dict[str, str] | None:
        if "photo" in self.context:  # decided with the profile (policy.profile_seen)
            return self.context["photo"]
        return policy.photo_for(viewer=self.context["viewer"], profile=profile)

    @extend_schema_field(EducationOut(allow_null=True))
    def get_education(self, profile: Profile) -> Any:
        return _section(profile, "education", EducationOut)

    @extend_schema_field(CareerOut(allow_null=True))
    def get_career(self, profile: Profile) -> Any:
        return _section(profile, "career", CareerOut)

    @extend_schema_field(FamilyOut(allow_null=True))
    def get_family(self, profile: Profile) -> Any:
        return _section(profile, "family", FamilyOut)

    @extend_schema_field(PreferencesOut(allow_null=True))
    def get_preferences(self, profile: Profile) -> Any:
        return _section(profile, "preferences", PreferencesOut)

    @extend_schema_field(ContactOut(allow_null=True))
    def get_contact(self, profile: Profile) -> dict[str, Any] | None:
        viewer = self.context["viewer"]
        shown = self.context.get("contact")  # decided with the profile (policy.profile_seen)
        if shown is None:
            shown = policy.can_see_contact(viewer=viewer, owner=profile.user)
        if not shown:
            return None
        return {
            "phone": profile.user.phone,
            "email": profile.user.email,
            "whatsapp": profile.whatsapp,
        }


class OwnProfileOut(ProfileOut):
    """The member's own profile: everything, with privacy settings and verification."""

    last_name = serializers.CharField(source="user.last_name")
    date_of_birth = serializers.DateField(allow_null=True)
    photo_visibility = serializers.CharField()
    is_hidden = serializers.BooleanField()
    verification_status = serializers.CharField()
    admin_notes = serializers.CharField()
    completion = serializers.SerializerMethodField(help_text="0-100")
    completion_sections = serializers.SerializerMethodField()
    next_step = serializers.SerializerMethodField()

    def _own_photo(self, profile: Profile) -> tuple[dict[str, str] | None, bool] | None:
        # The photo and the completion's photo step, one query for both (policy.own_photo).
        if not hasattr(profile, "_own_photo_cache"):
            found = policy.own_photo(viewer=self.context["viewer"], profile=profile)
            profile._own_photo_cache = found  # type: ignore[attr-defined]
        return profile._own_photo_cache  # type: ignore[attr-defined]

    @extend_schema_field(PhotoOut(allow_null=True))
    def get_photo(self, profile: Profile) -> dict[str, str] | None:
        own = self._own_photo(profile)
        return own[0] if own is not None else super().get_photo(profile)

    def _completion(self, profile: Profile) -> dict[str, Any]:
        cached = getattr(profile, "_completion_cache", None)
        if cached is None:
            own = self._own_photo(profile)
            has_photo = own[1] if own is not None else None
            cached = policy.completion(profile=profile, has_photo=has_photo)
            profile._completion_cache = cached  # type: ignore[attr-defined]
        return cached

    @extend_schema_field(serializers.IntegerField(min_value=0, max_value=100))
    def get_completion(self, profile: Profile) -> int:
        return self._completion(profile)["score"]

    @extend_schema_field(serializers.DictField(child=serializers.BooleanField()))
    def get_completion_sections(self, profile: Profile) -> dict[str, bool]:
        return self._completion(profile)["sections"]

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_next_step(self, profile: Profile) -> str | None:
        return self._completion(profile)["next_step"]


def _bucket_value(bucket: selectors.Activity | None) -> str | None:
    return bucket.value if bucket is not None else None


# The card, written once: `CardOut` (the schema, and cards of model instances) and
# `cards_from_values` (lists of rows) both build it from this table. A source is a column of
# `policy.card_values` or a value `_cards` computes for the row; those computed show
# readOnly in the schema, as they always have.
CARD = Shape(
    Out("id", serializers.UUIDField(), ("user_id",), str),
    Out("profile_code", serializers.CharField(), ("user__profile_code",)),
    Out("first_name", serializers.CharField(), ("user__first_name",)),
    Out("age", serializers.IntegerField(allow_null=True, read_only=True)),
    Out("height_cm", serializers.IntegerField(allow_null=True)),
    Out("religion", serializers.CharField(allow_null=True)),
    Out("caste", serializers.CharField(allow_null=True)),
    Out("district", serializers.CharField(allow_null=True)),
    Out(
        "occupation",
        serializers.CharField(allow_null=True, read_only=True),
        ("career__occupation",),
    ),
    Out(
        "education_level",
        serializers.CharField(allow_null=True, read_only=True),
        ("education__level",),
    ),
    Out("photo", PhotoOut(allow_null=True, read_only=True)),
    Out(
        "last_active_at",
        serializers.DateTimeField(allow_null=True, read_only=True, help_text=LAST_ACTIVE_AT_HELP),
        ("exact",),
        _moment.to_representation,
    ),
    Out(
        "last_active",
        serializers.ChoiceField(
            choices=[a.value for a in selectors.Activity],
            allow_null=True,
            read_only=True,
            help_text=LAST_ACTIVE_HELP,
        ),
        ("bucket",),
        _bucket_value,
    ),
    keys=True,
    given=("age", "photo", "exact", "bucket"),
)


def _cards(viewer: Any, rows: list[dict[str, Any]], photos: dict[Any, Any]) -> list[Any]:
    """The cards of `rows` (`policy.card_values`'s columns and `hides_last_seen`) with their
    photos, as `viewer` may see them: the values the table leaves to the list, per row."""
    today = timezone.localdate()
    build = CARD.build
    cards = []
    for row in rows:
        exact, bucket = selectors.last_active_shown(
            viewer=viewer,
            owner_id=row["user_id"],
            moment=row["last_active_at"],
            hidden=row["hides_last_seen"],
            today=today,
        )
        age = selectors.age_on(row["date_of_birth"], today)
        cards.append(build(row, age, photos.get(row["user_id"]), exact, bucket))
    return cards


def _column(profile: Profile, column: str) -> Any:
    """A `card_values` column read from a profile (`career__occupation`: None without one)."""
    name, _, attribute = column.partition("__")
    if not attribute:
        return getattr(profile, name)
    related = selectors.section_or_none(profile, name)
    return getattr(related, attribute) if related is not None else None


# What `_cards` reads of a row besides the table's columns.
_CARD_ROW = tuple(dict.fromkeys(("user_id", "date_of_birth", "last_active_at", *CARD.item_sources)))


def _card_of(serializer: serializers.Serializer, profile: Profile) -> dict[str, Any]:
    """A profile's card: its row of `card_values` read from the instance, then `_cards`."""
    context = serializer.context
    viewer = context["viewer"]
    photos = context.get("photos")  # a list's photos, fetched at once (card_context)
    photo = (
        photos.get(profile.pk)
        if photos is not None
        else policy.photo_for(viewer=viewer, profile=profile)
    )
    row = {column: _column(profile, column) for column in _CARD_ROW}
    row["hides_last_seen"] = last_seen_hidden(profile, context)
    return _cards(viewer, [row], {profile.pk: photo})[0]


CardOut = CARD.serializer(
    "CardOut",
    module=__name__,
    doc="A member in a list (the API's card), as `viewer` (context) may see them.",
    to_representation=_card_of,
)


def card_context(viewer: Any, profiles: list[Profile]) -> dict[str, Any]:
    """Serializer context for a list of cards: the viewer, every card's photo and whose owners
    hide their last seen, each fetched for the whole list at once."""
    return {
        "viewer": viewer,
        "photos": policy.photos_for_cards(viewer=viewer, profiles=profiles),
        "last_seen_hidden": policy.last_seen_hidden_among(
            viewer=viewer, owner_ids=[p.pk for p in profiles]
        ),
    }


def cards_from_values(viewer: Any, rows: list[dict[str, Any]]) -> list[Any]:
    """`CardOut`'s output for rows of `policy.card_values` drawn from the visibility rule
    in this request (search, feed), built without a query, a model instance or a serializer
    per row (a test holds both outputs equal)."""
    return _cards(viewer, rows, policy.photos_from_rows(viewer=viewer, rows=rows))
