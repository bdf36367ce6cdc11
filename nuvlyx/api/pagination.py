"""page/limit pagination: {"data": [...], "pagination": {"page", "limit", "total"}}."""

from dataclasses import dataclass

from rest_framework.response import Response

from .errors import ApiError

DEFAULT_LIMIT = 20
MAX_LIMIT = 100


@dataclass(frozen=True)
class Page:
    page: int
    limit: int

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.limit


def _positive_int(raw: str | None, name: str, default: int, maximum: int | None) -> int:
    if raw is None:
        return default
    text = raw.strip()
    if not text.isdigit() or len(text) > 9:
        raise ApiError(f"'{name}' must be a positive integer", status=400, code="invalid_pagination")
    value = int(text)
    if value < 1 or (maximum is not None and value > maximum):
        bound = f" between 1 and {maximum}" if maximum else " of at least 1"
        raise ApiError(f"'{name}' must be an integer{bound}", status=400, code="invalid_pagination")
    return value


def parse_page(query_params) -> Page:
    return Page(
        page=_positive_int(query_params.get("page"), "page", 1, None),
        limit=_positive_int(query_params.get("limit"), "limit", DEFAULT_LIMIT, MAX_LIMIT),
    )


def paginated_response(data: list, *, page: Page, total: int) -> Response:
    return Response({"data": data, "pagination": {"page": page.page, "limit": page.limit, "total": total}})


def paginate_queryset(queryset, page: Page) -> tuple[list, int]:
    """One COUNT and one page query; a page past the end is empty with the true total."""
    total = queryset.count()
    if page.offset >= total:
        return [], total
    return list(queryset[page.offset : page.offset + page.limit]), total
