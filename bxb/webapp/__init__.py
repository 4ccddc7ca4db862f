"""The admin web app and the portal pages, served by the API at `/` and `/portal`.

The bundle is built from `web/` by Vite into `bxb/webapp/dist` (`make web`; `make up`
builds it when missing or stale) and ships inside the Python package, so an installed
wheel serves it with no Node.js. Hashed assets are cached for a year, and served from
the gzipped copy the build writes beside each text asset when the browser accepts gzip
(the API's own responses are not compressed); `index.html` is never cached, so a new
release is picked up on the next load. Every other path that is not the API's answers
`index.html`, and the app's router takes it from there. When the bundle is missing, `/`
says how to build it and the API works as before.
"""

from __future__ import annotations

import os
import stat
from importlib.resources import files
from pathlib import Path

import anyio.to_thread
from fastapi import FastAPI
from fastapi.responses import FileResponse, HTMLResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.datastructures import Headers
from starlette.staticfiles import NotModifiedResponse
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


def webapp_built() -> bool:
    return (dist_directory() / "index.html").is_file()


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
    """Vite names assets by their content's hash: a name never changes meaning.

    The build writes a gzipped copy beside each text asset (`<name>.gz`, level 9); a
    browser that accepts gzip gets that copy, so no request spends CPU compressing.
    """

    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        if not isinstance(response, FileResponse):
            return response  # a 304 for the copy the browser already has
        original = Path(str(response.path))
        compressed = original.with_name(original.name + ".gz")
        gz_stat = await anyio.to_thread.run_sync(_regular_file_stat, compressed)
        if gz_stat is None:
            return response
        response.headers["Vary"] = "Accept-Encoding"
        if not accepts_gzip(Headers(scope=scope).get("accept-encoding", "")):
            return response
        gz = FileResponse(
            compressed,
            stat_result=gz_stat,
            media_type=response.media_type,
            headers={"Content-Encoding": "gzip", "Vary": "Accept-Encoding"},
        )
        if self.is_not_modified(gz.headers, Headers(scope=scope)):
            return _immutable(NotModifiedResponse(gz.headers))
        return _immutable(gz)

    def file_response(self, *args: object, **kwargs: object) -> Response:
        return _immutable(super().file_response(*args, **kwargs))  # type: ignore[arg-type]


def _immutable(response: Response) -> Response:
    response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
    return response


def _regular_file_stat(path: Path) -> os.stat_result | None:
    try:
        found = path.stat()
    except OSError:
        return None
    return found if stat.S_ISREG(found.st_mode) else None


def accepts_gzip(accept_encoding: str) -> bool:
    """Whether an Accept-Encoding header admits gzip (`gzip`, or `*`, with a q above 0)."""
    for item in accept_encoding.split(","):
        coding, _, params = item.strip().partition(";")
        if coding.strip().lower() not in ("gzip", "x-gzip", "*"):
            continue
        quality = params.strip().lower()
        if quality.startswith("q="):
            try:
                if float(quality[2:]) <= 0:
                    continue
            except ValueError:
                continue
        return True
    return False
