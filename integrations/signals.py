"""Event consumers of this app are registered here (see nuvlyx.core.events). Imported by apps.ready()."""

from nuvlyx.core.crypto import register_encrypted_field
from nuvlyx.core.events import register_event_handler

from .whatsapp import handle_event, store_wants

register_event_handler("whatsapp", handle_event, wants=store_wants)
register_encrypted_field("integrations.MosendConnection", "api_key_encrypted")
