"""/docs and /redoc work offline, and the document's error schemas are the bodies sent."""

from __future__ import annotations

import re
from typing import Any

import httpx
import jsonschema_rs

from tests.support.auth import Tenant

URL_ATTRIBUTE = re.compile(r"""(?:src|href)\s*=\s*["']([^"']+)["']""")
URL_IN_SCRIPT = re.compile(r"""(?:url|spec-url)\s*[:=]\s*["']([^"']+)["']""")


def _urls(html: str) -> list[str]:
    return URL_ATTRIBUTE.findall(html) + URL_IN_SCRIPT.findall(html)


async def test_docs_pages_load_everything_from_bxb(client: httpx.AsyncClient) -> None:
    for page, assets in {
        "/docs": {"/docs/assets/swagger-ui-bundle.js", "/docs/assets/swagger-ui.css"},
        "/redoc": {"/docs/assets/redoc.standalone.js"},
    }.items():
        answer = await client.get(page)
        assert answer.status_code == 200
        assert answer.headers["content-type"].startswith("text/html")
        urls = _urls(answer.text)
        assert assets <= set(urls), urls
        assert "/openapi.json" in answer.text
        assert all(url.startswith("/") and not url.startswith("//") for url in urls), urls
        assert "http://" not in answer.text  # no CDN
        assert "https://" not in answer.text
        for asset in assets | {"/docs/assets/favicon.png"}:
            served = await client.get(asset)
            assert served.status_code == 200, asset
            assert len(served.content) > 1000, asset
    swagger = (await client.get("/docs")).text
    assert '"persistAuthorization": true' in swagger  # the Authorize button's key is kept


def _validator(document: dict[str, Any], name: str) -> jsonschema_rs.Draft202012Validator:
    schema = {"$ref": f"#/components/schemas/{name}", "components": document["components"]}
    return jsonschema_rs.Draft202012Validator(schema)


async def test_error_answers_match_the_documented_schemas(
    client: httpx.AsyncClient, tenant_a: Tenant
) -> None:
    document = (await client.get("/openapi.json")).json()
    unauthorized = await client.get("/api/v1/customers")
    assert unauthorized.status_code == 401
    assert _validator(document, "ApiErrorUnauthorized").is_valid(unauthorized.json())
    missing = await client.get("/api/v1/customers/nobody", headers=tenant_a.headers)
    assert missing.status_code == 404
    assert _validator(document, "ApiErrorNotFound").is_valid(missing.json())
    invalid = await client.post(
        "/api/v1/taxes", json={"tax": {"name": "VAT"}}, headers=tenant_a.headers
    )
    assert invalid.status_code == 422
    assert _validator(document, "ApiErrorUnprocessableEntity").is_valid(invalid.json())
    assert not _validator(document, "ApiErrorUnprocessableEntity").is_valid(
        {"detail": [{"loc": ["body"], "msg": "x", "type": "missing"}]}  # FastAPI's default
    )
    broken = await client.post(
        "/api/v1/taxes",
        content=b"{not json",
        headers=tenant_a.headers | {"content-type": "application/json"},
    )
    assert broken.status_code == 400
    assert _validator(document, "ApiErrorBadRequest").is_valid(broken.json())
