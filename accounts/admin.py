from __future__ import annotations

import uuid
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import ReadOnlyPasswordHashField
from django.contrib.auth.password_validation import validate_password
from django.contrib.auth.views import PasswordChangeView
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.html import format_html
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken

from accounts import services, staff
from accounts.models import AuditAction, AuditLog, Role, User
from accounts.phone import InvalidPhone, normalize_phone
from aurum.admin_mixins import ReadOnlyAdminMixin, refusal_form_error, refusal_message
from aurum.errors import DomainError
from aurum.net import client_ip


class UserCreationAdminForm(forms.ModelForm):
    password1 = forms.CharField(label="Password", widget=forms.PasswordInput, strip=False)

    def clean_password1(self) -> str:
        password = self.cleaned_data["password1"]
        candidate = User(
            email=self.data.get("email") or None,
            phone=self.data.get("phone") or None,
            first_name=self.data.get("first_name", ""),
            last_name=self.data.get("last_name", ""),
        )
        validate_password(password, candidate)
        return password

    class Meta:
        model = User
        fields = ("email", "phone", "first_name", "last_name", "role")

    def clean_phone(self) -> str | None:
        raw = self.cleaned_data.get("phone")
        if not raw:
            return None
        try:
            return normalize_phone(raw)
        except InvalidPhone as exc:
            raise forms.ValidationError(str(exc)) from exc


