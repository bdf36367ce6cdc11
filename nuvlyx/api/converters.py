import re
import uuid

_CANONICAL = re.compile("[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
# What a path id that is not a UUID stands for: an id no row has (ids are random UUIDv4, never nil).
NOT_A_UUID = uuid.UUID(int=0)


class AnyCaseUUIDConverter:
    """A path id: any one segment, so the route (and its authentication, scope and rate limit) is the
    same whatever the client wrote. A UUID in any case names its resource; anything else is NOT_A_UUID,
    which no row has, so it is the resource's own 404 after the checks, exactly as an unknown UUID
    (API.md: "A path id that is not a UUID → 404 (same as unknown: never reveal anything)")."""

    regex = "[^/]+"

    def to_python(self, value: str) -> uuid.UUID:
        return uuid.UUID(value) if _CANONICAL.fullmatch(value) else NOT_A_UUID

    def to_url(self, value) -> str:
        return str(value)
