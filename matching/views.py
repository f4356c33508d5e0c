from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.selectors import user_by_public_id
from aurum.pagination import KeysetPage, keyset_schema
from matching import feed, lists, search, selectors, serializers, services
from matching.models import Interest, ProfileVisit, Shortlist
from profiles.serializers import CardOut, card_context, cards_from_values

TAG = ["matching"]
DONE = {204: OpenApiResponse(description="Done (also when nothing was there).")}


class ShortlistView(APIView):
    @extend_schema(tags=TAG, request=None, responses={201: serializers.ShortlistOut})
    def post(self, request: Request, profile_id: str) -> Response:
        item = services.shortlist_add(
            owner=request.user, target=user_by_public_id(value=profile_id)
        )
        return Response(
            serializers.ShortlistOut(item, context={"viewer": request.user}).data,
            status=status.HTTP_201_CREATED,
        )

    @extend_schema(tags=TAG, responses=DONE)
    def delete(self, request: Request, profile_id: str) -> Response:
        services.shortlist_remove(owner=request.user, target=user_by_public_id(value=profile_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


class CardListView(generics.ListAPIView):
    """A list whose items carry member cards: every card's photo is fetched for the whole page
    at once (`card_context`)."""

    def card_profile(self, item: Any) -> Any:
        raise NotImplementedError

    def get_serializer(self, *args: Any, **kwargs: Any) -> Any:
        context = {**self.get_serializer_context(), **kwargs.pop("context", {})}
        if args and isinstance(args[0], list):
            profiles = [p for p in map(self.card_profile, args[0]) if p is not None]
            context.update(card_context(self.request.user, profiles))
        return self.get_serializer_class()(*args, context=context, **kwargs)

    def get_serializer_context(self) -> dict[str, Any]:
        return {**super().get_serializer_context(), "viewer": self.request.user}


class ShortlistedView(CardListView):
    serializer_class = serializers.ShortlistOut

    @extend_schema(tags=TAG)
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    def get_queryset(self):  # noqa: ANN201 - a QuerySet of shortlist entries
        if getattr(self, "swagger_fake_view", False):
            return Shortlist.objects.none()
        return lists.shortlist_of(viewer=self.request.user)

    def card_profile(self, item: Any) -> Any:
        return getattr(item.target, "profile", None)


class IgnoreView(APIView):
    @extend_schema(tags=TAG, request=None, responses=DONE)
    def post(self, request: Request, profile_id: str) -> Response:
        services.ignore_add(owner=request.user, target=user_by_public_id(value=profile_id))
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(tags=TAG, responses=DONE)
    def delete(self, request: Request, profile_id: str) -> Response:
        services.ignore_remove(owner=request.user, target=user_by_public_id(value=profile_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


class InterestsView(CardListView):
    serializer_class = serializers.InterestOut

    @extend_schema(tags=TAG, parameters=[serializers.InterestQuery])
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    def get_queryset(self):  # noqa: ANN201 - a QuerySet of interests
        if getattr(self, "swagger_fake_view", False):
            return Interest.objects.none()
        query = serializers.InterestQuery(data=self.request.query_params.dict())
        query.is_valid(raise_exception=True)
        return lists.interests_of(
            viewer=self.request.user,
            direction=query.validated_data["direction"],
            status=query.validated_data.get("status"),
        )

    def card_profile(self, item: Any) -> Any:
        other = item.receiver if item.sender_id == self.request.user.pk else item.sender
        return getattr(other, "profile", None)

    @extend_schema(
        tags=TAG, request=serializers.InterestIn, responses={201: serializers.InterestOut}
    )
    def post(self, request: Request) -> Response:
        data = serializers.InterestIn(data=request.data)
        data.is_valid(raise_exception=True)
        interest = services.interest_send(
            sender=request.user,
            receiver=user_by_public_id(value=data.validated_data["to_profile"]),
            message=data.validated_data["message"],
        )
        return Response(
            serializers.InterestOut(interest, context={"viewer": request.user}).data,
            status=status.HTTP_201_CREATED,
        )


class InterestActionView(APIView):
    action_name = ""
    ACTIONS = {
        "accept": services.interest_accept,
        "decline": services.interest_decline,
        "withdraw": services.interest_withdraw,
    }

    @extend_schema(tags=TAG, request=None, responses={200: serializers.InterestOut})
    def post(self, request: Request, interest_id: str) -> Response:
        interest = self.ACTIONS[self.action_name](
            user=request.user, interest=selectors.interest_by_id(value=interest_id)
        )
        return Response(serializers.InterestOut(interest, context={"viewer": request.user}).data)


def validated_query(request: Request, query_class: type[serializers.PageQuery]) -> dict[str, Any]:
    list_fields = getattr(query_class, "LIST_FIELDS", set())
    query = query_class(data=serializers.query_data(request.query_params, list_fields))
    query.is_valid(raise_exception=True)
    return query.validated_data


class SearchView(APIView):
    @extend_schema(
        tags=TAG,
        parameters=[serializers.SearchQuery],
        responses={200: keyset_schema("SearchPage", CardOut)},
        description="Members of the gender you seek matching every filter given, as cards, "
        "in keyset pages (`next`/`previous` are links).",
    )
    def get(self, request: Request) -> Response:
        filters = validated_query(request, serializers.SearchQuery)
        page = search.search_page(viewer=request.user, filters=filters)
        results = cards_from_values(request.user, page.rows)
        return Response({"results": results, **page.links(request)})


class FeedView(APIView):
    @extend_schema(
        tags=TAG,
        parameters=[serializers.PageQuery],
        responses={200: keyset_schema("FeedPage", serializers.FeedCardOut)},
        description="Recommendations, best two-way match first, then the most recently active. "
        "Pages are cached for a short while and refreshed when anything of yours changes.",
    )
    def get(self, request: Request) -> Response:
        query = validated_query(request, serializers.PageQuery)
        page = feed.feed_page(
            viewer=request.user, cursor=query.get("cursor"), size=query["page_size"]
        )
        links = KeysetPage(rows=[], next=page["next"], previous=page["previous"]).links(request)
        return Response({"results": page["results"], **links})


class VisitorsView(CardListView):
    serializer_class = serializers.VisitOut

    @extend_schema(
        tags=TAG,
        description="Members who opened your profile, latest first (one "
        "visit per member per day); only members you may see.",
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    def get_queryset(self):  # noqa: ANN201 - a QuerySet of visits
        if getattr(self, "swagger_fake_view", False):
            return ProfileVisit.objects.none()
        return lists.visitors_of(viewer=self.request.user)

    def card_profile(self, item: Any) -> Any:
        return getattr(item.viewer, "profile", None)
