"""Stock services, the import command, key rotation, and "no credential in clear in the database"."""

import subprocess
from decimal import Decimal
from io import StringIO

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import override_settings

from catalog.models import License, Variation
from catalog.stock import OutOfStock, license_take, license_upload
from catalog.tests.factories import make_variation, stock
from nuvlyx.core import crypto
from nuvlyx.core.models import Event
from orders.models import OrderItem
from orders.services import order_fulfil_item, order_place
from wallets.tests.factories import make_customer


def counters(variation):
    variation.refresh_from_db()
    real = (
        License.objects.filter(variation=variation, status="AVAILABLE").count(),
        License.objects.filter(variation=variation, status="DELIVERED").count(),
    )
    assert (variation.stock_available, variation.stock_delivered) == real
    return real


@pytest.mark.django_db
def test_take_marks_delivered_and_counters_follow(store):
    variation = make_variation(store, duration_days=7)
    stock(variation, 5)
    taken = license_take(variation=Variation.objects.select_related("store").get(pk=variation.pk), quantity=2)
    assert len({lic.pk for lic in taken}) == 2
    for lic in License.objects.filter(pk__in=[t.pk for t in taken]):
        assert lic.status == "DELIVERED" and (lic.expires_at - lic.delivered_at).days == 7
    assert counters(variation) == (3, 2)
    with pytest.raises(OutOfStock):
        license_take(variation=variation, quantity=4)


@pytest.mark.django_db
def test_low_stock_event_once_then_again_after_restock(store):
    variation = make_variation(store, low_stock_threshold=3, price="1.00")
    stock(variation, 4, prefix="first")
    customer = make_customer(store, balance="100.00")

    def buy():
        order_place(store=store, customer_id=customer.pk, items=[variation.pk])

    def low_events():
        return list(Event.objects.filter(type="inventory.low_stock").order_by("created_at"))

    buy()  # 3 left: not below 3
    assert low_events() == []
    buy()  # 2 left: below → one event
    buy()  # 1 left: already notified
    events = low_events()
    assert len(events) == 1
    assert events[0].payload["data"] == {
        "productId": str(variation.product_id),
        "productName": variation.product.name,
        "variationId": str(variation.pk),
        "sku": variation.sku,
        "dependsOnStock": True,
        "available": 2,
        "delivered": 2,
        "lowStockThreshold": 3,
    }
    stock(variation, 5, prefix="second")  # 6 available: back above, flag reset
    variation.refresh_from_db()
    assert variation.low_stock_notified is False
    for _ in range(4):
        buy()  # 2 left → notified again
    assert len(low_events()) == 2
    assert counters(variation) == (2, 7)


@pytest.mark.django_db
def test_upload_service_counts_and_dedupes(store):
    variation = make_variation(store)
    result = license_upload(store=store, variation=variation, credentials=["a", "b", "a", "c"])
    assert (result.created, result.duplicates_skipped, result.available_stock) == (3, 1, 3)
    result = license_upload(store=store, variation=variation, credentials=["c", "d"])
    assert (result.created, result.duplicates_skipped, result.available_stock) == (1, 1, 4)
    hashes = set(License.objects.values_list("credentials_hash", flat=True))
    assert crypto.keyed_hash("a", purpose="license") in hashes
    import hashlib

    assert hashlib.sha256(b"a").hexdigest() not in hashes  # keyed, not a bare hash
    assert counters(variation) == (4, 0)


