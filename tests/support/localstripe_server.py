"""Run localstripe (a stateful Stripe fake from PyPI) bound to 127.0.0.1 only.

localstripe's own launcher listens on every interface; tests must stay on loopback, so
this script serves the same aiohttp application on 127.0.0.1:PORT.
"""

from __future__ import annotations

import sys

from aiohttp import web
from localstripe.server import app

if __name__ == "__main__":
    web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=None)
