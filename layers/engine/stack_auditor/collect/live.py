"""What every live-state collector shares: its declaration, its targets, and the run.

A collector is one module per AWS service (``collect/<service>.py``) exposing a ``COLLECTOR``
value: the CloudFormation types it fills, the IAM actions it calls, and a ``plan`` function
that turns the stack's resources of those types into tasks. Each task makes the calls for one
resource (or one batch) and writes what it read through the ``LiveContext``; the runner
(``collect.runner``) executes the tasks on a bounded thread pool.

Errors are never swallowed. A task that raises records a ``Gap`` for each resource it was
reading (AccessDenied, NotFound, Throttling after botocore's adaptive retries, ...), and the
rules that read those resources answer UNKNOWN (``evaluate``); the store never resolves a
finding on a resource with a gap. Answers that mean "not configured" (no bucket policy, no
event invoke config) are not errors: collectors record them as ``None`` values.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from stack_auditor.model import Gap, Resource, StackSnapshot


class ClientSource(Protocol):
    """Gives a boto3 client per service name (``clients("sqs")``); see ``collect.clients``."""

    def __call__(self, service: str) -> Any: ...


@dataclass(frozen=True, slots=True)
class Task:
    """One unit of work on the pool: the calls for ``scopes`` (logical ids), made by ``run``.

    ``action`` names the first IAM action it calls, for the gap when ``run`` raises."""

    scopes: tuple[str, ...]
    action: str
    run: Callable[[], None]


Plan = Callable[["LiveContext", Sequence[Resource]], Iterable[Task]]


@dataclass(frozen=True, slots=True)
class Collector:
    """A live-state collector's declaration (one per service module)."""

    service: str  # e.g. "lambda"; the IAM prefix of its actions
    types: tuple[str, ...]  # CloudFormation types it fills; ("*",) for any type (tags)
    actions: tuple[str, ...]  # every IAM action ``plan``'s tasks may call
    plan: Plan
    # which part of the live description it writes, for the docs: "Configuration, Tags"
    reads: str = ""

    def wants(self, resource_type: str) -> bool:
        return "*" in self.types or resource_type in self.types


# error codes -> the reason a gap records (anything else keeps its own code)
_ACCESS_DENIED = frozenset(
    {
        "AccessDenied",
        "AccessDeniedException",
        "AuthorizationError",
        "UnauthorizedOperation",
        "UnrecognizedClientException",
        "InvalidClientTokenId",
        "ExpiredToken",
        "ExpiredTokenException",
    }
)
_THROTTLED = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "TooManyRequestsException",
        "RequestLimitExceeded",
        "SlowDown",
        "RequestThrottled",
        "RequestThrottledException",
        "ProvisionedThroughputExceededException",
    }
)


def error_code(exc: BaseException) -> tuple[str, str]:
    """(code, message) of a botocore ClientError, else (exception class name, text)."""
    response = getattr(exc, "response", None)
    error = response.get("Error", {}) if isinstance(response, dict) else {}
    code = str(error.get("Code") or type(exc).__name__)
    return code, str(error.get("Message") or exc)


def gap_reason(code: str) -> str:
    """The gap's reason: AccessDenied, NotFound, Throttling, or the error code itself."""
    if code in _ACCESS_DENIED:
        return "AccessDenied"
    if code in _THROTTLED:
        return "Throttling"
    lowered = code.lower()
    if any(word in lowered for word in ("notfound", "nosuch", "doesnotexist", "nonexistent")):
        return "NotFound"
    return code


def is_error(exc: BaseException, *codes: str) -> bool:
    """True when ``exc`` is a ClientError with one of ``codes``."""
    return error_code(exc)[0] in codes


@dataclass
class LiveContext:
    """What a collector's tasks read from and write to; shared by all tasks of one audit.

    Writes are locked: tasks run on several threads. ``cache`` holds lookups shared across
    resources (a managed policy document is fetched once per ARN per audit).
    """

    clients: ClientSource
    account: str
    region: str
    partition: str = "aws"
    snapshot: StackSnapshot | None = None
    live: dict[str, dict[str, Any]] = field(default_factory=dict)
    gaps: list[Gap] = field(default_factory=list)
    extras: dict[str, Any] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _cache: dict[Any, Any] = field(default_factory=dict)
    _cache_locks: dict[Any, threading.Lock] = field(default_factory=dict)

    def client(self, service: str) -> Any:
        return self.clients(service)

    def put(self, logical_id: str, values: Mapping[str, Any]) -> None:
        """Merge ``values`` into the resource's live description."""
        with self._lock:
            self.live.setdefault(logical_id, {}).update(values)

    def put_extra(self, key: str, value: Any) -> None:
        with self._lock:
            self.extras[key] = value

    def merge_extra(self, key: str, values: Mapping[str, Any]) -> None:
        """Merge into a mapping-valued extra (e.g. ``log_groups``: name -> description)."""
        with self._lock:
            self.extras.setdefault(key, {}).update(values)

    def gap(self, scope: str, action: str, exc: BaseException | str, detail: str = "") -> None:
        if isinstance(exc, BaseException):
            code, message = error_code(exc)
            gap = Gap(scope, action, gap_reason(code), (detail or f"{code}: {message}")[:500])
        else:
            gap = Gap(scope, action, exc, detail[:500])
        with self._lock:
            self.gaps.append(gap)

    def cached(self, key: Any, fetch: Callable[[], Any]) -> Any:
        """``fetch()`` once per key per audit, even when several threads ask at once.

        An exception is not cached: each asker sees it and records its own gap."""
        with self._lock:
            if key in self._cache:
                return self._cache[key]
            key_lock = self._cache_locks.setdefault(key, threading.Lock())
        with key_lock:
            with self._lock:
                if key in self._cache:
                    return self._cache[key]
            value = fetch()
            with self._lock:
                self._cache[key] = value
            return value


def each(
    resources: Iterable[Resource], action: str, read: Callable[[Resource], None]
) -> Iterable[Task]:
    """One task per resource, calling ``read(resource)``."""
    for resource in resources:
        yield Task((resource.logical_id,), action, _bind(read, resource))


def _bind(read: Callable[[Resource], None], resource: Resource) -> Callable[[], None]:
    return lambda: read(resource)


def batches(items: Sequence[Any], size: int) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def physical_name(resource: Resource) -> str | None:
    """The physical id CloudFormation reported (name, URL, ARN, depending on the type)."""
    return resource.physical_id or None


def arn_of(resource: Resource) -> str | None:
    """The resource's ARN as Fn::GetAtt would return it, when known."""
    value = resource.attributes.get("Arn")
    return value if isinstance(value, str) and value.startswith("arn:") else None