# --- import_licenses ------------------------------------------------------------------------------
def run_import(*args):
    out, err = StringIO(), StringIO()
    call_command("import_licenses", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("workers", ["1", "2"])
def test_import_lines_file_with_rejects(store, tmp_path, workers):
    variation = make_variation(store)
    stock(variation, 1, prefix="dup")
    existing = crypto.decrypt(License.objects.get().credentials_encrypted)
    path = tmp_path / "keys.txt"
    lines = ["k1", "k2", "", "k1", "x" * 4097, existing, "k3  ", "   "]
    path.write_text("\r\n".join(lines) + "\n", encoding="utf-8")

    out, err = run_import(store.slug, variation.sku, str(path), "--workers", workers, "--batch-size", "2")

    assert "created:    3" in out
    assert "duplicates: 2" in out
    assert "rejected:   3" in out
    assert "line 3: empty" in out and "line 5: longer than 4096 characters" in out and "line 8: empty" in out
    assert "100.0%" in err  # the progress bar is on stderr
    assert counters(variation) == (4, 0)
    clear = {crypto.decrypt(v) for v in License.objects.values_list("credentials_encrypted", flat=True)}
    assert clear == {"k1", "k2", "k3", existing}


@pytest.mark.django_db
def test_import_csv_with_credentials_column(store, tmp_path):
    variation = make_variation(store)
    path = tmp_path / "keys.csv"
    path.write_text('email,credentials\na,"user@x.io:pa,ss"\nb,\nc,other\n', encoding="utf-8")
    out, _ = run_import(store.slug, variation.sku, str(path), "--workers", "1")
    assert "created:    2" in out and "line 3: empty" in out
    clear = {crypto.decrypt(v) for v in License.objects.values_list("credentials_encrypted", flat=True)}
    assert clear == {"user@x.io:pa,ss", "other"}


@pytest.mark.django_db
@pytest.mark.parametrize("case", ["store", "sku", "file", "csv_column"])
def test_import_errors(store, other_store, tmp_path, case):
    variation = make_variation(store)
    foreign = make_variation(other_store)
    path = tmp_path / "keys.txt"
    path.write_text("a\n")
    args = {
        "store": ["nope", variation.sku, str(path)],
        "sku": [store.slug, foreign.sku, str(path)],
        "file": [store.slug, variation.sku, str(tmp_path / "missing.txt")],
        "csv_column": [store.slug, variation.sku, str(tmp_path / "bad.csv")],
    }[case]
    (tmp_path / "bad.csv").write_text("email,password\na,b\n")
    with pytest.raises(CommandError):
        run_import(*args, "--workers", "1")
    assert License.objects.count() == 0


@pytest.mark.django_db
def test_import_csv_with_an_unterminated_quote_is_refused(store, tmp_path):
    """It used to import the rest of the file as one credential."""
    variation = make_variation(store)
    path = tmp_path / "keys.csv"
    path.write_text('email,credentials\na,good\nb,"broken\nc,other\nd,more\n', encoding="utf-8")
    with pytest.raises(CommandError, match="line 3") as excinfo:
        run_import(store.slug, variation.sku, str(path), "--workers", "1")
    assert "\n" not in str(excinfo.value)
    assert License.objects.count() == 0


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("workers", ["1", "2"])
def test_import_validates_the_whole_file_before_writing(store, tmp_path, workers):
    """A file that stops being UTF-8 after 2,000+ lines used to leave the first batches committed."""
    variation = make_variation(store)
    path = tmp_path / "keys.txt"
    path.write_bytes(b"".join(f"key-{i}\n".encode() for i in range(2500)) + b"bad-\xff\xfe\nlast\n")
    with pytest.raises(CommandError, match="line 2501 is not UTF-8"):
        run_import(store.slug, variation.sku, str(path), "--workers", workers, "--batch-size", "100")
    assert License.objects.count() == 0
    assert counters(variation) == (0, 0)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "args", [["--workers", "0"], ["--workers", "-1"], ["--batch-size", "0"], ["--batch-size", "-5"]]
)
def test_import_refuses_non_positive_workers_and_batch_size(store, tmp_path, args):
    variation = make_variation(store)
    path = tmp_path / "keys.txt"
    path.write_text("a\nb\n")
    with pytest.raises(CommandError, match=args[0]):
        run_import(store.slug, variation.sku, str(path), *args)
    assert License.objects.count() == 0


