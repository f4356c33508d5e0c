from rest_framework.pagination import CursorPagination


class CreatedCursorPagination(CursorPagination):
    """Keyset pagination, newest first: page 50 costs what page 1 costs."""

    ordering = ("-created_at", "-pk")
    page_size = 20
    page_size_query_param = "page_size"
    max_page_size = 100


class OldestFirstCursorPagination(CreatedCursorPagination):
    ordering = ("created_at", "pk")
