"""The clients of the account a stack lives in: the auditor's own, or a member's through its role.

A stack status event forwarded from a member account carries that account's id. Its stack can
only be read with that account's credentials, so the Lambda entry points ask ``AccountClients``
for the clients of (account, region): the auditor's own credentials for its own account, else
``Clients.assume`` of ``arn:<partition>:iam::<account>:role/<member role name>`` (the role
member/member-role.yaml creates).

Clients are kept per container and per (account, region). Assumed-role credentials last an
hour (STS default); they are reused for at most ``MEMBER_CLIENTS_SECONDS`` including the time
the caller still needs them (``valid_for``), so no audit starts with credentials that expire
half way through. A failed AssumeRole raises ``MemberAccessError`` with the role and the
reason: the member role is missing or does not trust the auditor.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from stack_auditor.collect.clients import Clients

MEMBER_ROLE_VARIABLE = "MEMBER_ROLE_NAME"
DEFAULT_MEMBER_ROLE = "stack-auditor-member"
# STS issues the assumed credentials for 60 minutes; 10 of them stay unused as a margin.
MEMBER_CLIENTS_SECONDS = 50 * 60
SESSION_NAME = "stack-auditor"


class MemberAccessError(Exception):
    """The member account's role could not be assumed; ``str()`` names the role and why."""


def member_role_arn(account: str, region: str, role_name: str) -> str:
    from stack_auditor.resolve import partition_of  # the resolver is heavy for the handler

    return f"arn:{partition_of(region)}:iam::{account}:role/{role_name}"


class AccountClients:
    """``Clients`` per (account, region); thread-safe (the sweep asks from its pool).

    ``make_clients(region)`` gives the auditor's own clients of a region (default: the
    default credential chain). The own account is asked from STS once (GetCallerIdentity needs
    no permission), not taken from the Lambda context: emulators (``sam local``) put a made-up
    account in the function ARN.
    """

    def __init__(
        self,
        *,
        role_name: str = DEFAULT_MEMBER_ROLE,
        make_clients: Callable[[str], Clients] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.role_name = role_name
        self._own_account: str | None = None
        self._make_clients = make_clients or (lambda region: Clients(region=region))
        self._clock = clock
        self._own: dict[str, Clients] = {}
        self._members: dict[tuple[str, str], tuple[float, Clients]] = {}
        self._lock = threading.Lock()

    def own_account(self, region: str) -> str:
        if self._own_account is None:
            identity = self.own_clients(region)("sts").get_caller_identity()
            self._own_account = str(identity["Account"])
        return self._own_account

    def own_clients(self, region: str) -> Clients:
        with self._lock:
            clients = self._own.get(region)
            if clients is None:
                clients = self._own[region] = self._make_clients(region)
            return clients

    def is_member(self, account: str, region: str) -> bool:
        return account != self.own_account(region)

    def for_account(self, account: str, region: str, *, valid_for: float = 0.0) -> Clients:
        """Clients reading ``account`` in ``region``, usable for ``valid_for`` more seconds."""
        if not self.is_member(account, region):
            return self.own_clients(region)
        key = (account, region)
        now = self._clock()
        with self._lock:
            cached = self._members.get(key)
            if cached is not None and now + valid_for <= cached[0] + MEMBER_CLIENTS_SECONDS:
                return cached[1]
        clients = self._assume(account, region)
        with self._lock:
            self._members[key] = (now, clients)
        return clients

    def _assume(self, account: str, region: str) -> Clients:
        from botocore.exceptions import BotoCoreError, ClientError

        role_arn = member_role_arn(account, region, self.role_name)
        try:
            return self.own_clients(region).assume(role_arn, session_name=SESSION_NAME)
        except ClientError as exc:
            error: Any = exc.response.get("Error", {})
            reason = f"{error.get('Code')}: {error.get('Message')}"
        except BotoCoreError as exc:
            reason = str(exc)
        raise MemberAccessError(
            f"cannot assume {role_arn} to read account {account}: {reason} (deploy "
            "member/member-role.yaml in that account, trusting this auditor's function role)"
        ) from None
