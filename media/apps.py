from __future__ import annotations

from typing import Any

from django.apps import AppConfig


class MediaConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "media"
    moderator_permissions = ("media.view_photo", "media.change_photo")

    def ready(self) -> None:
        from accounts.privacy import register_member_data
        from media import privacy

        register_member_data("photos", export=privacy.export, erase=privacy.erase)
        from django.db.models import Exists, OuterRef
        from django.db.models.signals import post_delete

        from media import selectors, services
        from media.models import Photo, PhotoStatus

        # However a photo row goes (a member's delete, an account deleted with its photos),
        # its renditions leave storage once that commits.
        post_delete.connect(
            lambda sender, instance, **kw: services.remove_files_later(instance.keys),
            sender=Photo,
            dispatch_uid="aurum.media.remove_files",
            weak=False,
        )
        from aurum.permissions import has_staff_powers
        from media.signing import photo_url, signed_url
        from profiles.selectors import (
            photos_open_to,
            register_completion_check,
            register_gallery_provider,
            register_photo_filter,
            register_photo_provider,
        )

        def card_photos(
            viewer: Any, profiles: list[Any], visible: bool
        ) -> dict[object, dict[str, str]]:
            """Each card's first approved photo under the photo rule, for a whole list."""
            allowed = photos_open_to(viewer=viewer, profiles=profiles, visible=visible)
            pending_too = allowed if has_staff_powers(viewer) else allowed & {viewer.pk}
            keys = selectors.primary_keys_of(list(allowed), pending_too=pending_too)
            return {
                owner_id: {
                    "tiny_url": signed_url(tiny, photo_id=photo_id, version=version),
                    "medium_url": signed_url(medium, photo_id=photo_id, version=version),
                }
                for owner_id, (photo_id, version, tiny, medium) in keys.items()
            }

        def gallery(viewer: Any, profile: Any) -> list[dict[str, str]]:
            return [
                {
                    "tiny_url": photo_url(photo, photo.tiny_key),
                    "medium_url": photo_url(photo, photo.medium_key),
                    "status": photo.status,
                }
                for photo in selectors.photos_for(
                    viewer=viewer, owner=profile.user, visibility=profile.photo_visibility
                )
            ]

        def with_photo(profiles: Any) -> Any:
            approved = Photo.objects.filter(owner=OuterRef("pk"), status=PhotoStatus.APPROVED)
            return profiles.filter(Exists(approved), photo_visibility="all_members")

        from media import receivers

        receivers.connect()
        register_photo_provider(card_photos)
        register_photo_filter(with_photo)
        register_gallery_provider(gallery)
        register_completion_check(
            "photo", lambda profile: selectors.has_photos(owner_id=profile.pk)
        )
