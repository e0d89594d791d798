"""The runner as `serve` runs it, plus a bare endpoint for comparison.

Started by bench/ingest.py; reads the runner's settings from the environment
like `attio-automate serve`.  ``POST /bench/bare`` reads the body and answers
200 with a small JSON body: the same server, app and middleware, no work.
"""

from __future__ import annotations

import sys

import anyio
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from attio_automate.settings import load_settings
from attio_automate.web.app import create_app
from attio_automate.web.server import serve_until_signal


async def bare(request: Request) -> Response:
    await request.body()
    return JSONResponse({"accepted": 1, "duplicates": 0})


def main() -> None:
    rules, port = sys.argv[1], int(sys.argv[2])
    settings = load_settings(overrides={"rules.path": rules})
    app = create_app(settings, extra_routes=[Route("/bench/bare", bare, methods=["POST"])])
    anyio.run(lambda: serve_until_signal(app, host="127.0.0.1", port=port))


if __name__ == "__main__":
    main()
