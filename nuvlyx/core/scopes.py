"""The scopes a personal access token can carry (API.md). Tokens (integrations) and the API check these."""

SCOPES = (
    "products:read",
    "products:write",
    "orders:read",
    "orders:write",
    "customers:read",
    "customers:write",
    "wallet:read",
    "wallet:write",
    "inventory:read",
    "inventory:write",
    "webhooks:manage",
)
