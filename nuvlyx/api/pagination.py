"""page/limit pagination: {"data": [...], "pagination": {"page", "limit", "total"}}."""

import re
from dataclasses import dataclass

from rest_framework.response import Response

from .errors import DomainError

DEFAULT_LIMIT = 20
MAX_LIMIT = 100


@dataclass(frozen=True)
class Page:
    page: int
    limit: int

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.limit


# ASCII digits only: str.isdigit() also accepts "²" and "１", and int() accepts " 5".
# 15 digits keep (page - 1) * limit far inside PostgreSQL's bigint OFFSET.
_ASCII_INT = re.compile(r"[0-9]{1,15}")


def ascii_int(raw: str) -> int | None:
    """The value of a query parameter made of 1-15 ASCII digits, else None."""
    return int(raw) if _ASCII_INT.fullmatch(raw) else None


def _positive_int(raw: str | None, name: str, default: int, maximum: int | None) -> int:
    if raw is None:
        return default
    value = ascii_int(raw)
    if value is None:
        raise DomainError(f"'{name}' must be a positive integer", status=400, code="invalid_pagination")
    if value < 1 or (maximum is not None and value > maximum):
        bound = f" between 1 and {maximum}" if maximum else " of at least 1"
        raise DomainError(f"'{name}' must be an integer{bound}", status=400, code="invalid_pagination")
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
