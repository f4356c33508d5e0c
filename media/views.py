from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.files.storage import default_storage
from django.http import FileResponse, Http404, HttpRequest, HttpResponseRedirect
from django.views.decorators.http import require_GET
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers as drf
from rest_framework import status
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

import policy
from aurum import ratelimit
from aurum.errors import Invalid
from aurum.serializers import StrictSerializer
from media import selectors, services, signing

TAG = ["media"]

PhotoOut = inline_serializer(
    "Photo",
    {
        "image_id": drf.UUIDField(),
        "tiny_url": drf.CharField(),
        "medium_url": drf.CharField(),
        "full_url": drf.CharField(),
        "status": drf.CharField(),
        "is_primary": drf.BooleanField(),
        "width": drf.IntegerField(),
        "height": drf.IntegerField(),
        "created_at": drf.DateTimeField(),
    },
)


class UploadView(APIView):
    parser_classes = [MultiPartParser]

    @extend_schema(
        tags=TAG,
        request={"multipart/form-data": inline_serializer("Upload", {"file": drf.FileField()})},
        responses={201: PhotoOut},
    )
    def post(self, request: Request) -> Response:
        ratelimit.enforce(request, "photo_upload_user", str(request.user.pk))
        # Refuse an announced oversize body before reading it (less its multipart framing).
        try:
            announced = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            raise Invalid("Content-Length is not a number.", "invalid") from None
        services.check_upload_size(max(0, announced - settings.MEDIA_UPLOAD_ENVELOPE_BYTES))
        if unknown := sorted(set(request.data) - {"file"}):
            raise drf.ValidationError({key: ["Unknown field."] for key in unknown})
        upload = request.FILES.get("file")
        if upload is None:
            raise Invalid("Send the photo in the multipart field 'file'.", "invalid")
        photo = services.photo_upload(owner=request.user, data=upload.read())
        return Response(services.as_payload(photo), status=status.HTTP_201_CREATED)


class PrimaryIn(StrictSerializer):
    image_id = drf.CharField(max_length=64)


class ProfileImageView(APIView):
    @extend_schema(tags=TAG, request=PrimaryIn, responses={200: PhotoOut})
    def post(self, request: Request) -> Response:
        data = PrimaryIn(data=request.data)
        data.is_valid(raise_exception=True)
        photo = services.photo_make_primary(
            owner=request.user, photo=selectors.photo_by_id(value=data.validated_data["image_id"])
        )
        return Response(services.as_payload(photo))


class ImagesView(APIView):
    @extend_schema(
        tags=TAG,
        responses={200: inline_serializer("Photos", {"results": drf.ListField(child=PhotoOut)})},
    )
    def get(self, request: Request) -> Response:
        photos = policy.photos_for(viewer=request.user, owner=request.user)
        return Response({"results": [services.as_payload(p) for p in photos]})


class ImageDeleteView(APIView):
    @extend_schema(tags=TAG, responses={204: OpenApiResponse(description="Deleted.")})
    def delete(self, request: Request, image_id: str) -> Response:
        services.photo_delete(owner=request.user, photo=selectors.photo_by_id(value=image_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


@require_GET
def signed_file(request: HttpRequest, key: str) -> Any:
    """A photo rendition, while its URL's signature and expiry hold and nothing revoked it
    since (media.signing): served from the filesystem, or a redirect to a presigned S3 URL
    made now. 404 for any URL that does not stand, whatever the reason."""
    signed = signing.check(key, request.GET)
    if signed is None or not selectors.photo_url_is_current(
        photo_id=signed[0], version=signed[1], key=key
    ):
        raise Http404
    if not signing.on_filesystem():
        response = HttpResponseRedirect(
            default_storage.url(key, expire=signing.PRESIGNED_TTL)  # type: ignore[call-arg]
        )
        response["Cache-Control"] = "no-store"  # a cached redirect would outlive its target
        return response
    if not default_storage.exists(key):
        raise Http404
    content_type = "image/webp" if key.endswith(".webp") else "image/jpeg"
    response = FileResponse(default_storage.open(key), content_type=content_type)
    response["Cache-Control"] = "private, max-age=300"
    return response
