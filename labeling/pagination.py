from rest_framework import pagination


class PageNumberPagination(pagination.PageNumberPagination):
    """Pages of ``page_size`` (default 100, at most 1000) with a total count, for grids."""

    page_size_query_param = "page_size"
    max_page_size = 1000


class IdCursorPagination(pagination.CursorPagination):
    """Constant-time paging through very long lists (no COUNT, no OFFSET)."""

    ordering = "id"
    page_size = 500
    page_size_query_param = "page_size"
    max_page_size = 5000
