"""Event consumers of this app are registered here (see nuvlyx.core.events)."""
