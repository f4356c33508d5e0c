"""Reports as moderators work them: flagged first, the member's story on one page."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html, format_html_join

from aurum.admin_mixins import ReadOnlyAdminMixin, refusal_form_error, refusal_message
from aurum.errors import DomainError
from aurum.net import client_ip
from moderation import selectors, services
from moderation.models import Block, Report, ReportAction, ReportStatus


class ResolveForm(forms.ModelForm):
    resolve_with = forms.ChoiceField(
        choices=[("", "— leave open —"), *ReportAction.choices], required=False
    )
    resolution_notes = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}), required=False, max_length=2000
    )

    class Meta:
        model = Report
        fields: tuple[str, ...] = ()

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        action = data.get("resolve_with")
        if action:
            moderator = self.moderator  # type: ignore[attr-defined]
            try:  # a refusal by separation of duties is audited, here as in the API
                services.resolution_check(
                    moderator=moderator,
                    report=self.instance,
                    action=action,
                    ip=self.ip,  # type: ignore[attr-defined]
                )
            except DomainError as exc:
                raise refusal_form_error(exc) from exc
            problem = services.resolution_problem(
                moderator=moderator, report=self.instance, action=action
            )
            if problem is not None:
                raise refusal_form_error(problem)
        return data


@admin.register(Report)
class ReportAdmin(admin.ModelAdmin):
    form = ResolveForm
    list_display = (
        "created_at",
        "reason",
        "reported_member",
        "reporter_member",
        "flagged",
        "status",
        "action",
    )
    list_filter = ("status", "reason", "flagged", "action", "created_at")
    search_fields = ("reported__profile_code", "reported__phone", "reporter__profile_code")
    list_select_related = ("reported", "reporter")
    actions = ("dismiss", "warn", "suspend")
    readonly_fields = (
        "reason",
        "details",
        "reported_member",
        "reporter_member",
        "flagged",
        "status",
        "action",
        "notes",
        "resolved_by",
        "resolved_at",
        "created_at",
        "reported_profile",
        "past_reports",
    )
    fieldsets = (
        ("Report", {"fields": ("reason", "details", "reporter_member", "created_at", "flagged")}),
        (
            "The reported member",
            {"fields": ("reported_member", "reported_profile", "past_reports")},
        ),
        (
            "Resolution",
            {
                "fields": (
                    "status",
                    "action",
                    "notes",
                    "resolved_by",
                    "resolved_at",
                    "resolve_with",
                    "resolution_notes",
                )
            },
        ),
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet[Report]:
        return super().get_queryset(request).select_related("reported", "reporter", "resolved_by")

    def get_form(self, request: HttpRequest, obj: Any = None, **kwargs: Any) -> Any:
        form = super().get_form(request, obj, **kwargs)
        form.moderator = request.user
        form.ip = client_ip(request)
        return form

    def get_ordering(self, request: HttpRequest) -> tuple[str, ...]:
        return ("status", "-flagged", "created_at")  # Pending before Resolved, flagged first

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description="Reported")
    def reported_member(self, obj: Report) -> str:
        member = obj.reported
        state = "" if member.is_active else " (suspended)"
        return f"{member.profile_code} {member.get_full_name()}{state}"

    @admin.display(description="Reporter")
    def reporter_member(self, obj: Report) -> str:
        return f"{obj.reporter.profile_code} {obj.reporter.get_full_name()}"

    @admin.display(description="Profile")
    def reported_profile(self, obj: Report) -> str:
        profile = getattr(obj.reported, "profile", None)
        if profile is None:
            return "No member profile."
        return format_html(
            "{} · {} · {} · {} · verification {}<br>{}",
            profile.get_gender_display() if profile.gender else "—",
            profile.get_religion_display() if profile.religion else "—",
            profile.get_district_display() if profile.district else "—",
            profile.date_of_birth or "—",
            profile.verification_status,
            profile.about or "",
        )

    @admin.display(description="All reports about this member")
    def past_reports(self, obj: Report) -> str:
        rows = selectors.reports_about(member=obj.reported)
        return format_html(
            "<table>{}</table>",
            format_html_join(
                "",
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                (
                    (
                        f"{r.created_at:%Y-%m-%d}",
                        r.get_reason_display(),
                        r.reporter.profile_code,
                        r.status,
                        r.action or "",
                    )
                    for r in rows
                ),
            ),
        )

    def save_model(
        self, request: HttpRequest, obj: Report, form: forms.ModelForm, change: bool
    ) -> None:
        action = form.cleaned_data.get("resolve_with")
        if action:
            self._resolve(request, obj, action, form.cleaned_data.get("resolution_notes", ""))

    def _resolve(self, request: HttpRequest, report: Report, action: str, notes: str) -> bool:
        try:
            services.report_resolve(
                moderator=request.user,
                report=report,
                action=action,
                notes=notes,
                ip=client_ip(request),
            )
        except DomainError as exc:
            self.message_user(request, refusal_message(exc), messages.ERROR)
            return False
        return True

    def _bulk(self, request: HttpRequest, queryset: QuerySet[Report], action: str) -> None:
        done = sum(
            self._resolve(request, report, action, "")
            for report in queryset.filter(status=ReportStatus.PENDING)
        )
        self.message_user(request, f"{done} report(s) resolved: {action}.", messages.SUCCESS)

    @admin.action(description="Dismiss the selected reports", permissions=["change"])
    def dismiss(self, request: HttpRequest, queryset: QuerySet[Report]) -> None:
        self._bulk(request, queryset, ReportAction.DISMISS)

    @admin.action(description="Warn the reported members", permissions=["change"])
    def warn(self, request: HttpRequest, queryset: QuerySet[Report]) -> None:
        self._bulk(request, queryset, ReportAction.WARN)

    @admin.action(description="Suspend the reported members", permissions=["change"])
    def suspend(self, request: HttpRequest, queryset: QuerySet[Report]) -> None:
        self._bulk(request, queryset, ReportAction.SUSPEND)


@admin.register(Block)
class BlockAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("created_at", "blocker", "blocked")
    search_fields = ("blocker__profile_code", "blocked__profile_code")
    list_select_related = ("blocker", "blocked")
