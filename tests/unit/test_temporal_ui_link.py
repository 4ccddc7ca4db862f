"""The Temporal UI address the web app links each subscription's workflow to."""

from __future__ import annotations

from starlette.requests import Request

from bxb.api.auth import temporal_ui
from bxb.core.settings import Settings


def _request(host: str) -> Request:
    scope = {"type": "http", "method": "GET", "path": "/", "headers": [(b"host", host.encode())]}
    return Request(scope)


def test_the_embedded_server_s_ui_is_on_the_host_the_browser_used() -> None:
    settings = Settings(temporal_address=None, temporal_ui_port=9233)
    assert temporal_ui(_request("billing.local:8000"), settings) == {
        "namespace_url": "http://billing.local:9233/namespaces/default"
    }


def test_another_server_has_a_link_only_when_its_ui_is_configured() -> None:
    remote = Settings(temporal_address="temporal:7233", temporal_namespace="prod")
    assert temporal_ui(_request("bxb"), remote) is None
    configured = remote.model_copy(update={"temporal_ui_url": "https://temporal.example/"})
    assert temporal_ui(_request("bxb"), configured) == {
        "namespace_url": "https://temporal.example/namespaces/prod"
    }
