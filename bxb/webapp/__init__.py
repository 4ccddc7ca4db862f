"""The admin web app and the portal pages, served by the API at `/` and `/portal`.

The bundle is built from `web/` by Vite into `bxb/webapp/dist` (`make web`; `make up`
builds it when missing or stale) and ships inside the Python package, so an installed
wheel serves it with no Node.js. Hashed assets are cached for a year; `index.html` is
never cached, so a new release is picked up on the next load. Every other path that is
not the API's answers `index.html`, and the app's router takes it from there. When the
bundle is missing, `/` says how to build it and the API works as before.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse, HTMLResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.types import Receive, Scope, Send

# Paths the app never answers with the web app's page: the API's own namespaces.
_API_PREFIXES = ("api/", "docs", "redoc", "openapi.json", "health", "ready", "metrics")

NOT_BUILT_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>bxb</title></head>
<body style="font-family: sans-serif; max-width: 40rem; margin: 3rem auto">
<h1>bxb is running; its web app is not built</h1>
<p>The API answers at <code>/api/v1</code> and its documentation at
<a href="/docs">/docs</a>.</p>
<p>To build the web app, install Node.js 20.19 or newer and run <code>make web</code>
(<code>make up</code> does it when Node.js is there), then reload this page.</p>
</body></html>
"""


def dist_directory() -> Path:
    return Path(str(files("bxb.webapp").joinpath("dist")))


def install_webapp(app: FastAPI, dist: Path | None = None) -> None:
    """Serve the bundle (or the page saying how to build it) for paths no route matches.

    It takes the router's fallback rather than a catch-all route, so a POST to an unknown
    API path is still Lago's 404, not a 405 from a page route.
    """
    dist = dist if dist is not None else dist_directory()
    index = dist / "index.html"
    built = index.is_file()
    if built and (dist / "assets").is_dir():
        app.mount("/assets", _ImmutableAssets(directory=dist / "assets"), name="webapp-assets")
    unmatched = app.router.default

    async def page_or_not_found(scope: Scope, receive: Receive, send: Send) -> None:
        path = str(scope.get("path", "")).lstrip("/")
        if scope["type"] != "http" or scope["method"] not in ("GET", "HEAD"):
            await unmatched(scope, receive, send)
        elif path.startswith(_API_PREFIXES):
            await unmatched(scope, receive, send)  # an unknown API path stays a Lago 404
        elif not built:
            await HTMLResponse(NOT_BUILT_PAGE, status_code=503)(scope, receive, send)
        else:
            page = FileResponse(index, headers={"Cache-Control": "no-cache"})
            await page(scope, receive, send)

    app.router.default = page_or_not_found


class _ImmutableAssets(StaticFiles):
    """Vite names assets by their content's hash: a name never changes meaning."""

    def file_response(self, *args: object, **kwargs: object) -> Response:
        response = super().file_response(*args, **kwargs)  # type: ignore[arg-type]
        response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
        return response
