"""The numbers a moderator lead wants on the admin's front page, and their chart."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from accounts.selectors import signups_per_day
from moderation.models import Report, ReportStatus
from profiles.selectors import approvals_per_day, pending_count


def console_numbers(*, days: int = 30) -> dict[str, Any]:
    today = timezone.localdate()
    span = [today - timedelta(days=offset) for offset in range(days - 1, -1, -1)]
    signups, approvals = signups_per_day(days=days), approvals_per_day(days=days)
    open_reports = Report.objects.filter(status=ReportStatus.PENDING)
    return {
        "pending_verifications": pending_count(),
        "open_reports": open_reports.count(),
        "flagged_reports": open_reports.filter(flagged=True).count(),
        "signups_today": signups.get(today, 0),
        "approvals_today": approvals.get(today, 0),
        "days": span,
        "signups": [signups.get(day, 0) for day in span],
        "approvals": [approvals.get(day, 0) for day in span],
    }


def bar_chart(days: list[date], series: dict[str, list[int]], colors: dict[str, str]) -> SafeString:
    """Grouped bars as inline SVG: drawn here, no chart library, no CDN."""
    width, height, pad = 720, 180, 24
    peak = max([1, *(v for values in series.values() for v in values)])
    slot = (width - 2 * pad) / max(1, len(days))
    bar = slot / (len(series) + 1)
    bars = []
    for index in range(len(days)):
        for position, (name, values) in enumerate(series.items()):
            value = values[index]
            h = (height - 2 * pad) * value / peak
            x = pad + index * slot + position * bar
            bars.append(
                (
                    f"{x:.1f}",
                    f"{height - pad - h:.1f}",
                    f"{bar:.1f}",
                    f"{h:.1f}",
                    colors[name],
                    f"{days[index]:%d %b}: {value} {name}",
                )
            )
    labels = [
        (f"{pad + i * slot:.1f}", f"{days[i]:%d %b}")
        for i in range(0, len(days), max(1, len(days) // 6))
    ]
    legend = [
        (f"{pad + i * 110}", colors[name], f"{pad + i * 110 + 14}", name)
        for i, name in enumerate(series)
    ]
    return format_html(
        # Sized by moderation/static/moderation/console.css (no style attribute: the CSP).
        '<svg xmlns="http://www.w3.org/2000/svg" role="img" viewBox="0 0 {} {}" width="{}" '
        'height="{}"><title>Signups and approvals per day</title>{}{}{}'
        '<text x="{}" y="12" font-size="10">max {}</text></svg>',
        width,
        height,
        width,
        height,
        format_html_join(
            "",
            '<rect x="{}" y="{}" width="{}" height="{}" fill="{}"><title>{}</title></rect>',
            bars,
        ),
        format_html_join(
            "", '<text x="{}" y="' + str(height - 6) + '" font-size="10">{}</text>', labels
        ),
        format_html_join(
            "",
            '<rect x="{}" y="2" width="10" height="10" fill="{}"></rect>'
            '<text x="{}" y="11" font-size="10">{}</text>',
            legend,
        ),
        width - 60,
        peak,
    )
