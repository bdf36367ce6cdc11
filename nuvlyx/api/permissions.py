"""ONE scope permission: each view declares `read_scope` / `write_scope`."""

from rest_framework.permissions import SAFE_METHODS, BasePermission

from nuvlyx.core.scopes import SCOPES  # noqa: F401  (the API's list; tokens are granted these)


def required_scope(request, view) -> str | None:
    if request.method in SAFE_METHODS:
        return getattr(view, "read_scope", None)
    return getattr(view, "write_scope", None)


ANY_SCOPE = "*"  # any valid token (e.g. GET /me)


class HasTokenScope(BasePermission):
    def has_permission(self, request, view) -> bool:
        token = request.auth
        if token is None:
            return False
        if not hasattr(view, request.method.lower()):
            return True  # a method the path does not serve: the view answers 405
        if request.method == "OPTIONS":
            return True  # says only which methods the route serves (as a 405's Allow does)
        scope = required_scope(request, view)
        if scope == ANY_SCOPE:
            return True
        if scope is None:  # a view that forgot to declare a scope is closed, not open
            self.message = "This endpoint is not available to API tokens"
            return False
        if scope not in token.scopes:
            self.message = f"Token is missing the required scope: {scope}"
            return False
        return True
