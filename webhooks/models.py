"""Webhook endpoints, deliveries and attempts (built in the webhooks issue)."""
