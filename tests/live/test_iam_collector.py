"""IAM collector: each role's inline and attached policies read once, a managed policy's
document once per audit; the IAM rules judge what is deployed, report drift, and never PASS a
principal whose policies could not be read.

moto's CloudFormation is not faithful for IAM in four ways, and the tests make up for it
through the IAM API after deploying (each place says so): a role's ``Policies`` are stored as
Python ``repr`` text instead of JSON (``deploy_stack`` puts them again as JSON), a role's
``ManagedPolicyArns`` are not attached (a ManagedPolicy's ``Roles`` are), a user's
``Policies`` are not created, and ``AWS::IAM::Group`` is not supported at all. AWS managed
policies exist in moto only when it is told to load them.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

import pytest
from botocore.exceptions import ClientError
from live_world import ACCOUNT, REGION, client, deploy, live_snapshot, outcomes, verdicts
from moto import mock_aws
from stack_auditor.collect import iam
from stack_auditor.collect.clients import CallCounter, Clients
from stack_auditor.collect.cloudformation import snapshot_from_stack
from stack_auditor.collect.runner import collect_live
from stack_auditor.model import Outcome, StackRef, StackSnapshot, thaw
from stack_auditor.rules import CATALOG
from stack_auditor.snapshot import build_snapshot

IAM_RULES = (
    "iam-admin-access",
    "iam-wildcard-action",
    "iam-wildcard-resource",
    "iam-passrole-wildcard",
)
BASIC = "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"
ADMIN = "arn:aws:iam::aws:policy/AdministratorAccess"
QUEUE_ARN = f"arn:aws:sqs:{REGION}:{ACCOUNT}:orders"
SEND = {"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": QUEUE_ARN}
ASSUME = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": "lambda.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    ],
}


def document(*statements: Mapping[str, Any]) -> dict[str, Any]:
    # moto rejects documents without a Version; IAM would default it
    return {"Version": "2012-10-17", "Statement": [dict(s) for s in statements]}


def role(*inline: tuple[str, dict[str, Any]], managed: tuple[Any, ...] = ()) -> dict[str, Any]:
    properties: dict[str, Any] = {"AssumeRolePolicyDocument": ASSUME}
    if inline:
        properties["Policies"] = [{"PolicyName": n, "PolicyDocument": d} for n, d in inline]
    if managed:
        properties["ManagedPolicyArns"] = list(managed)
    return {"Type": "AWS::IAM::Role", "Properties": properties}


def inline_policy(name: str, roles: list[str], *statements: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "Type": "AWS::IAM::Policy",
        "Properties": {
            "PolicyName": name,
            "Roles": [{"Ref": r} for r in roles],
            "PolicyDocument": document(*statements),
        },
    }


WORKER = {"Resources": {"Worker": role(("work", document(SEND)))}}


@pytest.fixture
def aws_managed() -> None:
    """Asked for by the tests that attach AWS managed policies: moto loads them (slow)."""


@pytest.fixture(autouse=True)
def aws(request: pytest.FixtureRequest) -> Iterator[None]:
    load = "aws_managed" in request.fixturenames
    with mock_aws(config={"iam": {"load_aws_managed_policies": load}}):
        yield


def physical_id(logical_id: str, stack: str = "live-test") -> str:
    described = client("cloudformation").describe_stack_resource(
        StackName=stack, LogicalResourceId=logical_id
    )
    return str(described["StackResourceDetail"]["PhysicalResourceId"])


def deploy_stack(template: Mapping[str, Any]) -> None:
    """``deploy``, then each role's inline policies put again as JSON (moto stores the
    ``repr`` of the template's mapping, which IAM never returns)."""
    deploy(template)
    iam_client = client("iam")
    for logical_id, body in template["Resources"].items():
        if body["Type"] == "AWS::IAM::Role":
            for policy in body["Properties"].get("Policies", ()):
                iam_client.put_role_policy(
                    RoleName=physical_id(logical_id),
                    PolicyName=policy["PolicyName"],
                    PolicyDocument=json.dumps(policy["PolicyDocument"]),
                )


