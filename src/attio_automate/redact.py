"""Keeping secrets out of what is shown, logged or stored: one place for it.

- :func:`shown_url`: a URL fit to print, its password (in the userinfo or a
  query parameter such as ``password=``) replaced by ``***``, even when the
  password holds characters that break URL parsing (``/``, ``#``, ``?``);
  a URL that does not parse at all is not shown.
- :func:`scrub`: text with every configured secret replaced by ``***`` (an
  API key echoed back in an error body must not reach a trace).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

MASK = "***"
#: Query parameters that carry secrets in database and service URLs.
_SECRET_PARAMETER = re.compile(
    r"([?&;](?:password|passwd|pwd|pass|secret|token|access_token|api_key|apikey|"
    r"sslpassword|sslkey|auth)=)[^&;#]*",
    re.IGNORECASE,
)
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://(.*)$", re.DOTALL)
#: Secrets shorter than this are not looked for in text (too many false hits).
MIN_SECRET = 8


def shown_url(url: str) -> str:
    """``url`` fit to print or log: no password in it, wherever it was."""
    match = _SCHEME.match(url.strip())
    if match is None:
        return "<not a URL>" if "@" in url or "=" in url else url
    scheme, rest = match.groups()
    if "@" in rest:
        # The host cannot hold an "@": everything before the last one is
        # userinfo, whatever characters the password holds.
        userinfo, after = rest.rsplit("@", 1)
        user = userinfo.split(":", 1)[0]
        rest = f"{user}:{MASK}@{after}" if ":" in userinfo else f"{user}@{after}"
    rest = _SECRET_PARAMETER.sub(lambda m: m.group(1) + MASK, rest)
    return f"{scheme}://{rest}"


def scrub(value: Any, secrets: Iterable[str]) -> Any:
    """``value`` (text, or JSON-like data) with each secret replaced by ``***``."""
    wanted = [s for s in secrets if len(s) >= MIN_SECRET]
    if not wanted:
        return value
    return _scrub(value, wanted)


def _scrub(value: Any, secrets: list[str]) -> Any:
    if isinstance(value, str):
        for secret in secrets:
            value = value.replace(secret, MASK)
        return value
    if isinstance(value, dict):
        return {k: _scrub(v, secrets) for k, v in value.items()}
    if isinstance(value, list):
        return [_scrub(v, secrets) for v in value]
    return value
