"""Aurum's project package: settings, wiring and the kernel shared by every app."""

# Celery's app is made when Django starts, so each app's @shared_task binds to it.
from aurum.celery import app as celery_app

__all__ = ["celery_app"]
