"""Run localstripe (a stateful Stripe fake from PyPI) bound to 127.0.0.1 only.

localstripe's own launcher listens on every interface; tests must stay on loopback, so
this script serves the same aiohttp application on 127.0.0.1:PORT.

localstripe also pickles its whole store to the fixed path /tmp/localstripe.pickle after
every write, for its launcher to reload on the next start. This launcher never reloads, and
several instances run at once (one per xdist worker, other checkouts' test runs), all
rewriting that one file, so the store stays in memory only.
"""

from __future__ import annotations

import sys

from aiohttp import web
from localstripe.resources import Store
from localstripe.server import app


def _keep_in_memory(self: Store) -> None:
    return None


if __name__ == "__main__":
    Store.dump_to_disk = _keep_in_memory
    web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=None)
