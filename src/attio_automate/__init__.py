"""attio-automate: a self-hosted, plugin-based automation runner for Attio CRM."""

from attio_automate.attio import (
    AttioClient,
    BreakerPolicy,
    ClientSettings,
    RateLimits,
    RetryPolicy,
    SchemaCache,
)
from attio_automate.errors import (
    AttioAPIError,
    AttioAutomateError,
    AttioError,
    AttioOutcomeUnknown,
    AttioTransportError,
    AttioUnavailable,
)

__all__ = [
    "AttioAPIError",
    "AttioAutomateError",
    "AttioClient",
    "AttioError",
    "AttioOutcomeUnknown",
    "AttioTransportError",
    "AttioUnavailable",
    "BreakerPolicy",
    "ClientSettings",
    "RateLimits",
    "RetryPolicy",
    "SchemaCache",
]
