"""The exception hierarchy of attio-automate.

::

    AttioAutomateError                 everything this package raises on purpose
    └── AttioError                     a call to Attio did not succeed
        ├── AttioAPIError              Attio answered with an error body
        │   ├── AttioRateLimited       429 that outlived the retry policy
        │   └── AttioServerError       5xx that outlived the retry policy
        ├── AttioTransportError        no usable answer (connect, read, timeout)
        │   └── AttioOutcomeUnknown    a non-idempotent write may or may not have happened
        └── AttioUnavailable           the circuit breaker is open: Attio is not called
    ├── ActionError                    an action cannot run as asked (permanent)
    ├── TemplateProblem                a rule's template does not parse, names the unknown,
    │                                  or fails to render (permanent)
    ├── StoreError                     the store failed mid-operation (retry later)
    ├── SyncDatabaseError              the sync database failed mid-operation (retry later)
    └── ConfigError                    a rules file, plugin or setting is wrong
        └── StoreUnavailable           the store's URL leads nowhere usable

Callers that only care whether to try again later use ``error.retryable``.
"""

from __future__ import annotations

from typing import Any


class AttioAutomateError(Exception):
    """Base class of every error raised on purpose by attio-automate."""


class AttioError(AttioAutomateError):
    """A call to Attio did not succeed.

    ``retryable`` says whether the same call may succeed later without any
    change to its input (outages, rate limits), as opposed to a request that
    Attio refuses on its merits.
    """

    retryable: bool = False


class AttioAPIError(AttioError):
    """Attio answered with an error body ``{status_code, type, code, message}``."""

    def __init__(
        self,
        *,
        status_code: int,
        type: str,
        code: str,
        message: str,
        method: str = "",
        url: str = "",
    ) -> None:
        self.status_code = status_code
        self.type = type
        self.code = code
        self.message = message
        self.method = method
        self.url = url
        self.retryable = status_code == 429 or status_code >= 500
        super().__init__(f"Attio {status_code} {code}: {message}")

    @classmethod
    def from_response(
        cls, status_code: int, body: Any, *, method: str = "", url: str = ""
    ) -> AttioAPIError:
        """Build the error from a response, tolerating bodies that are not Attio's."""
        fields = body if isinstance(body, dict) else {}
        error_type = fields.get("type")
        code = fields.get("code")
        message = fields.get("message")
        kind: type[AttioAPIError] = cls
        if status_code == 429:
            kind = AttioRateLimited
        elif status_code >= 500:
            kind = AttioServerError
        return kind(
            status_code=status_code,
            type=error_type if isinstance(error_type, str) else _default_type(status_code),
            code=code if isinstance(code, str) else f"http_{status_code}",
            message=message if isinstance(message, str) else _describe(body),
            method=method,
            url=url,
        )

    def as_dict(self) -> dict[str, Any]:
        """Attio's error shape, for traces and dead-letter reasons."""
        return {
            "status_code": self.status_code,
            "type": self.type,
            "code": self.code,
            "message": self.message,
        }


class AttioRateLimited(AttioAPIError):
    """Attio kept answering 429 after every retry the policy allowed."""


class AttioServerError(AttioAPIError):
    """Attio kept answering 5xx after every retry the policy allowed."""


class AttioTransportError(AttioError):
    """No usable answer: the connection failed or timed out."""

    retryable = True

    def __init__(self, message: str, *, method: str = "", url: str = "") -> None:
        self.method = method
        self.url = url
        super().__init__(message)


class AttioOutcomeUnknown(AttioTransportError):
    """A non-idempotent request was sent but its answer was lost.

    It is not retried blindly: the caller must find out from Attio (or its own
    ledger) whether the write happened before repeating it.
    """

    retryable = False


class AttioUnavailable(AttioError):
    """The circuit breaker is open; Attio was not called.

    ``retry_after`` is how many seconds remain until the breaker lets a trial
    call through.
    """

    retryable = True

    def __init__(self, retry_after: float) -> None:
        self.retry_after = retry_after
        super().__init__(f"Attio is unavailable (circuit open, retry in {retry_after:.1f}s)")


def _default_type(status_code: int) -> str:
    if status_code == 401 or status_code == 403:
        return "auth_error"
    if status_code >= 500:
        return "api_error"
    return "invalid_request_error"


def _describe(body: Any) -> str:
    text = body if isinstance(body, str) else repr(body)
    return text[:500] if text else "no error message in the response"


class ActionError(AttioAutomateError):
    """An action cannot do what it was asked (bad parameters, no record to act
    on, an unknown action).  Permanent: retrying the same input fails again."""

    retryable = False


class TemplateProblem(AttioAutomateError):
    """A rule's template that does not parse, names something unknown, or
    fails to render (any error while rendering, not only Jinja's own).
    Permanent: the same template fails the same way on the same record."""

    retryable = False


class StoreError(AttioAutomateError):
    """The store failed in the middle of an operation (a lost connection, a
    locked or full database).  Retryable: the store may be back later, and an
    event whose ledger write failed has not lost its place in the inbox."""

    retryable = True


class SyncDatabaseError(AttioAutomateError):
    """The sync database (the user's, holding the mirror and the outbox)
    failed in the middle of an operation.  Retryable: the event that wanted
    the write keeps its place in the inbox until the database is back."""

    retryable = True


class ConfigError(AttioAutomateError):
    """Something the user wrote is wrong: a rules file, a plugin, a setting.

    ``problems`` are ``FILE:LINE:COL: message`` lines (or plain messages).
    """

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(problems))


class StoreUnavailable(ConfigError):
    """The store cannot be opened: a wrong URL, a server that is down, a
    database that does not exist, a file that cannot be written."""

    def __init__(self, url: str, reason: object) -> None:
        super().__init__([f"cannot open the store at {url}: {reason}"])


def first_failure(group: BaseExceptionGroup[BaseException]) -> BaseException:
    """The first failure in a (nested) exception group: what a task group's
    one failure is to its caller."""
    inner = group.exceptions[0]
    return first_failure(inner) if isinstance(inner, BaseExceptionGroup) else inner