def attach(logical_id: str, *arns: str) -> None:
    """What the role's ManagedPolicyArns would have done (moto's CloudFormation does not)."""
    iam_client, name = client("iam"), physical_id(logical_id)
    for arn in arns:
        iam_client.attach_role_policy(RoleName=name, PolicyArn=arn)


def read() -> StackSnapshot:
    return live_snapshot(collectors=(iam.COLLECTOR,)).snapshot


def template_only() -> StackSnapshot:
    """The same deployed stack judged on its template alone (no live reads)."""
    return snapshot_from_stack(
        client("cloudformation"), StackRef("live-test", account=ACCOUNT, region=REGION)
    )


def judged(snapshot: StackSnapshot, rule_id: str) -> set[tuple[Outcome, str | None, str, str]]:
    """(outcome, logical id, path, evidence source) of every verdict of the rule."""
    return {
        (v.outcome, v.logical_id, v.path, str(v.evidence.get("source", "")))
        for v in verdicts(snapshot, rule_id)
    }


def the_verdict(snapshot: StackSnapshot, rule_id: str, outcome: Outcome) -> Any:
    [found] = [v for v in verdicts(snapshot, rule_id) if v.outcome is outcome]
    return found


def denied(operation: str) -> tuple[Clients, CallCounter]:
    """Clients whose IAM client answers AccessDenied to ``operation`` (a fault in a real client)."""
    counter = CallCounter()
    clients = Clients(region=REGION, counter=counter)

    def deny(**_: Any) -> None:
        error = {"Error": {"Code": "AccessDenied", "Message": f"not allowed: iam:{operation}"}}
        raise ClientError(error, operation)  # type: ignore[arg-type]

    clients("iam").meta.events.register(f"before-call.iam.{operation}", deny)
    return clients, counter


def test_documents_are_dicts_even_when_iam_returns_url_encoded_text() -> None:
    text = "%7B%22Statement%22%3A%20%5B%5D%7D"
    assert iam.decode_document(text) == {"Statement": []}
    assert iam.decode_document({"Statement": []}) == {"Statement": []}
    assert iam.decode_document("not json") == "not json"  # judged UNKNOWN by the rules


def test_each_role_is_read_once_and_a_shared_managed_policy_fetched_once(aws_managed: None) -> None:
    shared = {
        "Type": "AWS::IAM::ManagedPolicy",
        "Properties": {
            "Roles": [{"Ref": "Orders"}, {"Ref": "Payments"}],
            "PolicyDocument": document(SEND),
        },
    }
    deploy_stack(
        {
            "Resources": {
                "Orders": role(("work", document(SEND)), managed=(BASIC,)),
                "Payments": role(("work", document(SEND)), managed=(BASIC,)),
                "Shared": shared,
            }
        }
    )
    attach("Orders", BASIC)
    attach("Payments", BASIC)
    read = live_snapshot(collectors=(iam.COLLECTOR,))

    # AWSLambdaBasicExecutionRole and Shared: two roles plus Shared's own read, fetched once each
    assert read.counter.calls == {
        "iam:ListRolePolicies": 2,
        "iam:GetRolePolicy": 2,
        "iam:ListAttachedRolePolicies": 2,
        "iam:GetPolicy": 2,
        "iam:GetPolicyVersion": 2,
    }
    assert set(read.counter.calls) <= set(iam.COLLECTOR.actions)
    assert read.gaps() == []
    shared_arn = physical_id("Shared")
    live = read.live("Orders")
    assert live is not None
    assert dict(live["InlinePolicies"]["work"])["Statement"][0]["Action"] == "sqs:SendMessage"
    attached = {a["PolicyArn"]: a for a in live["AttachedPolicies"]}
    assert set(attached) == {BASIC, shared_arn}
    assert attached[BASIC]["PolicyName"] == "AWSLambdaBasicExecutionRole"
    assert attached[BASIC]["PolicyDocument"]["Statement"][0]["Resource"] == "*"
    assert attached[shared_arn]["PolicyDocument"]["Statement"][0]["Resource"] == QUEUE_ARN
    shared_live = read.live("Shared")
    assert shared_live is not None
    assert shared_live["PolicyDocument"]["Statement"][0]["Action"] == "sqs:SendMessage"


