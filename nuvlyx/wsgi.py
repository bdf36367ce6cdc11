import io
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "nuvlyx.settings")
django_application = get_wsgi_application()


def application(environ, start_response):
    """Django reads a body by CONTENT_LENGTH only, so a `Transfer-Encoding: chunked` body would be
    seen as empty. The server (gunicorn) de-chunks it; here it is read up to the largest body we
    accept plus one byte and handed on with its length, so the usual limits apply (API: 413)."""
    if "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower() and not environ.get("CONTENT_LENGTH"):
        from django.conf import settings

        limit = max(settings.API_MAX_BODY_BYTES, settings.DATA_UPLOAD_MAX_MEMORY_SIZE or 0)
        body = environ["wsgi.input"].read(limit + 1)
        environ["wsgi.input"] = io.BytesIO(body)
        environ["CONTENT_LENGTH"] = str(len(body))
    return django_application(environ, start_response)
