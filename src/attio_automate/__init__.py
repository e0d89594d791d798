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
    Interest,
    PlannedAction,
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
    StoreError,
    TemplateProblem,
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
    "Interest",
    "PlannedAction",
    "RateLimits",
    "RegisterAction",
    "RetryPolicy",
    "SchemaCache",
    "StoreError",
    "TemplateProblem",
    "hookimpl",
]
