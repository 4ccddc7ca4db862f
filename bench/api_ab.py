"""The API's CPU per request per kind, this checkout against another, interleaved.

    git worktree add /tmp/bxb-before <commit>
    .venv/bin/python bench/api_ab.py --before /tmp/bxb-before [--block 40] [--reps 6]

On this machine the same serial run of bench/api_load.py moves by a third between two
minutes; a change worth 10 % is lost in that. Here both codes serve at once, each in its
own uvicorn process on one database (bench/api_load.py's organization, Temporal and
worker), and for each kind of request of api_load's mix the script sends BLOCK requests
one at a time to one server, then BLOCK to the other, REPS times, alternating which goes
first. Each block's CPU is the server's own (/proc); the figure per kind is the median
block. The older code is the floor of this run: what a change moved, not what it costs.
Prints one JSON line and writes bench/results/api_ab-<UTC timestamp>.json.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import api_load  # noqa: E402  (after the path tweak above)
import ingest  # noqa: E402
import usage_reactions  # noqa: E402


@contextlib.contextmanager
def served_by(tree: Path, env: dict[str, str], log: Path) -> Iterator[str]:
    """`tree`'s bench/api_load.py serving `tree`'s bxb app, as `bxb api` serves it."""
    port = ingest._free_port()
    script = tree / "bench" / "api_load.py"
    with log.open("ab") as out:
        process = subprocess.Popen(
            [sys.executable, str(script), "serve", "bxb_app", str(port), "1"],
            env={**os.environ, **env, "PYTHONPATH": str(tree)},
            cwd=tree,
            stdout=out,
            stderr=out,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        ingest._wait_for_port(port, process, 60)
        ingest.SERVER_PIDS[url] = process.pid
        yield url
    finally:
        ingest.SERVER_PIDS.pop(url, None)
        process.terminate()
        process.wait(30)


async def compare(urls: dict[str, str], org: api_load.Org, live: int, block: int, reps: int) -> Any:
    """Median CPU µs per request of each kind on each server, blocks interleaved."""
    connections = {name: await ingest.Connection.open(url) for name, url in urls.items()}
    draws = max(block * (reps + 1) * 40, 2000)
    calls: dict[str, dict[str, list[api_load.Call]]] = {}
    for name in urls:  # fresh ids for each server's writes
        calls[name] = {}
        for call in api_load.plan_calls(org, live, draws, seed=15):
            calls[name].setdefault(call.kind, []).append(call)
    kinds: dict[str, dict[str, Any]] = {}
    try:
        for kind in api_load.MIX:
            feeds = {name: itertools.cycle(calls[name][kind]) for name in urls}
            for name in urls:  # warm the kind's statements and caches
                for call in itertools.islice(feeds[name], 5):
                    await connections[name].post(call.head, call.body)
            blocks: dict[str, list[float]] = {name: [] for name in urls}
            errors = dict.fromkeys(urls, 0)
            order = list(urls)
            for rep in range(reps):
                for name in order if rep % 2 == 0 else order[::-1]:
                    before = ingest.server_cpu_seconds(urls[name])
                    for call in itertools.islice(feeds[name], block):
                        status = await connections[name].post(call.head, call.body)
                        errors[name] += status >= 300
                    spent = ingest.server_cpu_seconds(urls[name]) - before
                    blocks[name].append(spent * 1e6 / block)
            kinds[kind] = {
                name: {"cpu_us_per_request": round(statistics.median(b)), "errors": errors[name]}
                for name, b in blocks.items()
            }
            print(f"{kind:<20} {kinds[kind]}", file=sys.stderr)
    finally:
        for connection in connections.values():
            connection.close()
    weights = sum(api_load.MIX.values())
    mix = {
        name: round(
            sum(api_load.MIX[k] * kinds[k][name]["cpu_us_per_request"] for k in kinds) / weights
        )
        for name in urls
    }
    return kinds, mix


async def main(args: argparse.Namespace) -> dict[str, Any]:
    scratch = Path(tempfile.mkdtemp(prefix="bxb-api-ab-"))
    log = scratch / "servers.log"
    async with (
        api_load.database(scratch, args.customers, args.invoices) as org,
        usage_reactions.temporal() as client,
    ):
        env = {
            "DATABASE_URL": org.url,
            "BXB_LOG_LEVEL": "INFO",
            "TEMPORAL_ADDRESS": client.service_client.config.target_host,
            "TEMPORAL_TASK_QUEUE": "bench",
        } | api_load.rate_limits(1000)
        with usage_reactions.worker(env, log, ROOT):
            with served_by(ROOT, env, log) as url:
                await api_load.set_up_live(url, org.api_key, args.live)
            with (
                served_by(args.before, env, log) as before,
                served_by(ROOT, env, log) as after,
            ):
                urls = {"before": before, "after": after}
                kinds, mix = await compare(urls, org, args.live, args.block, args.reps)
    shutil.rmtree(scratch, ignore_errors=True)
    return {
        "benchmark": "api_ab",
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "cpus": os.cpu_count(),
        "before": _revision(args.before),
        "after": _revision(ROOT),
        "block": args.block,
        "reps": args.reps,
        "kinds": kinds,
        "mix_cpu_us_per_request": mix,
        "mix_change": round(mix["after"] / mix["before"] - 1, 3) if mix["before"] else None,
    }


def _revision(tree: Path) -> str:
    run = subprocess.run(
        ["git", "-C", str(tree), "rev-parse", "--short", "HEAD"],
        capture_output=True,
        text=True,
        check=False,
    )
    return run.stdout.strip() or str(tree)


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--before", type=Path, required=True, help="the other checkout")
    parser.add_argument("--block", type=int, default=40, help="requests per block")
    parser.add_argument("--reps", type=int, default=6, help="blocks per kind per server")
    parser.add_argument("--customers", type=int, default=api_load.CUSTOMERS)
    parser.add_argument("--invoices", type=int, default=api_load.INVOICES)
    parser.add_argument("--live", type=int, default=api_load.LIVE)
    parser.add_argument("--results-dir", type=Path, default=ROOT / "bench" / "results")
    return parser.parse_args(argv)


def run() -> None:
    import uvloop

    args = parse()
    figures = uvloop.run(main(args))
    ingest.write_results("api_ab", figures, args.results_dir)


if __name__ == "__main__":
    run()