def test_inline_and_attached_policy_lists_are_paginated() -> None:
    deploy_stack({"Resources": {"Crowded": role()}})
    name, iam_client, text = physical_id("Crowded"), client("iam"), json.dumps(document(SEND))
    for index in range(120):
        iam_client.put_role_policy(RoleName=name, PolicyName=f"p{index:03}", PolicyDocument=text)
    created = (
        iam_client.create_policy(PolicyName=f"m{i:03}", PolicyDocument=text) for i in range(101)
    )
    arns = [policy["Policy"]["Arn"] for policy in created]
    attach("Crowded", *arns)
    read = live_snapshot(collectors=(iam.COLLECTOR,))

    live = read.live("Crowded")
    assert live is not None
    assert len(live["InlinePolicies"]) == 120
    assert {a["PolicyArn"] for a in live["AttachedPolicies"]} == set(arns)
    # moto pages ListAttachedRolePolicies by 100; it answers ListRolePolicies in one page
    # (IsTruncated false), so the paginator makes one call there.
    assert read.counter.calls == {
        "iam:ListRolePolicies": 1,
        "iam:GetRolePolicy": 120,
        "iam:ListAttachedRolePolicies": 2,
        "iam:GetPolicy": 101,
        "iam:GetPolicyVersion": 101,
    }


LIVE_STATEMENTS = {
    "iam-admin-access": {"Effect": "Allow", "Action": "*", "Resource": "*"},
    "iam-wildcard-action": {"Effect": "Allow", "Action": "s3:*", "Resource": "arn:aws:s3:::o/*"},
    "iam-wildcard-resource": {"Effect": "Allow", "Action": "dynamodb:GetItem", "Resource": "*"},
    "iam-passrole-wildcard": {"Effect": "Allow", "Action": "iam:PassRole", "Resource": "*"},
}


def test_inline_statement_added_live_is_found_and_removing_it_resolves() -> None:
    deploy_stack(WORKER)
    name, iam_client = physical_id("Worker"), client("iam")
    for rule_id in IAM_RULES:
        assert judged(read(), rule_id) == {(Outcome.PASS, "Worker", "", "live")}, rule_id

        debug = json.dumps(document(LIVE_STATEMENTS[rule_id]))
        iam_client.put_role_policy(RoleName=name, PolicyName="debug", PolicyDocument=debug)
        snapshot = read()
        assert judged(snapshot, rule_id) == {
            (Outcome.FAIL, "Worker", "InlinePolicies.debug.Statement[0]", "live")
        }, rule_id
        failed = the_verdict(snapshot, rule_id, Outcome.FAIL)
        assert failed.evidence["drift"] == "deployed, not in the template"
        assert "added outside CloudFormation" in failed.message
        # the template alone cannot see it
        assert outcomes(template_only(), rule_id) == {(Outcome.PASS, "Worker")}

        iam_client.delete_role_policy(RoleName=name, PolicyName="debug")
    assert judged(read(), IAM_RULES[-1]) == {(Outcome.PASS, "Worker", "", "live")}


def test_administrator_access_attached_live_is_found_and_detaching_it_resolves(
    aws_managed: None,
) -> None:
    deploy_stack(WORKER)
    attach("Worker", ADMIN)
    snapshot = read()
    assert judged(snapshot, "iam-admin-access") == {
        (Outcome.FAIL, "Worker", f"AttachedPolicies[{ADMIN}]", "live")
    }
    failed = the_verdict(snapshot, "iam-admin-access", Outcome.FAIL)
    assert failed.evidence["drift"] == f"{ADMIN} is attached to Worker outside the template"
    # AWS managed policies are judged by name, by iam-admin-access only
    assert outcomes(snapshot, "iam-wildcard-action") == {(Outcome.PASS, "Worker")}

    client("iam").detach_role_policy(RoleName=physical_id("Worker"), PolicyArn=ADMIN)
    assert judged(read(), "iam-admin-access") == {(Outcome.PASS, "Worker", "", "live")}


