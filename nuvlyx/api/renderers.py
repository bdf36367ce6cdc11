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
