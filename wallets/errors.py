from nuvlyx.api.errors import ApiError


class InsufficientBalance(ApiError):
    status_code = 400
    code = "insufficient_balance"
