"""boto3 clients for one audit: one per service, adaptive retries, optional endpoint and role.

``Clients`` is what the collectors receive (``clients("sqs")``). It is created by the entry
points (Lambda handler, CLI), never at import time. ``Clients.assume(...)`` gives the clients
of a member account through its audit role (multi-account). A ``CallCounter`` attached to it
counts the API operations made, for the benchmark and the call-budget tests.
"""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any

RETRY_ATTEMPTS = 10


class CallCounter:
    """Counts API operations (``service:Operation``) made through the clients it is given."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()
        self._lock = threading.Lock()

    def attach(self, client: Any) -> None:
        service = client.meta.service_model.service_name
        client.meta.events.register("before-call.*.*", self._hook(service))

    def _hook(self, service: str) -> Any:
        def count(model: Any, **_: Any) -> None:
            with self._lock:
                self.calls[f"{service}:{model.name}"] += 1

        return count

    @property
    def total(self) -> int:
        with self._lock:
            return sum(self.calls.values())

    def reset(self) -> None:
        with self._lock:
            self.calls.clear()


class Clients:
    """One client per service from ``session``; thread-safe (clients are created under a lock,
    boto3 sessions are not thread-safe, clients are)."""

    def __init__(
        self,
        session: Any = None,
        *,
        endpoint_url: str | None = None,
        region: str | None = None,
        counter: CallCounter | None = None,
        max_pool_connections: int = 16,
    ) -> None:
        if session is None:
            import boto3

            session = boto3.session.Session(region_name=region)
        self.session = session
        self.endpoint_url = endpoint_url
        self.region = region or session.region_name
        self.counter = counter
        self._max_pool = max_pool_connections
        self._clients: dict[str, Any] = {}
        self._lock = threading.Lock()

    def __call__(self, service: str) -> Any:
        with self._lock:
            client = self._clients.get(service)
            if client is None:
                client = self._create(service)
                self._clients[service] = client
            return client

    def _create(self, service: str) -> Any:
        from botocore.config import Config

        config = Config(
            retries={"mode": "adaptive", "max_attempts": RETRY_ATTEMPTS},
            max_pool_connections=self._max_pool,
        )
        kwargs: dict[str, Any] = {"config": config}
        if self.endpoint_url:
            kwargs["endpoint_url"] = self.endpoint_url
        if self.region:
            kwargs["region_name"] = self.region
        client = self.session.client(service, **kwargs)
        if self.counter is not None:
            self.counter.attach(client)
        return client

    def assume(
        self, role_arn: str, *, session_name: str = "stack-auditor", external_id: str = ""
    ) -> Clients:
        """The clients of another account, through ``role_arn`` (STS AssumeRole)."""
        import boto3

        params: dict[str, Any] = {"RoleArn": role_arn, "RoleSessionName": session_name[:64]}
        if external_id:
            params["ExternalId"] = external_id
        credentials = self("sts").assume_role(**params)["Credentials"]
        session = boto3.session.Session(
            aws_access_key_id=credentials["AccessKeyId"],
            aws_secret_access_key=credentials["SecretAccessKey"],
            aws_session_token=credentials["SessionToken"],
            region_name=self.region,
        )
        return Clients(
            session,
            endpoint_url=self.endpoint_url,
            region=self.region,
            counter=self.counter,
            max_pool_connections=self._max_pool,
        )
