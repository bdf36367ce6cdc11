from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.exceptions import AuthenticationFailed

from .services import api_token_authenticate


class TokenUser:
    """What request.user is for an API call: the token's store, never a Django user."""

    is_authenticated = True
    is_anonymous = False

    def __init__(self, token):
        self.token = token
        self.store = token.store


class ApiTokenAuthentication(BaseAuthentication):
    keyword = b"bearer"

    def authenticate(self, request):
        header = get_authorization_header(request).split()
        if not header:
            return None
        if header[0].lower() != self.keyword or len(header) != 2:
            raise AuthenticationFailed("Invalid authorization header: expected 'Bearer <token>'")
        try:
            raw = header[1].decode("ascii")
        except UnicodeError:
            raise AuthenticationFailed("Invalid token") from None
        token = api_token_authenticate(raw)
        if token is None:
            raise AuthenticationFailed("Invalid, revoked or expired token")
        return TokenUser(token), token

    def authenticate_header(self, request) -> str:
        return 'Bearer realm="api"'
