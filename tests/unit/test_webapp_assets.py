"""The web app's hashed assets: the build's gzipped copies, served to who accepts them."""

from __future__ import annotations

import gzip
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from bxb.api.errors import install_error_handlers
from bxb.webapp import accepts_gzip, install_webapp

SCRIPT = b"console.log('bxb');\n" * 200
IMMUTABLE = "public, max-age=31536000, immutable"


@pytest.fixture
def dist(tmp_path: Path) -> Path:
    (tmp_path / "assets").mkdir()
    (tmp_path / "index.html").write_text('<!doctype html><div id="root"></div>')
    (tmp_path / "assets" / "index-abc123.js").write_bytes(SCRIPT)
    (tmp_path / "assets" / "index-abc123.js.gz").write_bytes(gzip.compress(SCRIPT, 9))
    (tmp_path / "assets" / "logo-def456.png").write_bytes(b"\x89PNG not compressed")
    return tmp_path


@pytest.fixture
async def http(dist: Path) -> AsyncIterator[httpx.AsyncClient]:
    app = FastAPI()
    install_error_handlers(app)
    install_webapp(app, dist)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://bxb") as client:
        yield client


async def test_a_browser_that_accepts_gzip_gets_the_gzipped_copy(
    http: httpx.AsyncClient, dist: Path
) -> None:
    headers = {"Accept-Encoding": "gzip, deflate, br"}
    served = await http.get("/assets/index-abc123.js", headers=headers)
    assert served.status_code == 200
    assert served.headers["content-encoding"] == "gzip"
    assert served.headers["vary"] == "Accept-Encoding"
    assert served.headers["content-type"].startswith("text/javascript")
    assert served.headers["cache-control"] == IMMUTABLE
    gz_size = (dist / "assets" / "index-abc123.js.gz").stat().st_size
    assert int(served.headers["content-length"]) == gz_size < len(SCRIPT)
    assert served.content == SCRIPT  # httpx undoes the encoding

    # Asked again with its ETag, it is not sent again.
    again = await http.get(
        "/assets/index-abc123.js", headers=headers | {"If-None-Match": served.headers["etag"]}
    )
    assert again.status_code == 304
    assert again.headers["cache-control"] == IMMUTABLE


async def test_a_browser_that_does_not_accept_gzip_gets_the_file_itself(
    http: httpx.AsyncClient,
) -> None:
    for accepted in ("identity", "br", "gzip;q=0"):
        served = await http.get("/assets/index-abc123.js", headers={"Accept-Encoding": accepted})
        assert served.status_code == 200, accepted
        assert "content-encoding" not in served.headers, accepted
        assert served.headers["vary"] == "Accept-Encoding"
        assert served.headers["content-type"].startswith("text/javascript")
        assert served.headers["cache-control"] == IMMUTABLE
        assert int(served.headers["content-length"]) == len(SCRIPT)
        assert served.content == SCRIPT

    # An asset the build did not compress is sent as it is, whatever is accepted.
    image = await http.get("/assets/logo-def456.png", headers={"Accept-Encoding": "gzip"})
    assert image.status_code == 200
    assert "content-encoding" not in image.headers
    assert image.headers["cache-control"] == IMMUTABLE


async def test_an_unknown_asset_is_lagos_404(http: httpx.AsyncClient) -> None:
    for path in ("/assets/nothing-here.js", "/assets/nothing-here.js.gz"):
        missing = await http.get(path, headers={"Accept-Encoding": "gzip"})
        assert missing.status_code == 404, path
        assert missing.headers["content-type"].startswith("application/json")
        assert missing.json() == {"status": 404, "error": "Not Found", "code": "route_not_found"}


def test_accept_encoding_is_read_with_its_qualities() -> None:
    assert accepts_gzip("gzip")
    assert accepts_gzip("deflate, GZIP;q=0.5")
    assert accepts_gzip("*")
    assert not accepts_gzip("")
    assert not accepts_gzip("br, deflate")
    assert not accepts_gzip("gzip;q=0, br")
    assert not accepts_gzip("gzip;q=0.000")
