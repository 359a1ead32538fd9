"""template-missing-outputs: the stack has no Outputs, or a key resource is not exported by one.

Key resources: DynamoDB tables, SNS topics, SQS queues, APIs (REST, HTTP/WebSocket, SAM's
implicit ``ServerlessRestApi``/``ServerlessHttpApi``) and Lambda functions, from the processed
template. A resource counts as exported when an active output's Value names it: ``Ref``,
``Fn::GetAtt`` (any attribute, e.g. a table's StreamArn), a ``${X}``/``${X.Attr}`` of
``Fn::Sub`` (an API URL built from the API id), at any depth, or a resolved value equal to
one of its identifiers. Not judged: a function that backs a custom resource (``ServiceToken``)
or a macro (``AWS::CloudFormation::Macro``) of the stack: plumbing of the deployment, not
something a consumer calls.
No Outputs at all -> one template-wide FAIL instead of one per resource.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from stack_auditor.config import AuditConfig
from stack_auditor.model import Outcome, Severity, Side, StackSnapshot, Verdict
from stack_auditor.rule import Rule, RuleMeta
from stack_auditor.rules._literals import sub_variables
from stack_auditor.rules._snapshot_cache import per_snapshot
from stack_auditor.rules._template_resources import written_verdict

EXPORTED_TYPES = (
    "AWS::DynamoDB::Table",
    "AWS::SNS::Topic",
    "AWS::SQS::Queue",
    "AWS::ApiGateway::RestApi",
    "AWS::ApiGatewayV2::Api",
    "AWS::Lambda::Function",
)

META = RuleMeta(
    id="template-missing-outputs",
    title="The stack exports its tables, topics, queues, APIs and functions as outputs",
    severity=Severity.LOW,
    family="Code and template quality",
    subject_types=EXPORTED_TYPES,
    sides=frozenset({Side.TEMPLATE}),
    risk=(
        "Integration tests, other stacks and operators cannot find the deployed names, ARNs "
        "and URLs without guessing generated names or reading the console."
    ),
    remediation=(
        "Add an output per key resource, e.g.\n"
        "  Outputs:\n"
        "    OrdersTableName:\n"
        "      Value: !Ref OrdersTable\n"
        "      Export: {Name: !Sub '${AWS::StackName}-OrdersTableName'}"
    ),
    seeds=("000", "003 #10"),
    reference="https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/outputs-section-structure.html",
)

_CUSTOM_RESOURCE = "AWS::CloudFormation::CustomResource"


def check(snapshot: StackSnapshot, config: AuditConfig) -> Iterable[Verdict]:
    declared = snapshot.processed.get("Outputs")
    if not isinstance(declared, Mapping) or not declared:
        yield written_verdict(
            META,
            Outcome.FAIL,
            None,
            None,
            "The template has no Outputs section: none of the stack's names, ARNs or URLs is "
            "exported for tests, other stacks or operators.",
            path="Outputs",
            evidence={"source": "template"},
        )
        return
    exported = exported_logical_ids(snapshot)
    providers = deployment_plumbing(snapshot)
    for resource in snapshot.of_type(*EXPORTED_TYPES):
        if resource.logical_id in providers:
            yield META.not_applicable(resource, "backs a custom resource or macro of the stack")
        elif resource.logical_id in exported:
            yield META.passed(resource, path="Outputs")
        else:
            yield META.failed(
                resource,
                f"{resource.logical_id} ({resource.type}) is not referenced by any output "
                "Value: its deployed name/ARN must be looked up by hand by tests, other "
                "stacks and operators.",
                path="Outputs",
                evidence={"source": "template"},
            )


@per_snapshot
def exported_logical_ids(snapshot: StackSnapshot) -> frozenset[str]:
    """Logical ids an active output's Value refers to, as written or by resolved value."""
    declared = snapshot.processed.get("Outputs")
    found: set[str] = set()
    if isinstance(declared, Mapping):
        for name, body in declared.items():
            if str(name) in snapshot.outputs and isinstance(body, Mapping):
                found.update(_references(body.get("Value")))
    for value in _strings(snapshot.outputs):
        owner = snapshot.owner_of(value)
        if owner is not None:
            found.add(owner.logical_id)
    return frozenset(found)


@per_snapshot
def deployment_plumbing(snapshot: StackSnapshot) -> frozenset[str]:
    """Functions whose ARN is a custom resource's ServiceToken or a macro's FunctionName."""
    found: set[str] = set()
    for resource in snapshot.resources.values():
        if resource.type == _CUSTOM_RESOURCE or resource.type.startswith("Custom::"):
            key = "ServiceToken"
        elif resource.type == "AWS::CloudFormation::Macro":
            key = "FunctionName"
        else:
            continue
        found.update(_references(resource.raw_properties.get(key)))
        owner = snapshot.owner_of(resource.prop(key))
        if owner is not None:
            found.add(owner.logical_id)
    return frozenset(found)


def _references(node: Any) -> Iterator[str]:
    if isinstance(node, Mapping):
        if len(node) == 1:
            ((name, arg),) = node.items()
            if name == "Ref" and isinstance(arg, str):
                yield arg
                return
            if name == "Fn::GetAtt":
                target = arg[0] if isinstance(arg, (list, tuple)) and arg else arg
                if isinstance(target, str):
                    yield target.split(".", 1)[0]
                return
            if name == "Fn::Sub":
                text = arg[0] if isinstance(arg, (list, tuple)) and arg else arg
                if isinstance(text, str):
                    yield from (v.split(".", 1)[0] for v in sub_variables(text))
                if isinstance(arg, (list, tuple)) and len(arg) > 1:
                    yield from _references(arg[1])
                return
        for child in node.values():
            yield from _references(child)
    elif isinstance(node, (list, tuple)):
        for child in node:
            yield from _references(child)


def _strings(node: Any) -> Iterator[str]:
    if isinstance(node, str):
        yield node
    elif isinstance(node, Mapping):
        for child in node.values():
            yield from _strings(child)
    elif isinstance(node, (list, tuple)):
        for child in node:
            yield from _strings(child)


RULE = Rule(META, check)