def test_customer_policy_attached_live_is_judged_like_an_inline_one() -> None:
    deploy_stack(WORKER)
    arn = client("iam").create_policy(
        PolicyName="console-made",
        PolicyDocument=json.dumps(document(LIVE_STATEMENTS["iam-wildcard-action"])),
    )["Policy"]["Arn"]
    attach("Worker", arn)
    assert judged(read(), "iam-wildcard-action") == {
        (Outcome.FAIL, "Worker", f"AttachedPolicies[{arn}].PolicyDocument.Statement[0]", "live")
    }


LOOSE = {
    "Resources": {
        "Loose": role(
            ("loose", document({"Effect": "Allow", "Action": "s3:*", "Resource": "*"})),
            managed=(ADMIN,),
        ),
        "PassAny": inline_policy(
            "pass-any", ["Loose"], {"Effect": "Allow", "Action": "iam:PassRole", "Resource": "*"}
        ),
    }
}


STAR_STATEMENT = "Properties.Policies[0].PolicyDocument.Statement[0]"
PASS_STATEMENT = "Properties.PolicyDocument.Statement[0]"
LOOSE_FINDINGS = {
    "iam-admin-access": {
        (Outcome.FAIL, "Loose", "Properties.ManagedPolicyArns[0]"),
        (Outcome.PASS, "PassAny", ""),
    },
    "iam-wildcard-action": {(Outcome.FAIL, "Loose", STAR_STATEMENT), (Outcome.PASS, "PassAny", "")},
    "iam-wildcard-resource": {
        (Outcome.FAIL, "Loose", STAR_STATEMENT),
        (Outcome.FAIL, "PassAny", PASS_STATEMENT),
    },
    "iam-passrole-wildcard": {
        (Outcome.PASS, "Loose", ""),
        (Outcome.FAIL, "PassAny", PASS_STATEMENT),
    },
}


def test_a_template_finding_keeps_its_id_when_read_live(aws_managed: None) -> None:
    deploy_stack(LOOSE)
    attach("Loose", ADMIN)
    scanned, live = template_only(), read()
    for rule_id, expected in LOOSE_FINDINGS.items():
        assert {(o, lid, path, "resolved") for o, lid, path in expected if o is Outcome.FAIL} | {
            (o, lid, path, "") for o, lid, path in expected if o is Outcome.PASS
        } == judged(scanned, rule_id), rule_id
        assert {(o, lid, path, "live") for o, lid, path in expected} == judged(live, rule_id)
        assert not any("drift" in v.evidence for v in verdicts(live, rule_id))


def test_template_statements_fixed_live_pass_and_report_the_drift(aws_managed: None) -> None:
    deploy_stack(LOOSE)
    attach("Loose", ADMIN)
    name = physical_id("Loose")
    client("iam").put_role_policy(
        RoleName=name, PolicyName="loose", PolicyDocument=json.dumps(document(SEND))
    )
    client("iam").delete_role_policy(RoleName=name, PolicyName="pass-any")
    client("iam").detach_role_policy(RoleName=name, PolicyArn=ADMIN)
    snapshot = read()

    for rule_id in IAM_RULES:
        assert outcomes(snapshot, rule_id) == {(Outcome.PASS, "Loose"), (Outcome.PASS, "PassAny")}
    passed = {v.logical_id: v for v in verdicts(snapshot, "iam-wildcard-action")}
    assert passed["Loose"].evidence == {
        "source": "live",
        "drift": [
            "the deployed inline policy 'loose' on Loose differs from the template",
            f"{ADMIN} is attached in the template but not to the deployed Loose",
        ],
    }
    assert passed["PassAny"].evidence == {
        "source": "live",
        "drift": ["inline policy 'pass-any' of the template is not deployed on Loose"],
    }


