"""The stack's own ceiling: a one-file Django app that answers a constant JSON body.

`make bench` serves it with the same gunicorn configuration file, worker class and worker count as
the product, drives it with the same load generator, and reports every product scenario as a
ratio to it (issue 15). No database, no middleware, no DRF: what is left is gunicorn, WSGI and
Django's request/response cycle, which no endpoint of ours can beat.

    gunicorn -c nuvlyx/gunicorn_conf.py --pythonpath bench bare_django:application
"""

from django.conf import settings
from django.core.wsgi import get_wsgi_application
from django.http import HttpResponse
from django.urls import path

BODY = b'{"id":"bench","name":"Bare Django","ok":true}'

settings.configure(
    DEBUG=False,
    SECRET_KEY="bench-only-not-secret",  # a constant body: nothing is signed
    ALLOWED_HOSTS=["*"],
    ROOT_URLCONF=__name__,
    MIDDLEWARE=[],
    INSTALLED_APPS=[],
    USE_TZ=True,
    LOGGING_CONFIG=None,
)


def constant(request, **kwargs):
    return HttpResponse(BODY, content_type="application/json")


urlpatterns = [path("", constant), path("<path:anything>", constant)]

application = get_wsgi_application()
