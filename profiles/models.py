from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from profiles.choices import (
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
    VerificationStatus,
    YesNoUnknown,
)

# What the visibility rule (policy.visibility) asks of the profile row.
LISTED = Q(verification_status=VerificationStatus.APPROVED, is_hidden=False)


def _between_or_null(field: str, low: int, high: int) -> Q:
    return Q(**{f"{field}__isnull": True}) | Q(**{f"{field}__gte": low, f"{field}__lte": high})


class Profile(models.Model):
    """One member's profile. Its id is the user's id (the API has one public id per member).

    Fields stay empty from signup until the member completes them; onboarding validates them
    together before the profile goes to verification.
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, primary_key=True, on_delete=models.CASCADE, related_name="profile"
    )
    gender = models.CharField(max_length=8, choices=Gender.choices, null=True, blank=True)
    date_of_birth = models.DateField(null=True, blank=True)
    height_cm = models.PositiveSmallIntegerField(null=True, blank=True)
    weight_kg = models.PositiveSmallIntegerField(null=True, blank=True)
    marital_status = models.CharField(
        max_length=20, choices=MaritalStatus.choices, null=True, blank=True
    )
    religion = models.CharField(max_length=20, choices=Religion.choices, null=True, blank=True)
    caste = models.CharField(max_length=40, null=True, blank=True)
    sub_caste = models.CharField(max_length=60, null=True, blank=True)
    mother_tongue = models.CharField(
        max_length=20, choices=MotherTongue.choices, null=True, blank=True
    )
    district = models.CharField(max_length=24, choices=District.choices, null=True, blank=True)
    city = models.CharField(max_length=60, null=True, blank=True)
    country = models.CharField(max_length=60, default="India")
    star = models.CharField(max_length=24, choices=Star.choices, null=True, blank=True)
    chovva_dosham = models.CharField(
        max_length=10, choices=YesNoUnknown.choices, null=True, blank=True
    )
    diet = models.CharField(max_length=16, choices=Diet.choices, null=True, blank=True)
    smoking = models.CharField(max_length=14, choices=Habit.choices, null=True, blank=True)
    drinking = models.CharField(max_length=14, choices=Habit.choices, null=True, blank=True)
    about = models.TextField(max_length=2000, blank=True, default="")
    created_by = models.CharField(max_length=10, choices=CreatedBy.choices, default=CreatedBy.SELF)
    whatsapp = models.CharField(max_length=16, null=True, blank=True, help_text="E.164")

    photo_visibility = models.CharField(
        max_length=20, choices=PhotoVisibility.choices, default=PhotoVisibility.ALL_MEMBERS
    )
    is_hidden = models.BooleanField(default=False, help_text="Hibernating: invisible to others.")
    # Hidden by the schedule, not by the member (`is_hidden` too, so the listing rule and its
    # indexes are unchanged): their next login brings the profile back.
    hidden_for_inactivity = models.BooleanField(default=False)
    inactivity_warned_at = models.DateTimeField(null=True, blank=True)
    # Never empty: search orders by it (a new member counts as active when they join).
    last_active_at = models.DateTimeField(default=timezone.now)

    verification_status = models.CharField(
        max_length=12, choices=VerificationStatus.choices, default=VerificationStatus.NOT_SUBMITTED
    )
    submitted_at = models.DateTimeField(null=True, blank=True)
    reviewed_at = models.DateTimeField(null=True, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    admin_notes = models.TextField(max_length=2000, blank=True, default="")

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ("-created_at",)
        constraints = [
            models.CheckConstraint(
                condition=_between_or_null("height_cm", *HEIGHT_CM_RANGE),
                name="profile_height_range",
            ),
            models.CheckConstraint(
                condition=_between_or_null("weight_kg", *WEIGHT_KG_RANGE),
                name="profile_weight_range",
            ),
            models.CheckConstraint(
                condition=Q(verification_status__in=VerificationStatus.values),
                name="profile_verification_status_valid",
            ),
        ]
        # Search and feed: partial on listed profiles (approved, not hidden: what the visibility
        # rule asks of the row), the gender sought first, then equality columns, then ranges;
        # INCLUDE carries the other filter and ordering columns, so PostgreSQL answers from the
        # index alone. One index per ordering serves broad searches, read in order until a page
        # is full. README, "Search at a million profiles", shows the plans.
        indexes = [
            models.Index(fields=["verification_status", "submitted_at"], name="profile_queue_idx"),
            models.Index(
                fields=["gender", "religion", "caste", "district", "date_of_birth"],
                include=[
                    "user",
                    "height_cm",
                    "last_active_at",
                    "created_at",
                    "mother_tongue",
                    "marital_status",
                    "star",
                ],
                condition=LISTED,
                name="profile_search_idx",
            ),
            *(
                models.Index(
                    fields=["gender", *order],
                    include=[
                        c
                        for c in ("date_of_birth", "height_cm", "religion", "caste", "district")
                        if c not in order
                    ],
                    condition=LISTED,
                    name=name,
                )
                for name, order in (
                    ("profile_active_idx", ["-last_active_at", "-user"]),
                    ("profile_newest_idx", ["-created_at", "-user"]),
                    ("profile_age_idx", ["date_of_birth", "user"]),
                )
            ),
        ]

    def __str__(self) -> str:
        return str(self.user)


class Education(models.Model):
    profile = models.OneToOneField(
        Profile, primary_key=True, on_delete=models.CASCADE, related_name="education"
    )
    level = models.CharField(max_length=24, choices=EducationLevel.choices)
    field = models.CharField(max_length=80, blank=True, default="")
    institution = models.CharField(max_length=120, blank=True, default="")
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.get_level_display()} {self.field}".strip()


class Career(models.Model):
    profile = models.OneToOneField(
        Profile, primary_key=True, on_delete=models.CASCADE, related_name="career"
    )
    occupation = models.CharField(max_length=20, choices=OccupationGroup.choices)
    employer = models.CharField(max_length=120, blank=True, default="")
    annual_income_inr = models.PositiveBigIntegerField(null=True, blank=True)
    work_location = models.CharField(max_length=80, blank=True, default="")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(annual_income_inr__isnull=True)
                | Q(annual_income_inr__lte=MAX_INCOME_INR),
                name="career_income_plausible",
            )
        ]

    def __str__(self) -> str:
        return self.get_occupation_display()


class Family(models.Model):
    profile = models.OneToOneField(
        Profile, primary_key=True, on_delete=models.CASCADE, related_name="family"
    )
    family_type = models.CharField(max_length=10, choices=FamilyType.choices, null=True, blank=True)
    family_status = models.CharField(
        max_length=20, choices=FamilyStatus.choices, null=True, blank=True
    )
    father_occupation = models.CharField(max_length=80, blank=True, default="")
    mother_occupation = models.CharField(max_length=80, blank=True, default="")
    siblings = models.CharField(max_length=200, blank=True, default="")
    native_place = models.CharField(max_length=80, blank=True, default="")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "families"

    def __str__(self) -> str:
        return f"Family of {self.profile_id}"


class PartnerPreferences(models.Model):
    """What the member looks for. An empty list means "any"."""

    profile = models.OneToOneField(
        Profile, primary_key=True, on_delete=models.CASCADE, related_name="preferences"
    )
    age_min = models.PositiveSmallIntegerField()
    age_max = models.PositiveSmallIntegerField()
    height_min_cm = models.PositiveSmallIntegerField(null=True, blank=True)
    height_max_cm = models.PositiveSmallIntegerField(null=True, blank=True)
    marital_statuses = models.JSONField(default=list, blank=True)
    religions = models.JSONField(default=list, blank=True)
    castes = models.JSONField(default=list, blank=True)
    districts = models.JSONField(default=list, blank=True)
    mother_tongues = models.JSONField(default=list, blank=True)
    education_levels = models.JSONField(default=list, blank=True)
    income_min_inr = models.PositiveBigIntegerField(null=True, blank=True)
    diet = models.CharField(max_length=16, choices=Diet.choices, null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "partner preferences"
        constraints = [
            models.CheckConstraint(
                condition=Q(
                    age_min__gte=18, age_max__lte=MAX_AGE, age_min__lte=models.F("age_max")
                ),
                name="preferences_age_range",
            ),
            models.CheckConstraint(
                condition=Q(height_min_cm__isnull=True)
                | Q(height_max_cm__isnull=True)
                | Q(height_min_cm__lte=models.F("height_max_cm")),
                name="preferences_height_order",
            ),
            models.CheckConstraint(
                condition=_between_or_null("height_min_cm", *HEIGHT_CM_RANGE)
                & _between_or_null("height_max_cm", *HEIGHT_CM_RANGE),
                name="preferences_height_range",
            ),
        ]

    def __str__(self) -> str:
        return f"Preferences of {self.profile_id}"
