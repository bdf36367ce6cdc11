"""Django's admin-side middleware (sessions, the user, messages), skipped by the API.

The API authenticates a bearer token (DRF), keeps no session, sets no cookie and takes no form: these
middleware have nothing to do on it, and were ~50 µs of every API request's ~0.6 ms in-process (issue 15).
The subclasses below (so Django's admin system checks still find them) pass API requests straight through
and behave exactly as Django's everywhere else. Apart from nuvlyx/api/middleware.py because importing
django.contrib.auth's middleware needs the app registry, and the logging configuration imports that module
before it is ready. CsrfViewMiddleware stays Django's own (`check --deploy` looks for it by name; DRF's
views are csrf_exempt, so it already does nothing on the API).
"""

from django.contrib.auth.middleware import AuthenticationMiddleware
from django.contrib.messages.middleware import MessageMiddleware
from django.contrib.sessions.middleware import SessionMiddleware
from django.utils.deprecation import MiddlewareMixin

from .middleware import API_PREFIX


def _is_api(request) -> bool:
    return request.path_info.startswith(API_PREFIX)


class _AdminOnly(MiddlewareMixin):
    def __call__(self, request):
        if _is_api(request):
            return self.get_response(request)
        return super().__call__(request)


class AdminSessionMiddleware(_AdminOnly, SessionMiddleware):
    pass


class AdminAuthenticationMiddleware(_AdminOnly, AuthenticationMiddleware):
    pass


class AdminMessageMiddleware(_AdminOnly, MessageMiddleware):
    pass