@pytest.mark.live
@pytest.mark.django_db(transaction=True)
def test_import_command_exits_non_zero_on_unknown_store(tmp_path):
    from conftest import BASE_DIR, subprocess_env

    path = tmp_path / "keys.txt"
    path.write_text("a\n")
    proc = subprocess.run(
        [str(BASE_DIR / ".venv/bin/python"), "manage.py", "import_licenses", "no-such-store-x", "SKU", str(path)],
        cwd=BASE_DIR,
        capture_output=True,
        text=True,
        env=subprocess_env(),
    )
    assert proc.returncode != 0
    assert "no-such-store-x" in proc.stderr


# --- key rotation -----------------------------------------------------------------------------------
K1 = crypto.generate_key()
K2 = crypto.generate_key()


@pytest.mark.django_db
def test_rotation_round_trip(store):
    with override_settings(NUVLYX_ENCRYPTION_KEYS=[K1]):
        variation = make_variation(store, price="1.00", kind="SERVICE", depends_on_stock=False)
        values = stock(make_variation(store), 7)
        customer = make_customer(store, balance="1.00")
        order = order_place(store=store, customer_id=customer.pk, items=[variation.pk]).order
        item = OrderItem.objects.get(order=order)
        order_fulfil_item(store=store, item_id=item.pk, credentials="service-secret", note="")
        originals = dict(License.objects.values_list("pk", "credentials_encrypted"))

    with override_settings(NUVLYX_ENCRYPTION_KEYS=[K2, K1]):
        out = StringIO()
        call_command("rotate_encryption_key", "--batch-size", "3", stdout=out)
        assert "catalog.License.credentials_encrypted: 7 rotated, 0 already current" in out.getvalue()
        assert "orders.OrderItem.fulfilment_credentials_encrypted: 1 rotated" in out.getvalue()
        out = StringIO()
        call_command("rotate_encryption_key", stdout=out)  # resumable: nothing left to do
        assert "catalog.License.credentials_encrypted: 0 rotated, 7 already current" in out.getvalue()

    with override_settings(NUVLYX_ENCRYPTION_KEYS=[K2]):
        rows = dict(License.objects.values_list("pk", "credentials_encrypted"))
        assert all(rows[pk] != originals[pk] for pk in rows)
        assert sorted(crypto.decrypt(v) for v in rows.values()) == sorted(values)
        item.refresh_from_db()
        assert crypto.decrypt(item.fulfilment_credentials_encrypted) == "service-secret"


@pytest.mark.django_db
def test_rotation_reports_undecryptable_values_and_fails(store):
    with override_settings(NUVLYX_ENCRYPTION_KEYS=[K1]):
        stock(make_variation(store), 2)
    bad = License.objects.first()
    with override_settings(NUVLYX_ENCRYPTION_KEYS=[K2]):  # K1 lost: nothing decrypts
        out, err = StringIO(), StringIO()
        with pytest.raises(CommandError):
            call_command("rotate_encryption_key", stdout=out, stderr=err)
        assert "2 undecryptable" in out.getvalue()
        assert str(bad.pk) in err.getvalue()


@pytest.mark.django_db
@pytest.mark.parametrize("size", ["0", "-3"])
def test_rotation_refuses_a_non_positive_batch_size(store, size):
    """--batch-size 0 used to do nothing and report success; -3 crashed."""
    variation = make_variation(store)
    stock(variation, 2)
    before = dict(License.objects.values_list("pk", "credentials_encrypted"))
    with override_settings(NUVLYX_ENCRYPTION_KEYS=[K2, *settings.NUVLYX_ENCRYPTION_KEYS]):
        out = StringIO()
        with pytest.raises(CommandError, match="--batch-size"):
            call_command("rotate_encryption_key", "--batch-size", size, stdout=out)
    assert out.getvalue() == ""
    assert dict(License.objects.values_list("pk", "credentials_encrypted")) == before