def test_policy_resource_and_managed_policy_edited_live_are_judged_where_written() -> None:
    managed = {
        "Type": "AWS::IAM::ManagedPolicy",
        "Properties": {"Roles": [{"Ref": "Worker"}], "PolicyDocument": document(SEND)},
    }
    deploy_stack(
        {
            "Resources": {
                "Worker": role(),
                "Extra": inline_policy("extra", ["Worker"], SEND),
                "Managed": managed,
            }
        }
    )
    star = json.dumps(document(SEND, LIVE_STATEMENTS["iam-passrole-wildcard"]))
    client("iam").put_role_policy(
        RoleName=physical_id("Worker"), PolicyName="extra", PolicyDocument=star
    )
    client("iam").create_policy_version(
        PolicyArn=physical_id("Managed"), PolicyDocument=star, SetAsDefault=True
    )
    assert judged(read(), "iam-passrole-wildcard") == {
        (Outcome.PASS, "Worker", "", "live"),
        (Outcome.FAIL, "Extra", "Properties.PolicyDocument.Statement[1]", "live"),
        (Outcome.FAIL, "Managed", "Properties.PolicyDocument.Statement[1]", "live"),
    }


def test_deleted_role_is_a_not_found_gap_and_nothing_of_it_passes() -> None:
    deploy_stack(
        {
            "Resources": {
                "Worker": role(("work", document(SEND))),
                "Extra": inline_policy("extra", ["Worker"], SEND),
            }
        }
    )
    name = physical_id("Worker")
    for policy in ("work", "extra"):
        client("iam").delete_role_policy(RoleName=name, PolicyName=policy)
    client("iam").delete_role(RoleName=name)
    read = live_snapshot(collectors=(iam.COLLECTOR,))

    assert [(g.what, g.reason) for g in read.gaps()] == [("iam:ListRolePolicies", "NotFound")]
    assert read.counter.calls == {"iam:ListRolePolicies": 1}
    for rule_id in IAM_RULES:
        assert outcomes(read.snapshot, rule_id) == {
            (Outcome.UNKNOWN, "Worker"),
            (Outcome.UNKNOWN, "Extra"),
        }


def test_access_denied_listing_inline_policies_is_a_gap_and_nothing_of_it_passes() -> None:
    deploy_stack(
        {
            "Resources": {
                "Worker": role(("work", document(SEND))),
                "Extra": inline_policy("extra", ["Worker"], SEND),
            }
        }
    )
    clients, _ = denied("ListRolePolicies")
    read = live_snapshot(collectors=(iam.COLLECTOR,), clients=clients)

    assert [(g.scope, g.what, g.reason) for g in read.gaps()] == [
        ("Worker", "iam:ListRolePolicies", "AccessDenied")
    ]
    assert read.live("Worker") is None
    for rule_id in IAM_RULES:
        assert outcomes(read.snapshot, rule_id) == {
            (Outcome.UNKNOWN, "Worker"),
            (Outcome.UNKNOWN, "Extra"),
        }


def test_access_denied_reading_a_managed_policy_keeps_the_rest_of_the_read(
    aws_managed: None,
) -> None:
    deploy_stack(WORKER)
    attach("Worker", ADMIN)
    clients, counter = denied("GetPolicy")
    read = live_snapshot(collectors=(iam.COLLECTOR,), clients=clients)

    assert [(g.scope, g.what, g.reason) for g in read.gaps()] == [
        ("Worker", "iam:GetPolicy", "AccessDenied")
    ]
    live = read.live("Worker")
    assert live is not None and set(live["InlinePolicies"]) == {"work"}
    assert [dict(a) for a in live["AttachedPolicies"]] == [
        {"PolicyArn": ADMIN, "PolicyName": "AdministratorAccess", "PolicyDocument": None}
    ]
    # the attachment itself was read: AdministratorAccess is still found
    assert outcomes(read.snapshot, "iam-admin-access") == {(Outcome.FAIL, "Worker")}
    assert outcomes(read.snapshot, "iam-wildcard-action") == {(Outcome.UNKNOWN, "Worker")}
    assert counter.calls["iam:GetPolicyVersion"] == 0


