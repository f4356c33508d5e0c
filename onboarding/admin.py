"""The verification console: a queue a moderator can work through all day."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import Case, IntegerField, QuerySet, Value, When
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils.html import format_html_join

from accounts import staff
from aurum.admin_mixins import refusal_form_error, refusal_message
from aurum.errors import DomainError
from aurum.net import client_ip
from onboarding import services
from onboarding.models import VerificationQueue
from policy import gallery_for
from profiles.admin import SECTION_INLINES
from profiles.choices import CASTE_LABELS, VerificationStatus
from profiles.selectors import QUEUE_ORDERING, age_on

PROFILE_FIELDS = (
    "gender",
    "date_of_birth",
    "height_cm",
    "weight_kg",
    "marital_status",
    "religion",
    "caste",
    "sub_caste",
    "mother_tongue",
    "district",
    "city",
    "country",
    "star",
    "chovva_dosham",
    "diet",
    "smoking",
    "drinking",
    "about",
    "created_by",
)


class DecisionForm(forms.ModelForm):
    decision = forms.ChoiceField(
        choices=[("", "— no decision —"), ("approve", "Approve"), ("reject", "Reject")],
        required=False,
    )
    notes = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        required=False,
        max_length=2000,
        help_text="The member reads these notes. Required to reject.",
    )

    class Meta:
        model = VerificationQueue
        fields: tuple[str, ...] = ()

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        decision = data.get("decision")
        if decision:
            try:  # a refusal by separation of duties is audited, here as in the API
                staff.act_check(
                    actor=self.reviewer,  # type: ignore[attr-defined]
                    target=self.instance.user,
                    change=staff.Change.VERIFY,
                    ip=self.ip,  # type: ignore[attr-defined]
                )
            except DomainError as exc:
                raise refusal_form_error(exc) from exc
            problem = services.verification_problem(
                reviewer=self.reviewer,  # type: ignore[attr-defined]
                profile=self.instance,
                approved=decision == "approve",
                notes=data.get("notes") or "",
            )
            if problem is not None:
                raise refusal_form_error(problem)
        return data


class RejectNotesForm(forms.Form):
    notes = forms.CharField(widget=forms.Textarea(attrs={"rows": 4, "cols": 60}), max_length=2000)


@admin.register(VerificationQueue)
class VerificationQueueAdmin(admin.ModelAdmin):
    form = DecisionForm
    inlines = SECTION_INLINES
    list_display = (
        "profile_code",
        "name",
        "gender",
        "age",
        "religion",
        "community",
        "district",
        "verification_status",
        "submitted_at",
    )
    list_display_links = ("profile_code", "name")
    list_filter = ("verification_status", "district", "religion", "gender", "submitted_at")
    search_fields = ("user__profile_code", "user__phone", "user__first_name", "user__last_name")
    list_select_related = ("user",)
    list_per_page = 50
    actions = ("approve", "reject")
    readonly_fields = (
        "profile_code",
        "name",
        "phone",
        "email",
        "whatsapp",
        "age",
        "photos",
        *PROFILE_FIELDS,
        "verification_status",
        "submitted_at",
        "reviewed_at",
        "reviewed_by",
        "admin_notes",
    )
    fieldsets = (
        ("Member", {"fields": ("profile_code", "name", "phone", "email", "whatsapp", "age")}),
        ("Photos", {"fields": ("photos",)}),
        ("Profile", {"fields": PROFILE_FIELDS}),
        (
            "Verification",
            {
                "fields": (
                    "verification_status",
                    "submitted_at",
                    "reviewed_at",
                    "reviewed_by",
                    "admin_notes",
                    "decision",
                    "notes",
                )
            },
        ),
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet[VerificationQueue]:
        return super().get_queryset(request).select_related("user", "reviewed_by")

    def get_ordering(self, request: HttpRequest) -> tuple[Any, ...]:
        # Pending first, then the queue's own order: what a moderator should work on next.
        pending_first = Case(
            When(verification_status=VerificationStatus.PENDING, then=Value(0)),
            default=Value(1),
            output_field=IntegerField(),
        )
        return (pending_first.asc(), *QUEUE_ORDERING)

    def get_form(self, request: HttpRequest, obj: Any = None, **kwargs: Any) -> Any:
        form = super().get_form(request, obj, **kwargs)
        form.reviewer = request.user
        form.ip = client_ip(request)
        return form

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description="Code", ordering="user__profile_code")
    def profile_code(self, obj: VerificationQueue) -> str:
        return obj.user.profile_code

    @admin.display(description="Name", ordering="user__first_name")
    def name(self, obj: VerificationQueue) -> str:
        return obj.user.get_full_name()

    @admin.display(description="Phone")
    def phone(self, obj: VerificationQueue) -> str:
        return obj.user.phone or "—"

    @admin.display(description="Email")
    def email(self, obj: VerificationQueue) -> str:
        return obj.user.email or "—"

    @admin.display(description="Community", ordering="caste")
    def community(self, obj: VerificationQueue) -> str:
        return CASTE_LABELS.get(obj.caste or "", obj.caste or "—")

    @admin.display(description="Photos")
    def photos(self, obj: VerificationQueue) -> str:
        # Moderators see every photo, pending ones included: what the owner sees.
        shown = gallery_for(viewer=obj.user, profile=obj)
        if not shown:
            return "No photos yet."
        return format_html_join(
            " ",
            '<a href="{}" target="_blank"><img src="{}" width="100" height="100" '
            'alt="photo ({})"></a>',  # no style attribute: the CSP refuses inline styles
            ((p["medium_url"], p["tiny_url"], p["status"]) for p in shown),
        )

    @admin.display(description="Age")
    def age(self, obj: VerificationQueue) -> int | None:
        return age_on(obj.date_of_birth)

    def save_model(
        self, request: HttpRequest, obj: VerificationQueue, form: forms.ModelForm, change: bool
    ) -> None:
        decision = form.cleaned_data.get("decision")
        if not decision:
            return
        self._decide(request, obj, decision == "approve", form.cleaned_data.get("notes", ""))

    def _decide(self, request: HttpRequest, obj: Any, approved: bool, notes: str) -> bool:
        try:
            services.verification_decide(
                reviewer=request.user,
                member=obj.user,
                approved=approved,
                notes=notes,
                ip=client_ip(request),
            )
        except DomainError as exc:
            self.message_user(request, refusal_message(exc, obj.user.profile_code), messages.ERROR)
            return False
        return True

    @admin.action(description="Approve the selected members", permissions=["change"])
    def approve(self, request: HttpRequest, queryset: QuerySet[VerificationQueue]) -> None:
        done = sum(self._decide(request, obj, True, "") for obj in queryset)
        self.message_user(request, f"Approved {done} member(s).", messages.SUCCESS)

    @admin.action(description="Reject the selected members…", permissions=["change"])
    def reject(
        self, request: HttpRequest, queryset: QuerySet[VerificationQueue]
    ) -> HttpResponse | None:
        form = RejectNotesForm(request.POST if "apply" in request.POST else None)
        if "apply" in request.POST and form.is_valid():
            notes = form.cleaned_data["notes"]
            done = sum(self._decide(request, obj, False, notes) for obj in queryset)
            self.message_user(request, f"Rejected {done} member(s).", messages.SUCCESS)
            return None
        return TemplateResponse(
            request,
            "admin/onboarding/reject_notes.html",
            {
                **self.admin_site.each_context(request),
                "title": "Reject the selected members",
                "form": form,
                "queryset": queryset,
                "opts": self.model._meta,
                "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
            },
        )