# --- nothing in clear in the database ---------------------------------------------------------------
def tables_containing(needles: list[str]) -> set[str]:
    """pg_dump the test database (a separate process: committed data only); tables whose rows hold a needle."""
    db = connection.settings_dict
    dump = subprocess.run(
        [
            "pg_dump",
            "--data-only",
            "-h",
            db["HOST"] or "127.0.0.1",
            "-p",
            str(db["PORT"] or 5432),
            "-U",
            db["USER"],
            db["NAME"],
        ],
        capture_output=True,
        check=True,
        env={"PGPASSWORD": db.get("PASSWORD") or "", "PATH": "/usr/bin:/bin"},
    ).stdout.decode()
    found, table = set(), None
    for line in dump.splitlines():
        if line.startswith("COPY "):
            table = line.split()[1]
        elif line == "\\.":
            table = None
        elif table and any(needle in line for needle in needles):
            found.add(table)
    assert "public.catalog_license" in dump  # the dump really contains our tables
    return found


@pytest.mark.live
@pytest.mark.django_db(transaction=True)
def test_no_uploaded_credential_in_clear_in_a_database_dump(api, store, tmp_path):
    variation = make_variation(store, price="1.00")
    secrets = [f"dump-check-{i}@secret.example:Pa55-{i:04d}" for i in range(25)]
    response = api.post(
        "/inventory/licenses", {"variationId": str(variation.pk), "licenses": [{"credentials": s} for s in secrets]}
    )
    assert response.status_code == 201
    path = tmp_path / "more.txt"
    path.write_text("\n".join(f"dump-file-{i}" for i in range(10)))
    run_import(store.slug, variation.sku, str(path), "--workers", "1")
    assert License.objects.count() == 35

    assert tables_containing(["dump-check", "dump-file", "secret.example"]) == set()


@pytest.mark.live
@pytest.mark.django_db(transaction=True)
def test_delivered_credentials_live_only_encrypted_in_domain_tables(api, store):
    variation = make_variation(store, price="1.00")
    secrets = [f"sold-{i}@secret.example:Pa55-{i:04d}" for i in range(5)]
    api.post(
        "/inventory/licenses", {"variationId": str(variation.pk), "licenses": [{"credentials": s} for s in secrets]}
    )
    customer = make_customer(store, balance="5.00")
    response = api.post("/orders", {"customerId": str(customer.pk), "items": [{"variationId": str(variation.pk)}] * 3})
    assert response.status_code == 201
    assert Decimal(customer.wallet.balance) == Decimal("2.00")

    leaking = tables_containing(["sold-", "secret.example"])
    # API.md: order events carry the order "credentials included"; the outbox row keeps that
    # envelope encrypted, so no table of any app holds a credential in clear.
    assert leaking == set(), leaking


# --- the fast upload path (issue 8): batch encryption, COPY insert, parallel import ---------------
def fernet_parts(token: str) -> tuple[int, int, bytes]:
    import base64
    import struct

    raw = base64.urlsafe_b64decode(token)
    return raw[0], struct.unpack(">Q", raw[1:9])[0], raw[9:25]


def test_encrypt_many_makes_standard_fernet_tokens():
    import time

    from cryptography.fernet import Fernet, InvalidToken, MultiFernet

    values = ["", "a", "x" * 15, "y" * 16, "z" * 17, "ñandú 🔑 user@mail:pw", "w" * 4096, "a"]
    with override_settings(NUVLYX_ENCRYPTION_KEYS=[K1, K2]):
        before = int(time.time())
        tokens = crypto.encrypt_many(values)
        after = int(time.time())
        assert [crypto.decrypt(token) for token in tokens] == values
    assert len(tokens) == len(values) and len(set(tokens)) == len(values)  # equal values, different tokens
    first, second = Fernet(K1.encode()), Fernet(K2.encode())
    for token, value in zip(tokens, values, strict=True):
        assert first.decrypt(token.encode()) == value.encode("utf-8")  # the first key encrypts
        assert MultiFernet([second, first]).decrypt(token.encode()) == value.encode("utf-8")
        with pytest.raises(InvalidToken):
            second.decrypt(token.encode())
        version, stamp, _ = fernet_parts(token)
        assert version == 0x80 and before <= stamp <= after
    ivs = [fernet_parts(token)[2] for token in tokens]
    assert len(set(ivs)) == len(ivs)
    assert crypto.encrypt_many([]) == []


