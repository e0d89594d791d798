"""attio-automate: a self-hosted, plugin-based automation runner for Attio CRM."""

from attio_automate.attio import (
    AttioClient,
    BreakerPolicy,
    ClientSettings,
    RateLimits,
    RetryPolicy,
    SchemaCache,
)
from attio_automate.bus import (
    ActionContext,
    ActionOutcome,
    AppContext,
    EventContext,
    RegisterAction,
    hookimpl,
)
from attio_automate.errors import (
    ActionError,
    AttioAPIError,
    AttioAutomateError,
    AttioError,
    AttioOutcomeUnknown,
    AttioTransportError,
    AttioUnavailable,
)

__all__ = [
    "ActionContext",
    "ActionError",
    "ActionOutcome",
    "AppContext",
    "AttioAPIError",
    "AttioAutomateError",
    "AttioClient",
    "AttioError",
    "AttioOutcomeUnknown",
    "AttioTransportError",
    "AttioUnavailable",
    "BreakerPolicy",
    "ClientSettings",
    "EventContext",
    "RateLimits",
    "RegisterAction",
    "RetryPolicy",
    "SchemaCache",
    "hookimpl",
]
