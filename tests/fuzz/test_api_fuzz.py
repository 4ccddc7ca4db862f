"""Schemathesis over bxb's OpenAPI document: no input gets a 5xx.

The real stack answers: uvicorn on a loopback port, the embedded PostgreSQL, the Temporal
dev server and a worker, with a real API key. A few objects exist before the run (a metric,
a plan, a customer with a subscription) so that routes taking their ids reach real rows;
the stateful phase chains operations through the OpenAPI links of bxb.api.openapi_links.

`make test` runs a small, seeded run (BXB_FUZZ_EXAMPLES examples per operation, no
coverage phase); `make test-fuzz` a longer one, every phase, with a fresh seed.
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.auth import Tenant

EXAMPLES = int(os.environ.get("BXB_FUZZ_EXAMPLES", "5"))
SEED = os.environ.get("BXB_FUZZ_SEED", "20261204")  # "random" for a fresh one
# Schemathesis' coverage phase (every boundary of every field) takes minutes: test-fuzz.
PHASES = os.environ.get("BXB_FUZZ_PHASES", "examples,fuzzing,stateful")
# Temporal's own timeouts may make a subscription call slow on a loaded machine, never 5xx.
REQUEST_TIMEOUT = "60"
# The whole fuzzer run, bounded: a run that hangs fails with its output, not at CI's limit.
# `make test`'s run takes 1 to 2 minutes; `make test-fuzz` raises it.
RUN_TIMEOUT_S = float(os.environ.get("BXB_FUZZ_TIMEOUT_S", "900"))

pytestmark = pytest.mark.fuzz


async def _seed(url: str, tenant: Tenant) -> None:
    async with httpx.AsyncClient(base_url=url, headers=tenant.headers, timeout=60) as http:

        async def ok(path: str, body: dict[str, Any]) -> dict[str, Any]:
            response = await http.post(path, json=body)
            assert response.status_code == 200, response.text
            answer: dict[str, Any] = response.json()
            return answer

        metric = {"name": "Calls", "code": "calls", "aggregation_type": "count_agg"}
        created = await ok("/api/v1/billable_metrics", {"billable_metric": metric})
        plan = {
            "name": "Pro",
            "code": "pro",
            "interval": "monthly",
            "amount_cents": 1000,
            "amount_currency": "USD",
            "charges": [
                {
                    "billable_metric_id": created["billable_metric"]["lago_id"],
                    "charge_model": "standard",
                    "properties": {"amount": "0.01"},
                }
            ],
        }
        await ok("/api/v1/plans", {"plan": plan})
        await ok("/api/v1/customers", {"customer": {"external_id": "cus_1", "currency": "USD"}})
        subscription = {"external_customer_id": "cus_1", "plan_code": "pro", "external_id": "sub_1"}
        await ok("/api/v1/subscriptions", {"subscription": subscription})
        # A feature named like the plan's codes, granted by the plan: entitlement routes
        # then reach real rows (the fuzzer's `code` parameter draws "pro" and "calls").
        privileges = [
            {"code": "max", "value_type": "integer"},
            {"code": "pro", "value_type": "select", "config": {"select_options": ["a", "b"]}},
        ]
        await ok("/api/v1/features", {"feature": {"code": "calls", "privileges": privileges}})
        entitlements = {"calls": {"max": 10, "pro": "a"}}
        await ok("/api/v1/plans/pro/entitlements", {"entitlements": entitlements})


async def test_no_operation_answers_a_server_error(
    live_api: str, worker: str, tenant_a: Tenant, tmp_path: Path
) -> None:
    await _seed(live_api, tenant_a)
    command = [
        str(Path(sys.executable).parent / "st"),
        "--config-file",
        str(Path(__file__).with_name("schemathesis.toml")),
        "run",
        f"{live_api}/openapi.json",
        "--checks",
        "not_a_server_error",
        "--phases",
        PHASES,
        "--max-examples",
        str(EXAMPLES),
        "--workers",
        "2",
        "--header",
        f"Authorization: Bearer {tenant_a.api_key}",
        "--request-timeout",
        REQUEST_TIMEOUT,
        "--generation-database",
        "none",
        "--report",
        "junit,ndjson",
        "--report-dir",
        str(tmp_path),
        "--no-color",
        "--output-sanitize",
        "false",
    ]
    if SEED != "random":
        command += ["--seed", SEED]
    # The server runs on this event loop: the fuzzer is a child process, awaited.
    process = await asyncio.create_subprocess_exec(
        *command,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        env=fuzzer_environment(),
        cwd=tmp_path,  # anything it keeps stays out of the work tree
    )
    try:
        output, _ = await asyncio.wait_for(process.communicate(), RUN_TIMEOUT_S)
    except TimeoutError:
        process.kill()
        output, _ = await process.communicate()
        report = output.decode(errors="replace")
        pytest.fail(f"the fuzzer ran over {RUN_TIMEOUT_S:.0f} s; its output:\n{report[-20_000:]}")
    report = output.decode(errors="replace")
    (tmp_path / "schemathesis.txt").write_text(report)
    assert process.returncode == 0, report[-20_000:]


def fuzzer_environment() -> dict[str, str]:
    """This process's environment without coverage's subprocess hook.

    Coverage (`patch = ["subprocess"]`, `concurrency = greenlet`) would otherwise start in the
    fuzzer too, which runs no bxb code: there it only slowed the run, and once its greenlet
    tracing left the fuzzer spinning forever as a worker thread's greenlets were torn down.
    """
    hooks = {"COVERAGE_PROCESS_START", "COVERAGE_PROCESS_CONFIG"}
    return {name: value for name, value in os.environ.items() if name not in hooks} | {
        "NO_COLOR": "1"
    }
