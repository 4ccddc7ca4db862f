"""The unmodified lago-python-client on wallets and wallet transactions."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from lago_python_client.client import Client
from lago_python_client.exceptions import LagoApiError
from lago_python_client.models.customer import Customer
from lago_python_client.models.wallet import Wallet
from lago_python_client.models.wallet_transaction import WalletTransaction
from temporalio.testing import WorkflowEnvironment

from tests.support.auth import Tenant


async def call(function: Any, *args: Any, **kwargs: Any) -> Any:
    """The client is synchronous; the server runs on this event loop."""
    return await asyncio.to_thread(function, *args, **kwargs)


async def test_lago_client_manages_wallets_and_transactions(
    live_api: str, tenant_a: Tenant, temporal_env: WorkflowEnvironment
) -> None:
    lago = Client(api_key=tenant_a.api_key, api_url=live_api)
    await call(lago.customers.create, Customer(external_id="cus_1", currency="EUR"))

    wallet = await call(
        lago.wallets.create,
        Wallet(
            external_customer_id="cus_1",
            name="Prepaid",
            rate_amount="2",
            currency="EUR",
            granted_credits="10",
            paid_credits="5",
            expiration_at="2099-01-01T00:00:00Z",
        ),
    )
    assert (wallet.status, wallet.currency, wallet.rate_amount) == ("active", "EUR", "2")
    assert (wallet.credits_balance, wallet.balance_cents) == ("10", 2000)  # paid part pending
    assert wallet.expiration_at == "2099-01-01T00:00:00Z"

    found = await call(lago.wallets.find, wallet.lago_id)
    assert found.lago_id == wallet.lago_id
    listed = await call(lago.wallets.find_all, {"external_customer_id": "cus_1"})
    assert [w.lago_id for w in listed["wallets"]] == [wallet.lago_id]
    assert listed["meta"]["total_count"] == 1

    renamed = await call(lago.wallets.update, Wallet(name="Credits"), wallet.lago_id)
    assert renamed.name == "Credits"

    created = await call(
        lago.wallet_transactions.create,
        WalletTransaction(wallet_id=wallet.lago_id, granted_credits="3", voided_credits="1"),
    )
    assert [(t.transaction_status, t.credit_amount) for t in created["wallet_transactions"]] == [
        ("granted", "3"),
        ("voided", "1"),
    ]
    everything = await call(lago.wallet_transactions.find_all, wallet.lago_id)
    assert sorted(t.transaction_status for t in everything["wallet_transactions"]) == [
        "granted",
        "granted",
        "purchased",
        "voided",
    ]
    pending = await call(lago.wallet_transactions.find_all, wallet.lago_id, {"status": "pending"})
    (purchase,) = pending["wallet_transactions"]
    assert (purchase.amount, purchase.lago_invoice_id is not None) == ("10", True)
    invoice_workflow = temporal_env.client.get_workflow_handle(
        f"invoice-payment/{purchase.lago_invoice_id}/1"
    )
    await invoice_workflow.terminate()  # no worker here to collect it

    terminated = await call(lago.wallets.destroy, wallet.lago_id)
    assert (terminated.status, terminated.credits_balance) == ("terminated", "0")
    assert terminated.terminated_at is not None

    with pytest.raises(LagoApiError) as refused:
        await call(
            lago.wallet_transactions.create,
            WalletTransaction(wallet_id=wallet.lago_id, granted_credits="1"),
        )
    assert refused.value.status_code == 422
    with pytest.raises(LagoApiError) as missing:
        await call(lago.wallets.find, "00000000-0000-0000-0000-000000000000")
    assert missing.value.status_code == 404


async def test_lago_client_wallet_metadata_consumptions_and_fundings(
    live_api: str, tenant_a: Tenant
) -> None:
    lago = Client(api_key=tenant_a.api_key, api_url=live_api)
    await call(lago.customers.create, Customer(external_id="cus_1", currency="EUR"))
    wallet = await call(
        lago.wallets.create,
        Wallet(
            external_customer_id="cus_1",
            code="main",
            priority=2,
            rate_amount="1",
            currency="EUR",
            granted_credits="10",
            metadata={"team": "core"},
        ),
    )
    assert (wallet.code, wallet.priority) == ("main", 2)
    assert await call(lago.wallets.replace_metadata, wallet.lago_id, {"a": "1"}) == {"a": "1"}
    merged = await call(lago.wallets.merge_metadata, wallet.lago_id, {"b": None})
    assert merged == {"a": "1", "b": None}
    assert await call(lago.wallets.delete_metadata_key, wallet.lago_id, "a") == {"b": None}
    assert await call(lago.wallets.delete_all_metadata, wallet.lago_id) is None

    created = await call(
        lago.wallet_transactions.create,
        WalletTransaction(wallet_id=wallet.lago_id, voided_credits="4"),
    )
    (voided,) = created["wallet_transactions"]
    fundings = await call(lago.wallet_transactions.fundings, voided.lago_id)
    (funding,) = fundings["wallet_transaction_fundings"]
    assert (funding.amount_cents, funding.credit_amount) == (400, "4")
    assert funding.wallet_transaction.transaction_status == "granted"
    consumptions = await call(
        lago.wallet_transactions.consumptions, funding.wallet_transaction.lago_id
    )
    (consumption,) = consumptions["wallet_transaction_consumptions"]
    assert consumption.wallet_transaction.lago_id == voided.lago_id
    with pytest.raises(LagoApiError) as refused:
        await call(lago.wallet_transactions.payment_url, voided.lago_id)
    assert refused.value.status_code == 422