def test_keyed_hasher_equals_keyed_hash():
    digest = crypto.keyed_hasher("license")
    for value in ["", "a", "ñandú 🔑", "k" * 4096]:
        assert digest(value) == crypto.keyed_hash(value, purpose="license")
    assert crypto.keyed_hasher("other")("a") != digest("a")


@pytest.mark.django_db
def test_upload_without_existing_check_counts_like_with_it(store):
    """check_existing=False (the import's path: COPY, falling back on a conflict) == the checked path."""
    values = [f"v{i}" for i in range(30)]
    results = {}
    for check in (True, False):
        variation = make_variation(store, low_stock_threshold=5)
        Variation.objects.filter(pk=variation.pk).update(low_stock_notified=True)
        first = license_upload(store=store, variation=variation, credentials=values[:10], check_existing=check)
        # 10 already in stock, 5 repeated within the upload, 20 new.
        second = license_upload(
            store=store, variation=variation, credentials=values[:10] + values[10:] + values[25:], check_existing=check
        )
        variation.refresh_from_db()
        assert variation.low_stock_notified is False
        assert counters(variation) == (30, 0)
        hashes = set(License.objects.filter(variation=variation).values_list("credentials_hash", flat=True))
        assert hashes == {crypto.keyed_hash(v, purpose="license") for v in values}
        clear = {
            crypto.decrypt(t)
            for t in License.objects.filter(variation=variation).values_list("credentials_encrypted", flat=True)
        }
        assert clear == set(values)
        results[check] = [(r.created, r.duplicates_skipped, r.available_stock) for r in (first, second)]
    assert results[True] == results[False] == [(10, 0, 10), (20, 15, 30)]


@pytest.mark.django_db(transaction=True)
def test_parallel_import_dedupes_across_batches_and_stock(store, tmp_path):
    """Workers insert batches concurrently: duplicates across batches and against stock are counted exactly."""
    variation = make_variation(store)
    license_upload(store=store, variation=variation, credentials=[f"cred-{i}" for i in range(0, 300, 7)])  # 43
    lines = [f"cred-{i % 250}" for i in range(600)]  # 250 distinct values, each 2-3 times
    path = tmp_path / "keys.txt"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out, _ = run_import(store.slug, variation.sku, str(path), "--workers", "3", "--batch-size", "16")
    in_stock_before = len([i for i in range(0, 250, 7)])  # 36 of the 250
    assert f"created:    {250 - in_stock_before}" in out
    assert f"duplicates: {600 - (250 - in_stock_before)}" in out
    assert counters(variation) == (43 + 250 - in_stock_before, 0)
    out, _ = run_import(store.slug, variation.sku, str(path), "--workers", "2", "--batch-size", "50")
    assert "created:    0" in out and "duplicates: 600" in out  # re-running skips everything
    assert counters(variation) == (43 + 250 - in_stock_before, 0)


@pytest.mark.django_db
def test_rotation_of_batch_encrypted_licenses(store, tmp_path):
    with override_settings(NUVLYX_ENCRYPTION_KEYS=[K1]):
        variation = make_variation(store)
        path = tmp_path / "keys.txt"
        path.write_text("\n".join(f"rot-{i}" for i in range(12)))
        run_import(store.slug, variation.sku, str(path), "--workers", "1", "--batch-size", "5")
    with override_settings(NUVLYX_ENCRYPTION_KEYS=[K2, K1]):
        out = StringIO()
        call_command("rotate_encryption_key", stdout=out)
        assert "catalog.License.credentials_encrypted: 12 rotated, 0 already current" in out.getvalue()
    with override_settings(NUVLYX_ENCRYPTION_KEYS=[K2]):
        rows = License.objects.values_list("credentials_encrypted", flat=True)
        assert sorted(crypto.decrypt(v) for v in rows) == sorted(f"rot-{i}" for i in range(12))
