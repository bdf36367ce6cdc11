import pytest
from cryptography.fernet import Fernet
from django.test import override_settings

from nuvlyx.core import crypto


def test_round_trip_and_ciphertext_differs():
    token = crypto.encrypt("user@example.com:hunter2")
    assert "hunter2" not in token
    assert crypto.decrypt(token) == "user@example.com:hunter2"
    assert crypto.encrypt("same") != crypto.encrypt("same")  # random IV


def test_decrypt_failure_raises_never_returns_ciphertext():
    with pytest.raises(crypto.DecryptionError):
        crypto.decrypt("not-a-fernet-token")
    other = Fernet(Fernet.generate_key()).encrypt(b"x").decode()
    with pytest.raises(crypto.DecryptionError):
        crypto.decrypt(other)


def test_rotation_first_key_encrypts_all_decrypt():
    k1, k2 = crypto.generate_key(), crypto.generate_key()
    with override_settings(NUVLYX_ENCRYPTION_KEYS=[k1]):
        old = crypto.encrypt("secret")
    with override_settings(NUVLYX_ENCRYPTION_KEYS=[k2, k1]):
        assert crypto.decrypt(old) == "secret"
        assert not crypto.is_encrypted_with_primary(old)
        rotated = crypto.rotate(old)
        assert crypto.is_encrypted_with_primary(rotated)
    with override_settings(NUVLYX_ENCRYPTION_KEYS=[k2]):
        assert crypto.decrypt(rotated) == "secret"
        with pytest.raises(crypto.DecryptionError):
            crypto.decrypt(old)


def test_keyed_hash_depends_on_purpose_and_secret_key():
    a = crypto.keyed_hash("x", purpose="license")
    assert a == crypto.keyed_hash("x", purpose="license")
    assert a != crypto.keyed_hash("x", purpose="other")
    with override_settings(SECRET_KEY="another-secret-key-for-this-test-only-0123456789"):
        assert crypto.keyed_hash("x", purpose="license") != a