def test_user_policies_are_read_live() -> None:
    deploy_stack({"Resources": {"Operator": {"Type": "AWS::IAM::User", "Properties": {}}}})
    # moto's CloudFormation does not create a user's Policies: this one is put through IAM
    client("iam").put_user_policy(
        UserName=physical_id("Operator"),
        PolicyName="everything",
        PolicyDocument=json.dumps(document(LIVE_STATEMENTS["iam-admin-access"])),
    )
    read = live_snapshot(collectors=(iam.COLLECTOR,))
    assert read.counter.calls == {
        "iam:ListUserPolicies": 1,
        "iam:GetUserPolicy": 1,
        "iam:ListAttachedUserPolicies": 1,
    }
    assert judged(read.snapshot, "iam-admin-access") == {
        (Outcome.FAIL, "Operator", "InlinePolicies.everything.Statement[0]", "live")
    }


def test_group_policies_are_read_live() -> None:
    # moto's CloudFormation does not support AWS::IAM::Group: the group is made through IAM
    # and the snapshot is the template resolved against its physical id, as a deployed stack's
    client("iam").create_group(GroupName="ops")
    client("iam").put_group_policy(
        GroupName="ops",
        PolicyName="ops",
        PolicyDocument=json.dumps(document(SEND, LIVE_STATEMENTS["iam-wildcard-action"])),
    )
    template = {
        "Resources": {
            "Ops": {
                "Type": "AWS::IAM::Group",
                "Properties": {
                    "Policies": [{"PolicyName": "ops", "PolicyDocument": document(SEND)}]
                },
            }
        }
    }
    ref = StackRef("groups", account=ACCOUNT, region=REGION, trigger="audit")
    snapshot = build_snapshot(ref, template, physical_ids={"Ops": "ops"})
    counter = CallCounter()
    snapshot = collect_live(
        snapshot, Clients(region=REGION, counter=counter), CATALOG, collectors=(iam.COLLECTOR,)
    )
    assert counter.calls == {
        "iam:ListGroupPolicies": 1,
        "iam:GetGroupPolicy": 1,
        "iam:ListAttachedGroupPolicies": 1,
    }
    failed = the_verdict(snapshot, "iam-wildcard-action", Outcome.FAIL)
    assert (failed.logical_id, failed.path) == (
        "Ops",
        "Properties.Policies[0].PolicyDocument.Statement[1]",
    )
    assert failed.evidence["drift"] == "deployed, not in the template"


def test_sam_policy_templates_are_judged_only_for_what_was_added_to_them() -> None:
    # moto's CloudFormation does not run the SAM transform: the snapshot is the template
    # expanded and resolved against the generated role's physical id, and the role is made
    # through IAM with the inline policy SAM generated (TextractPolicy grants textract:*).
    function = {
        "Type": "AWS::Serverless::Function",
        "Properties": {
            "Runtime": "python3.12",
            "Handler": "index.handler",
            "InlineCode": "def handler(event, context):\n    return event\n",
            "Policies": [{"TextractPolicy": {}}],
        },
    }
    template = {"Transform": "AWS::Serverless-2016-10-31", "Resources": {"Reader": function}}
    ref = StackRef("sam", account=ACCOUNT, region=REGION, trigger="audit")
    scanned = build_snapshot(ref, template, physical_ids={"ReaderRole": "reader-role"})
    [generated] = thaw(scanned.resources["ReaderRole"].properties["Policies"])
    generated_document = {"Version": "2012-10-17", **generated["PolicyDocument"]}
    iam_client = client("iam")
    iam_client.create_role(RoleName="reader-role", AssumeRolePolicyDocument=json.dumps(ASSUME))

    def audit(*statements: Mapping[str, Any]) -> StackSnapshot:
        text = json.dumps(
            {**generated_document, "Statement": [*generated_document["Statement"], *statements]}
        )
        iam_client.put_role_policy(
            RoleName="reader-role", PolicyName=generated["PolicyName"], PolicyDocument=text
        )
        return collect_live(scanned, Clients(region=REGION), CATALOG, collectors=(iam.COLLECTOR,))

    assert judged(audit(), "iam-wildcard-action") == {(Outcome.PASS, "ReaderRole", "", "live")}
    added = LIVE_STATEMENTS["iam-wildcard-action"]
    assert judged(audit(added), "iam-wildcard-action") == {
        (Outcome.FAIL, "ReaderRole", "Properties.Policies[0].PolicyDocument.Statement[1]", "live")
    }
