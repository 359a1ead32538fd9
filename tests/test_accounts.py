"""AccountClients: the auditor's own clients, or a member's through its role, cached per
(account, region) until the assumed credentials would be too old (moto, in-process)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from lambda_world import AUDITOR, MEMBER, REGION
from moto import mock_aws
from stack_auditor.accounts import (
    MEMBER_CLIENTS_SECONDS,
    AccountClients,
    member_role_arn,
)
from stack_auditor.collect.clients import CallCounter, Clients


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    with mock_aws():
        yield


@pytest.fixture
def counter() -> CallCounter:
    return CallCounter()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def accounts(aws: None, counter: CallCounter, clock: Clock) -> AccountClients:
    return AccountClients(
        role_name="auditor-member-dev",
        make_clients=lambda region: Clients(region=region, counter=counter),
        clock=clock,
    )


def test_own_account_is_asked_once_and_read_with_own_credentials(
    accounts: AccountClients, counter: CallCounter
) -> None:
    own = accounts.for_account(AUDITOR, REGION)
    assert accounts.for_account(AUDITOR, REGION) is own
    assert accounts.own_account(REGION) == AUDITOR
    assert counter.calls == {"sts:GetCallerIdentity": 1}


def test_member_clients_act_in_the_member_account_and_are_reused(
    accounts: AccountClients, counter: CallCounter
) -> None:
    member = accounts.for_account(MEMBER, REGION)
    identity = member("sts").get_caller_identity()
    assert identity["Account"] == MEMBER
    assert identity["Arn"].startswith(f"arn:aws:sts::{MEMBER}:assumed-role/auditor-member-dev/")
    assert accounts.for_account(MEMBER, REGION) is member
    # one GetCallerIdentity for the auditor's own account, one above
    assert counter.calls == {"sts:AssumeRole": 1, "sts:GetCallerIdentity": 2}


def test_member_credentials_are_renewed_before_they_expire(
    accounts: AccountClients, counter: CallCounter, clock: Clock
) -> None:
    first = accounts.for_account(MEMBER, REGION)
    clock.now += MEMBER_CLIENTS_SECONDS - 600
    # still fresh for a 2-minute audit, not for a 15-minute sweep
    assert accounts.for_account(MEMBER, REGION, valid_for=120) is first
    renewed = accounts.for_account(MEMBER, REGION, valid_for=900)
    assert renewed is not first
    clock.now += 60
    assert accounts.for_account(MEMBER, REGION) is renewed
    assert counter.calls == {"sts:AssumeRole": 2, "sts:GetCallerIdentity": 1}


def test_each_region_has_its_own_clients(accounts: AccountClients) -> None:
    east, west = (accounts.for_account(MEMBER, r) for r in (REGION, "eu-west-1"))
    assert (east.region, west.region) == (REGION, "eu-west-1")


def test_member_role_arn_follows_the_partition() -> None:
    assert member_role_arn(MEMBER, "cn-north-1", "m") == f"arn:aws-cn:iam::{MEMBER}:role/m"
    assert member_role_arn(MEMBER, REGION, "m") == f"arn:aws:iam::{MEMBER}:role/m"
