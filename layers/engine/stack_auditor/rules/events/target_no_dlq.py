"""eventbridge-target-no-dlq: an EventBridge rule target drops events it cannot deliver.

Each target of an ``AWS::Events::Rule`` whose resolved Arn is a Lambda function, an SQS queue
or an SNS topic (the catalog's three kinds; other target types are not judged) needs a
DeadLetterConfig: after the RetryPolicy is exhausted (24 hours, 185 attempts by default) or on
a non-retryable error (missing permission, deleted target), EventBridge drops the event.
SAM ``EventBridgeRule``/``Schedule`` events with ``DeadLetterConfig`` expand into exactly this.
One verdict per judged target, path ``Properties.Targets[i]``; a target Arn that cannot be
resolved is judged by the stack resource it references (a pipeline or API destination is not
judged); UNKNOWN when it references nothing of the stack, unless it has a DeadLetterConfig.

Live side: the targets ``ListTargetsByRule`` returns are judged, matched to the template's by
``Id`` for the path. A DeadLetterConfig the template sets but the deployed target lacks is
reported as drift, and a target added outside CloudFormation is judged too (path
``Properties.Targets[Id=<id>]``).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from stack_auditor.config import AuditConfig
from stack_auditor.model import Resource, Severity, Side, StackSnapshot, Unresolved, Verdict, thaw
from stack_auditor.rule import Rule, RuleMeta
from stack_auditor.rules._graph import resource_for
from stack_auditor.rules._names import referenced_names

META = RuleMeta(
    id="eventbridge-target-no-dlq",
    title="EventBridge rule targets (Lambda, SQS, SNS) have a dead-letter queue",
    severity=Severity.LOW,
    family="Reliability",
    subject_types=("AWS::Events::Rule",),
    sides=frozenset({Side.RESOLVED, Side.LIVE}),
    risk=(
        "An event EventBridge cannot deliver (throttling past the retry window, a missing "
        "permission, a deleted or misconfigured target) is dropped without trace."
    ),
    remediation=(
        "Add `DeadLetterConfig: {Arn: !GetAtt EventsDlq.Arn}` to the target, with a queue "
        "policy that lets events.amazonaws.com send to the queue (SAM: `DeadLetterConfig: "
        "{Type: SQS}` on the EventBridgeRule/Schedule event)."
    ),
    seeds=("002 #3",),
    reference="https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rule-dlq.html",
)

_KIND_BY_SERVICE = {"lambda": "Lambda function", "sqs": "SQS queue", "sns": "SNS topic"}
_KIND_BY_TYPE = {
    "AWS::Lambda::Function": "Lambda function",
    "AWS::Lambda::Alias": "Lambda function",
    "AWS::Lambda::Version": "Lambda function",
    "AWS::SQS::Queue": "SQS queue",
    "AWS::SNS::Topic": "SNS topic",
}
NOT_JUDGED = ""  # a target of the stack that is none of the three kinds


def target_kind(arn: Any) -> str | None:
    """ "Lambda function", "SQS queue" or "SNS topic" for such an ARN, else None."""
    if not isinstance(arn, str) or not arn.startswith("arn:"):
        return None
    parts = arn.split(":", 5)
    return _KIND_BY_SERVICE.get(parts[2]) if len(parts) == 6 else None


def written_target_kind(snapshot: StackSnapshot, written: Any) -> str | None:
    """The kind of target an unresolved Arn names, from the stack resources it references.

    NOT_JUDGED when it only references stack resources of other types (a pipeline, an API
    destination, a job queue whose ARN is assigned at deployment); None when it cannot tell.
    """
    referenced = [snapshot.resources.get(name) for name in referenced_names(written)]
    kinds = {_KIND_BY_TYPE.get(r.type, NOT_JUDGED) for r in referenced if r is not None}
    judged = kinds - {NOT_JUDGED}
    if judged:
        return sorted(judged)[0]
    return NOT_JUDGED if kinds else None


def _written_arn(rule: Resource, index: int) -> Any:
    written = rule.raw_properties.get("Targets")
    target = written[index] if isinstance(written, tuple) and index < len(written) else None
    return target.get("Arn") if isinstance(target, Mapping) else None


def check(snapshot: StackSnapshot, config: AuditConfig) -> Iterable[Verdict]:
    for rule in snapshot.of_type("AWS::Events::Rule"):
        if rule.live is not None and "Targets" in rule.live:
            verdicts = list(_judge_live_targets(snapshot, rule))
        else:
            verdicts = list(_judge_targets(snapshot, rule))
        yield from verdicts or [META.not_applicable(rule, "no Lambda, SQS or SNS target")]


def _judge_targets(snapshot: StackSnapshot, rule: Resource) -> Iterator[Verdict]:
    targets = rule.prop("Targets")
    where = f"{rule.logical_id} (AWS::Events::Rule)"
    if isinstance(targets, Unresolved):
        yield META.unknown(
            rule,
            f"{where} Properties.Targets cannot be resolved ({targets}).",
            path="Properties.Targets",
        )
        return
    for i, target in enumerate(targets if isinstance(targets, tuple) else ()):
        path = f"Properties.Targets[{i}]"
        if isinstance(target, Unresolved):
            yield META.unknown(rule, f"{where} {path} cannot be resolved ({target}).", path=path)
            continue
        if not isinstance(target, Mapping):
            continue
        arn = target.get("Arn")
        kind = target_kind(arn)
        written_arn = _written_arn(rule, i)
        if isinstance(arn, Unresolved):
            kind = written_target_kind(snapshot, written_arn)
            if kind == NOT_JUDGED:
                continue
        dead_letter = target.get("DeadLetterConfig")
        evidence = {"source": "resolved", "target": thaw(arn), "target_id": thaw(target.get("Id"))}
        if kind is None and isinstance(arn, Unresolved) and not dead_letter:
            yield META.unknown(
                rule,
                f"{where} {path}.Arn cannot be resolved ({arn}): cannot tell whether the target "
                "is a Lambda function, SQS queue or SNS topic that needs a DeadLetterConfig.",
                path=path,
                evidence=evidence,
            )
        elif kind is None and not isinstance(arn, Unresolved):
            continue  # not a target kind the catalog judges
        elif isinstance(dead_letter, Mapping) and dead_letter.get("Arn") is not None:
            evidence["dead_letter"] = thaw(dead_letter.get("Arn"))
            yield META.passed(
                rule,
                f"{where} {path} ({kind or 'target'}) has DeadLetterConfig "
                f"{thaw(dead_letter.get('Arn'))}.",
                path=path,
                evidence=evidence,
            )
        elif isinstance(dead_letter, Unresolved):
            yield META.unknown(
                rule,
                f"{where} {path}.DeadLetterConfig cannot be resolved ({dead_letter}).",
                path=path,
                evidence=evidence,
            )
        else:
            owner = resource_for(snapshot, arn, written_arn)
            named = f"{kind} {owner.logical_id}" if owner is not None else f"{kind} {arn}"
            yield META.failed(
                rule,
                f"{where} {path} ({named}) has no DeadLetterConfig: an event EventBridge "
                "cannot deliver after its retries, or cannot deliver at all (missing permission, "
                "deleted target), is dropped without trace.",
                path=path,
                evidence=evidence,
            )


def _judge_live_targets(snapshot: StackSnapshot, rule: Resource) -> Iterator[Verdict]:
    """The deployed targets (ListTargetsByRule), each beside the template's target of its Id."""
    deployed = (rule.live or {}).get("Targets") or ()
    where = f"{rule.logical_id} (AWS::Events::Rule)"
    written = rule.prop("Targets")
    by_id = {
        target.get("Id"): (i, target)
        for i, target in enumerate(written if isinstance(written, tuple) else ())
        if isinstance(target, Mapping) and isinstance(target.get("Id"), str)
    }
    for target in deployed:
        arn, target_id = target.get("Arn"), target.get("Id")
        kind = target_kind(arn)
        if kind is None:
            continue  # not a target kind the catalog judges
        index, template_target = by_id.get(target_id, (None, None))
        path = (
            f"Properties.Targets[{index}]"
            if index is not None
            else (f"Properties.Targets[Id={target_id}]")
        )
        dead_letter = _dead_letter_arn(target)
        evidence: dict[str, Any] = {"source": "live", "target": arn, "target_id": target_id}
        if dead_letter:
            evidence["dead_letter"] = dead_letter
            yield META.passed(
                rule,
                f"{where} {path} ({kind}) has DeadLetterConfig {dead_letter} (deployed).",
                path=path,
                evidence=evidence,
            )
            continue
        owner = resource_for(snapshot, arn)
        named = f"{kind} {owner.logical_id}" if owner is not None else f"{kind} {arn}"
        message = (
            f"{where}: the deployed target {target_id!r} ({named}) has no DeadLetterConfig: an "
            "event EventBridge cannot deliver after its retries, or cannot deliver at all, is "
            "dropped without trace."
        )
        if template_target is None:
            message += " The target is not in the template: it was added outside CloudFormation."
        elif isinstance(template_dead_letter := _dead_letter_arn(template_target), str):
            evidence["template"] = {"dead_letter": template_dead_letter}
            message += (
                f" The template sets DeadLetterConfig {template_dead_letter}: it was removed "
                "outside CloudFormation (drift)."
            )
        yield META.failed(rule, message, path=path, evidence=evidence)


def _dead_letter_arn(target: Mapping[str, Any]) -> Any:
    config = target.get("DeadLetterConfig")
    return config.get("Arn") if isinstance(config, Mapping) else None


RULE = Rule(META, check)
