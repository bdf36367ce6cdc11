"""Test mode with a real Celery worker, the real Redis broker, a real HTTP receiver and the fake Mosend:
issue 17's "done when" #2 and #3."""

import pytest
from standardwebhooks.webhooks import Webhook

from conftest import wait_until
from integrations.models import MessageLog
from integrations.tests.fake_mosend import FakeMosend
from integrations.tests.whatsapp_helpers import connect, route
from orders.models import Order
from wallets.models import Wallet
from webhooks.tests.receiver import Receiver

pytestmark = [pytest.mark.live, pytest.mark.django_db(transaction=True)]

PHONE = "+573001112233"


def live_counts(store) -> dict:
    """Row counts of every store-owned model, and every wallet balance, of one store."""
    from django.apps import apps

    counts = {
        m._meta.label: m._default_manager.filter(store_id=store.pk).count()
        for m in apps.get_models()
        if any(f.name == "store" for f in m._meta.concrete_fields) and m._meta.label != "core.Event"
    }
    counts["balances"] = sorted(
        (str(pk), str(b)) for pk, b in Wallet.objects.filter(store=store).values_list("pk", "balance")
    )
    return counts


@pytest.fixture
def receivers():
    live, test = Receiver().start(), Receiver().start()
    yield live, test
    live.stop()
    test.stop()


def test_order_replacement_refund_and_recharge_with_a_test_token_reach_only_the_sandbox_endpoint(
    api, api_for, store, sandbox, receivers, celery_worker_proc
):
    from catalog.tests.factories import make_variation, stock
    from wallets.tests.factories import make_customer

    live_receiver, test_receiver = receivers
    celery_worker_proc()
    # given: live data (a funded customer with the same phone, stock) and one endpoint per world
    make_customer(store, balance="9000.00", phone=PHONE)
    stock(make_variation(store, price="1000.00"), 2)
    live_endpoint = api.post("/webhooks", {"url": live_receiver.url, "events": ["*"]})
    assert live_endpoint.status_code == 201
    variation = make_variation(sandbox, price="1000.00")
    stock(variation, 2)  # one sold, one for the warranty replacement
    make_customer(sandbox, phone=PHONE)
    test_api = api_for(sandbox)
    endpoint = test_api.post("/webhooks", {"url": test_receiver.url, "events": ["*"]}).json()
    live_before = live_counts(store)

    # when: a recharge, an order and its refund with the test token
    recharge = test_api.post(f"/customers/by-phone/{PHONE}/wallet/recharge", {"amount": "5000.00"})
    order = test_api.post("/orders", {"customerPhone": PHONE, "items": [{"variationId": str(variation.pk)}]})
    order_id = order.json()["orderId"]
    item_id = test_api.get(f"/orders/{order_id}").json()["items"][0]["id"]
    replace = test_api.post(f"/orders/{order_id}/items/{item_id}/replace", {"reason": "stopped working"})
    refund = test_api.post(f"/orders/{order_id}/refund", {})
    assert (recharge.status_code, order.status_code, replace.status_code, refund.status_code) == (201, 201, 200, 200)

    # then: the sandbox endpoint gets every event, signed, marked livemode false
    expected = ["wallet.recharged", "order.created", "order.completed", "order.item_replaced", "order.refunded"]
    wait_until(lambda: len(test_receiver.requests) >= len(expected), 45, message="sandbox webhooks delivered")
    payloads = [Webhook(endpoint["secret"]).verify(r.body, r.headers) for r in test_receiver.requests]
    assert sorted(p["type"] for p in payloads) == sorted(expected)
    assert all(p["livemode"] is False and p["storeId"] == str(sandbox.pk) for p in payloads)
    assert all(b'"livemode":false' in r.body for r in test_receiver.requests)
    # and live: nothing received, nothing changed
    assert live_receiver.requests == []
    assert live_counts(store) == live_before
    assert Order.objects.filter(store=store).count() == 0


def test_sandbox_whatsapp_is_simulated_and_never_reaches_mosend(api, api_for, store, sandbox, celery_worker_proc):
    from catalog.tests.factories import make_variation, stock
    from wallets.tests.factories import make_customer

    # given: both worlds connected to Mosend with the same route; a linked, funded customer in each
    for world in (store, sandbox):
        connect(world)
        route(world, parameters=["customer_name", "order_number", "credentials"])
        make_customer(world, balance="5000.00", phone=PHONE, name="Ana")
    live_variation, test_variation = make_variation(store, price="1000.00"), make_variation(sandbox, price="1000.00")
    stock(live_variation, 1)
    [test_credentials] = stock(test_variation, 1)
    with FakeMosend() as fake:
        celery_worker_proc(MOSEND_API_URL=fake.url)

        # when: an order in the sandbox (test token), then one in the live store (the control)
        test_order = api_for(sandbox).post(
            "/orders", {"customerPhone": PHONE, "items": [{"variationId": str(test_variation.pk)}]}
        )
        simulated = wait_until(
            lambda: MessageLog.objects.filter(store=sandbox, status=MessageLog.Status.SIMULATED).first(),
            45,
            message="the sandbox message SIMULATED",
        )
        assert fake.requests == []  # nothing reached the fake Mosend, not even a connection check
        live_order = api.post("/orders", {"customerPhone": PHONE, "items": [{"variationId": str(live_variation.pk)}]})
        assert live_order.status_code == 201, live_order.content
        wait_until(
            lambda: MessageLog.objects.filter(store=store, status=MessageLog.Status.SENT).exists(),
            45,
            message="live SENT",
        )
        sends = fake.sends()

    # then: one send, the live one; the sandbox's is logged with what would have been sent
    assert len(sends) == 1 and test_credentials not in sends[0].body.decode()
    from integrations.whatsapp import simulated_parameters

    number = Order.objects.get(pk=test_order.json()["orderId"]).number
    assert simulated.template_name == "pedido_entregado" and simulated.phone == PHONE
    assert simulated_parameters(simulated) == ["Ana", f"ORD-{number:06d}", test_credentials]
