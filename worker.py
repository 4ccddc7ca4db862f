"""`python worker.py`: run the bxb Temporal worker (same as `bxb worker`)."""

from bxb.core.cli import main

if __name__ == "__main__":
    raise SystemExit(main(["worker"]))
