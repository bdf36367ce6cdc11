from rest_framework.exceptions import NotAcceptable
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import BaseRenderer

from nuvlyx.core.jsonenc import dumps


class FastJSONRenderer(BaseRenderer):
    """orjson: the API renders its own strings for amounts and dates, so this stays dumb and fast."""

    media_type = "application/json"
    format = "json"
    charset = None

    def render(self, data, accepted_media_type=None, renderer_context=None):
        if data is None:
            return b""
        return dumps(data)


class JSONContentNegotiation(DefaultContentNegotiation):
    """DRF's negotiation, answered without parsing when the client takes JSON plainly.

    Nearly every request says `Accept: application/json`, `*/*` or nothing, and DRF would pick the
    first (JSON) renderer for each after parsing the header into media types every time. Any other
    Accept header goes through DRF's own rules (406 and all). `?format=` is not an override here
    (URL_FORMAT_OVERRIDE is None: an unknown query parameter, ignored).
    """

    PLAIN = frozenset({"*/*", "application/json", "application/*"})  # an empty header is DRF's 406

    def select_renderer(self, request, renderers, format_suffix=None):
        first = renderers[0]
        accept = request.META.get("HTTP_ACCEPT")
        if (
            first.media_type == "application/json"
            and (accept is None or accept.strip() in self.PLAIN)
            and not format_suffix
            and (not self.settings.URL_FORMAT_OVERRIDE or self.settings.URL_FORMAT_OVERRIDE not in request._request.GET)
        ):
            return first, first.media_type
        try:
            return super().select_renderer(request, renderers, format_suffix)
        except NotAcceptable as exc:
            # DRF negotiates before authentication; API.md's order is 401 → 403 → 429 → the rest. The
            # 406 is raised after those (StoreScopedMixin.initial), its body rendered as JSON.
            request.not_acceptable = exc
            return first, first.media_type
