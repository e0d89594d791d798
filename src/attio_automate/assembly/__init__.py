"""The one place the runner is assembled: plugins, rules, the event
processor, the store, the client and the dispatcher.

Everything else receives what it needs from here: ``serve`` and the HTTP
app run what :func:`running` yields, the operators' commands re-run events
with what :func:`assembled` yields, and the rule tools (dry runs, cases)
build a processor with :func:`load_plugins` and :func:`build_processor`.
"""

from attio_automate.assembly.jobs import (
    StoreWaits,
    open_sync,
    periodic_jobs,
    scheduled_rule_jobs,
    sync_jobs,
)
from attio_automate.assembly.plugins import (
    Plugins,
    build_processor,
    load_plugins,
    load_plugins_for,
)
from attio_automate.assembly.runner import (
    Runner,
    api_key_digest,
    assembled,
    check_settings,
    running,
)

__all__ = [
    "Plugins",
    "Runner",
    "StoreWaits",
    "api_key_digest",
    "assembled",
    "build_processor",
    "check_settings",
    "load_plugins",
    "load_plugins_for",
    "open_sync",
    "periodic_jobs",
    "running",
    "scheduled_rule_jobs",
    "sync_jobs",
]
