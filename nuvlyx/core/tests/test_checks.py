"""System checks: NUVLYX_ENCRYPTION_KEYS must hold valid Fernet keys (`manage.py check` fails otherwise)."""

import pytest
from cryptography.fernet import Fernet
from django.core import checks
from django.test import override_settings

GOOD = Fernet.generate_key().decode()


def errors() -> list[checks.CheckMessage]:
    return [m for m in checks.run_checks() if m.id and m.id.startswith("nuvlyx.")]


def test_configured_keys_pass():
    with override_settings(NUVLYX_ENCRYPTION_KEYS=[GOOD, Fernet.generate_key().decode()]):
        assert errors() == []


@pytest.mark.parametrize(
    "keys, expected",
    [
        ([], "nuvlyx.E001"),
        ([""], "nuvlyx.E001"),
        (["not-a-key"], "nuvlyx.E002"),
        ([GOOD, GOOD[:-2]], "nuvlyx.E002"),  # a truncated old key
    ],
)
def test_empty_or_malformed_keys_are_errors(keys, expected):
    with override_settings(NUVLYX_ENCRYPTION_KEYS=keys):
        found = errors()
    assert [m.id for m in found] == [expected]
    assert found[0].level == checks.ERROR
    for key in keys:  # the message names the key's position, never its value
        assert not key or key not in found[0].msg
