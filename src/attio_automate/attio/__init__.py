"""The shared Attio client and what shapes it."""

from attio_automate.attio.breaker import BreakerPolicy, BreakerState, CircuitBreaker
from attio_automate.attio.budget import Budget, GcraBudget
from attio_automate.attio.client import DEFAULT_BASE_URL, AttioClient, ClientSettings
from attio_automate.attio.ratelimit import Budgets, RateLimits
from attio_automate.attio.retry import RetryPolicy
from attio_automate.attio.schema import AttributeInfo, ListInfo, ObjectInfo, SchemaCache

__all__ = [
    "DEFAULT_BASE_URL",
    "AttioClient",
    "AttributeInfo",
    "BreakerPolicy",
    "BreakerState",
    "Budget",
    "Budgets",
    "CircuitBreaker",
    "ClientSettings",
    "GcraBudget",
    "ListInfo",
    "ObjectInfo",
    "RateLimits",
    "RetryPolicy",
    "SchemaCache",
]
