"""Run one sandbox: ``python -m revbridge_sandboxes stripe|salesforce|netsuite [--port N]``."""

from __future__ import annotations

import argparse
import importlib

import uvicorn
from starlette.types import ASGIApp

from .recording import RecordingMiddleware, recorder_for
from .serving import CoalescingHttpToolsProtocol

DEFAULT_PORTS = {"stripe": 12111, "salesforce": 12112, "netsuite": 12113}


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m revbridge_sandboxes")
    parser.add_argument("platform", choices=sorted(DEFAULT_PORTS))
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int)
    args = parser.parse_args()
    module = importlib.import_module(f"revbridge_sandboxes.{args.platform}.app")
    app: ASGIApp = module.create_app()
    recorder = recorder_for(args.platform)  # only for the schema conformance suite
    if recorder is not None:
        app = RecordingMiddleware(app, recorder)
    uvicorn.run(
        app,
        host=args.host,
        port=args.port or DEFAULT_PORTS[args.platform],
        log_level="warning",
        # the fast event loop and HTTP parser (``uvicorn[standard]``), named rather than "auto" so a
        # missing one fails loudly (the protocol is uvicorn's httptools one, sending each answer in
        # one write); no access log: it formats a line per request the log level then drops
        loop="uvloop",
        http=CoalescingHttpToolsProtocol,
        access_log=False,
    )


if __name__ == "__main__":
    main()
