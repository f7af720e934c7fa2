"""Run localstripe (a fake Stripe API for development and tests) bound to one address only.

`localstripe --port N` binds to `::` (every interface); this wrapper serves the same aiohttp app on
127.0.0.1 by default. localstripe keeps its store in /tmp/localstripe.pickle and rewrites it on every
write; here the store is in memory unless --state-file names a file to keep it in.

    python scripts/localstripe_server.py [--host 127.0.0.1] [--port 8420] [--state-file PATH] [--pidfile PATH]
"""

import argparse
import logging
import os
import pickle
import sys
from pathlib import Path

from aiohttp import web
from localstripe import resources
from localstripe.server import app


def _use_state_file(path: Path | None) -> None:
    """Point localstripe's persistence at `path`, or switch it off when path is None."""

    def load(store: resources.Store) -> None:
        if path is None or not path.exists():
            return
        try:
            with path.open("rb") as f:
                old = pickle.load(f)  # noqa: S301 - our own file, written by this process
        except Exception as exc:  # a corrupt or incompatible file: start empty
            logging.getLogger("localstripe").warning("ignoring unreadable state file %s: %s", path, exc)
            return
        store.clear()
        store.update(old)

    def dump(store: resources.Store) -> None:
        if path is None:
            return
        tmp = path.with_suffix(path.suffix + ".tmp")
        with tmp.open("wb") as f:
            pickle.dump(dict(store), f, protocol=pickle.HIGHEST_PROTOCOL)
        tmp.replace(path)

    resources.Store.try_load_from_disk = load
    resources.Store.dump_to_disk = dump


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8420)
    parser.add_argument("--state-file", type=Path, default=None, help="keep the fake Stripe data in this file")
    parser.add_argument("--pidfile", type=Path, default=None)
    args = parser.parse_args(argv)

    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(name)s %(message)s")
    _use_state_file(args.state_file)
    resources.store.try_load_from_disk()

    if args.pidfile is not None:
        args.pidfile.write_text(f"{os.getpid()}\n")
    try:
        web.run_app(app, host=args.host, port=args.port, access_log=logging.getLogger("aiohttp.access"))
    finally:
        if args.pidfile is not None and args.pidfile.read_text().strip() == str(os.getpid()):
            args.pidfile.unlink(missing_ok=True)


if __name__ == "__main__":
    main()