class UserChangeAdminForm(forms.ModelForm):
    password = ReadOnlyPasswordHashField(label="Password")

    class Meta:
        model = User
        fields = ("first_name", "last_name", "email", "phone", "role", "is_active")

    def clean_phone(self) -> str | None:
        return UserCreationAdminForm.clean_phone(self)  # type: ignore[arg-type]

    def clean(self) -> dict[str, Any]:
        """Separation of duties on the page itself: a refused role or state change is a
        message on the form (and an audit record), not an error page."""
        data = super().clean()
        before = User.objects.filter(pk=self.instance.pk).first()
        if before is None:
            return data
        actor = self.actor  # type: ignore[attr-defined]
        changes = []
        if "role" in data and data["role"] != before.role:
            changes.append((staff.Change.ROLE, data["role"]))
        if "is_active" in data and data["is_active"] != before.is_active:
            active = data["is_active"]
            changes.append((staff.Change.REACTIVATE if active else staff.Change.SUSPEND, None))
        for change, new_role in changes:
            try:
                staff.act_check(
                    actor=actor,
                    target=before,
                    change=change,
                    new_role=new_role,
                    ip=self.ip,  # type: ignore[attr-defined]
                )
            except DomainError as exc:
                raise refusal_form_error(exc) from exc
        return data


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    form = UserChangeAdminForm
    add_form = UserCreationAdminForm
    list_display = (
        "profile_code",
        "first_name",
        "last_name",
        "email",
        "phone",
        "role",
        "is_active",
        "admin_approved",
        "date_joined",
    )
    list_filter = ("role", "is_active", "admin_approved")
    search_fields = ("profile_code", "email", "phone", "first_name", "last_name")
    ordering = ("-date_joined",)
    readonly_fields = ("id", "profile_code", "date_joined", "last_login", "admin_approved")
    fieldsets = (
        (None, {"fields": ("id", "profile_code", "password")}),
        ("Identity", {"fields": ("first_name", "last_name", "email", "phone")}),
        ("Access", {"fields": ("role", "is_active", "admin_approved")}),
        ("Dates", {"fields": ("date_joined", "last_login")}),
    )
    add_fieldsets = (
        (
            None,
            {
                "classes": ("wide",),
                "fields": ("email", "phone", "first_name", "last_name", "role", "password1"),
            },
        ),
    )
    filter_horizontal = ()
    actions = ("suspend", "reactivate")

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # A row deleted here would skip erasure (photos left in storage, no account_closed for
        # the feeds and sockets): accounts close by suspension, or by their member's deletion.
        return False

    def get_form(self, request: HttpRequest, obj: Any = None, **kwargs: Any) -> Any:
        form = super().get_form(request, obj, **kwargs)
        form.actor = request.user
        form.ip = client_ip(request)
        return form

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Only an admin changes a staff account (accounts.staff).
        if obj is not None and obj.is_staff and getattr(request.user, "role", None) != Role.ADMIN:
            return False
        return super().has_change_permission(request, obj)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        fields = tuple(super().get_readonly_fields(request, obj))
        if obj is not None and getattr(request.user, "role", None) != Role.ADMIN:
            fields += ("role", "is_active")  # only admins change roles and account state here
        if obj is not None and obj.pk == request.user.pk:
            fields += ("role", "is_active")  # and never their own
        if obj is not None and obj.deleted_at is not None:
            # Deleted by its member: it stays closed and anonymous (accounts.privacy).
            fields += ("role", "is_active", "email", "phone", "first_name", "last_name")
        return tuple(dict.fromkeys(fields))

    def save_model(
        self, request: HttpRequest, obj: User, form: forms.ModelForm, change: bool
    ) -> None:
        ip = client_ip(request)
        try:
            if not change:
                created = services.user_register(
                    email=obj.email,
                    phone=obj.phone,
                    password=form.cleaned_data["password1"],
                    first_name=obj.first_name,
                    last_name=obj.last_name,
                    ip=ip,
                )
                services.user_set_role(actor=request.user, user=created, role=obj.role, ip=ip)
                obj.pk = created.pk
                return
            before = User.objects.get(pk=obj.pk)
            role, active = obj.role, obj.is_active
            obj.role, obj.is_active = before.role, before.is_active
            obj.save()
            if role != before.role:
                services.user_set_role(actor=request.user, user=obj, role=role, ip=ip)
            if active != before.is_active:
                services.user_set_active(actor=request.user, user=obj, active=active, ip=ip)
        except DomainError as exc:
            messages.error(request, f"Not saved: {refusal_message(exc)}")
            raise

    def user_change_password(
        self, request: HttpRequest, id: str, form_url: str = ""
    ) -> HttpResponse:
        """An admin setting someone's password: Django's form sets it, then the service
        revokes that member's sessions and writes the audit record."""
        target = self.get_object(request, unquote(id))
        if target is not None:
            problem = services.password_set_by_staff_problem(actor=request.user, user=target)
            if problem is not None:
                if request.method == "POST":
                    staff.refuse(
                        problem,
                        actor=request.user,
                        target=target,
                        change=staff.Change.PASSWORD,
                        ip=client_ip(request),
                    )
                self.message_user(request, refusal_message(problem), messages.ERROR)
                return HttpResponseRedirect("../")
        response = super().user_change_password(request, id, form_url)
        if request.method == "POST" and response.status_code == 302:
            user = self.get_object(request, unquote(id))
            if user is not None:
                services.password_set_by_staff(actor=request.user, user=user, ip=client_ip(request))
        return response

    @admin.action(description="Suspend the selected accounts", permissions=["change"])
    def suspend(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        done, refused = 0, []
        for user in queryset.filter(is_active=True):
            try:  # the service applies separation of duties (and audits a refusal)
                services.user_set_active(
                    actor=request.user,
                    user=user,
                    active=False,
                    reason="admin",
                    ip=client_ip(request),
                )
                done += 1
            except DomainError as exc:
                refused.append(refusal_message(exc, user.profile_code))
        self.message_user(request, f"Suspended {done}.", messages.SUCCESS)
        for line in refused:
            self.message_user(request, f"Not suspended, {line}", messages.WARNING)

    @admin.action(description="Reactivate the selected accounts", permissions=["change"])
    def reactivate(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        refused = 0
        for user in queryset.filter(is_active=False):
            try:  # the service decides who may come back (not an account its member deleted)
                services.user_set_active(
                    actor=request.user,
                    user=user,
                    active=True,
                    reason="admin",
                    ip=client_ip(request),
                )
            except DomainError:
                refused += 1
        self.message_user(request, "Reactivated.", messages.SUCCESS)
        if refused:
            self.message_user(
                request,
                f"{refused} deleted by their members: those stay closed.",
                messages.WARNING,
            )


class AuditedPasswordChangeView(PasswordChangeView):
    """The admin's own "change password" page, through the same service as the API."""

    template_name = "registration/password_change_form.html"

    def form_valid(self, form: forms.Form) -> HttpResponse:
        services.password_change(
            user=self.request.user,
            old_password=form.cleaned_data["old_password"],
            new_password=form.cleaned_data["new_password1"],
            ip=client_ip(self.request),
        )
        update_session_auth_hash(self.request, self.request.user)
        return HttpResponseRedirect(self.get_success_url())


def _user_label(user: User) -> str:
    role = f", {user.get_role_display()}" if user.is_staff else ""
    return f"{user.get_full_name() or user.get_username()} ({user.profile_code}{role})"


def _user_link(user: User) -> str:
    url = reverse("admin:accounts_user_change", args=[user.pk])
    return format_html('<a href="{}">{}</a>', url, _user_label(user))


@admin.register(AuditLog)
class AuditLogAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Who did what to whom, in names: the actor and the target as "Anjali Nair (AU7K2M9Q)",
    a refusal as the rule it met. The codes and ids stay searchable and on the record's page."""

    list_display = ("created_at", "action", "actor_display", "target_display", "details", "ip")
    list_filter = ("action", "created_at")  # every target is an account: no filter by type
    search_fields = ("actor_label", "target_id", "ip", "actor__email", "actor__phone")
    date_hierarchy = "created_at"
    list_select_related = ("actor",)
    readonly_fields = [
        *(f.name for f in AuditLog._meta.fields),
        "actor_display",
        "target_display",
        "details",
    ]

    def get_changelist_instance(self, request: HttpRequest) -> Any:
        # The page's targets in one query (they are users; the column holds their ids as text).
        changelist = super().get_changelist_instance(request)
        _attach_targets(changelist.result_list)
        return changelist

    def get_object(self, request: HttpRequest, object_id: str, from_field: Any = None) -> Any:
        record = super().get_object(request, object_id, from_field)
        if record is not None:
            _attach_targets([record])
        return record

    @admin.display(description="Actor", ordering="actor_label")
    def actor_display(self, record: AuditLog) -> str:
        if record.actor is not None:
            return _user_link(record.actor)
        return record.actor_label or "System (manage.py)"

    @admin.display(description="Target")
    def target_display(self, record: AuditLog) -> str:
        target = getattr(record, "target_user", None)
        if target is not None:
            return _user_link(target)
        if record.target_id:
            return f"{record.target_type} {record.target_id} (no longer exists)"
        return "—"

    @admin.display(description="Details")
    def details(self, record: AuditLog) -> str:
        metadata = record.metadata or {}
        if record.action == AuditAction.DUTY_REFUSED:
            return staff.refusal_label(metadata)
        return "; ".join(
            f"{key.replace('_', ' ')}: {_said(value)}" for key, value in metadata.items()
        )


def _said(value: Any) -> str:
    return ", ".join(map(str, value)) if isinstance(value, list | tuple) else str(value)


def _attach_targets(records: Any) -> None:
    ids = set()
    for record in records:
        if record.target_type == User._meta.label_lower:
            try:
                ids.add(uuid.UUID(record.target_id))
            except ValueError:
                continue
    users = User.objects.in_bulk(ids) if ids else {}
    for record in records:
        try:
            record.target_user = users.get(uuid.UUID(record.target_id))
        except ValueError:
            record.target_user = None


# simplejwt's admin shows whole refresh tokens: anyone who can read them can take over the
# session. Revocation goes through the services; nobody needs to see tokens.
for model in (OutstandingToken, BlacklistedToken):
    if admin.site.is_registered(model):
        admin.site.unregister(model)
