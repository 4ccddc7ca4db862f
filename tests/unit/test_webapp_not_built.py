"""Without a built bundle, / says how to build the web app, and the API is unchanged."""

from __future__ import annotations

from pathlib import Path

import httpx
from fastapi import FastAPI

from bxb.api.errors import install_error_handlers
from bxb.webapp import install_webapp


async def test_a_missing_bundle_is_explained_and_api_paths_stay_json(tmp_path: Path) -> None:
    app = FastAPI()
    install_error_handlers(app)

    @app.get("/api/v1/ping")
    async def ping() -> dict[str, str]:
        return {"pong": "yes"}

    install_webapp(app, tmp_path / "dist")  # nothing built there
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://bxb.test") as http:
        page = await http.get("/customers")
        assert page.status_code == 503
        assert "make web" in page.text
        assert (await http.get("/api/v1/ping")).json() == {"pong": "yes"}
        for method in ("GET", "POST", "DELETE"):
            missing = await http.request(method, "/api/v1/nothing")
            assert missing.status_code == 404
            assert missing.json()["code"] == "route_not_found"
