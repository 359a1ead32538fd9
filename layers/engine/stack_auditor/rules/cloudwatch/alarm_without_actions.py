"""alarm-without-actions: an alarm that notifies nobody and does nothing when it fires.

An ``AWS::CloudWatch::Alarm`` or ``CompositeAlarm`` whose ``AlarmActions`` is absent or empty
changes colour in the console and nothing else. ``ActionsEnabled: false`` fails too: the
actions are there but muted, which is the same silence. OKActions and
InsufficientDataActions alone do not count: they never fire on ALARM.

Not a finding (another path consumes the alarm's state): an alarm named in the ``AlarmRule`` of
a composite alarm that acts, in a CodeDeploy deployment group's ``AlarmConfiguration`` (SAM
``DeploymentPreference.Alarms`` expands to one), or in a Route 53 health check's
``AlarmIdentifier``; those alarms exist to be read, and the reader acts. Live side:
``DescribeAlarms``' ``AlarmActions``/``ActionsEnabled`` win, and a difference from the template
(actions removed, or muted by ``DisableAlarmActions``) is reported as drift; an alarm that could
not be read (deleted: NotFound) is UNKNOWN.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from stack_auditor.config import AuditConfig
from stack_auditor.model import Resource, Severity, Side, StackSnapshot, Unresolved, Verdict
from stack_auditor.rule import Rule, RuleMeta
from stack_auditor.rules._live_gap import live_gap
from stack_auditor.rules._observed import as_bool
from stack_auditor.rules._snapshot_cache import per_snapshot

META = RuleMeta(
    id="alarm-without-actions",
    title="Alarms act when they fire",
    severity=Severity.LOW,
    family="Observability",
    subject_types=("AWS::CloudWatch::Alarm", "AWS::CloudWatch::CompositeAlarm"),
    sides=frozenset({Side.RESOLVED, Side.LIVE}),
    risk="The alarm fires and nobody is told: the condition it watches goes unnoticed.",
    remediation=(
        "Add AlarmActions (e.g. AlarmActions: [!Ref AlertTopic], an SNS topic with a "
        "subscription) and leave ActionsEnabled true."
    ),
    seeds=("001 #4", "003 #8"),
    reference="https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/AlarmThatSendsEmail.html#alarms-and-actions",
)

_TYPES = ("AWS::CloudWatch::Alarm", "AWS::CloudWatch::CompositeAlarm")
_PATH = "Properties.AlarmActions"


def check(snapshot: StackSnapshot, config: AuditConfig) -> Iterable[Verdict]:
    consumers = _alarm_consumers(snapshot)
    for alarm in snapshot.of_type(*_TYPES):
        gap = None if _described(alarm) else live_gap(snapshot, alarm, "cloudwatch")
        if gap is None:
            yield _judge(alarm, consumers)
            continue
        yield META.unknown(
            alarm,
            f"{alarm.logical_id} ({alarm.type}): the deployed alarm could not be read "
            f"({gap.what}: {gap.reason}); the template alone cannot show it still acts.",
            path=_PATH,
            evidence={"source": "live", "gap": f"{gap.what}: {gap.reason}"},
        )


def _judge(alarm: Resource, consumers: Mapping[str, str]) -> Verdict:
    where = f"{alarm.logical_id} ({alarm.type})"
    actions, enabled, source, drift = _settings(alarm)
    evidence: dict[str, Any] = {"source": source, "actions": _shown(actions)}
    evidence.update(drift)
    reader = next((consumers[n] for n in _identifiers(alarm) if n in consumers), None)
    if isinstance(actions, Unresolved) or isinstance(enabled, Unresolved):
        unknown = actions if isinstance(actions, Unresolved) else enabled
        return META.unknown(
            alarm, f"{where}: its actions cannot be resolved ({unknown}).", path=_PATH
        )
    muted = _muted(enabled)
    if actions and not muted:
        return META.passed(alarm, path=_PATH, evidence=evidence)
    if reader is not None:
        evidence["read_by"] = reader
        return META.passed(
            alarm,
            f"{where} has no actions of its own, but {reader} acts on its state.",
            path=_PATH,
            evidence=evidence,
        )
    deployed = " on the deployed alarm (live)" if source == "live" else ""
    if muted:
        evidence["actions_enabled"] = False
        return META.failed(
            alarm,
            f"{where} Properties.ActionsEnabled is false{deployed}{_drift_text(drift)}: its "
            "actions never run, so the alarm fires silently.",
            path="Properties.ActionsEnabled",
            evidence=evidence,
        )
    return META.failed(
        alarm,
        f"{where} {_PATH} is {'empty' if actions is not None else 'not set'}{deployed}"
        f"{_drift_text(drift)}: when it fires nobody is notified and nothing happens.",
        path=_PATH,
        evidence=evidence,
    )


def _described(alarm: Resource) -> bool:
    """True when ``DescribeAlarms`` was read (a tags collector may fill other live keys)."""
    return alarm.live is not None and "AlarmName" in alarm.live


def _settings(alarm: Resource) -> tuple[Any, Any, str, dict[str, Any]]:
    actions = alarm.prop("AlarmActions")
    enabled = alarm.prop("ActionsEnabled")
    if alarm.live is None or not _described(alarm):
        return actions, enabled, "resolved", {}
    live_actions = tuple(alarm.live.get("AlarmActions") or ())
    live_enabled = alarm.live.get("ActionsEnabled")
    drift: dict[str, Any] = {}
    if not isinstance(actions, Unresolved) and tuple(actions or ()) != live_actions:
        drift["template_actions"] = list(actions or ())
    written = as_bool(enabled)
    if not isinstance(written, Unresolved) and (written is not False) != (
        live_enabled is not False
    ):
        drift["template_actions_enabled"] = written is not False  # absent means true
    return live_actions, live_enabled, "live", drift


def _muted(enabled: Any) -> bool:
    return enabled is False or (isinstance(enabled, str) and enabled.lower() == "false")


def _drift_text(drift: Mapping[str, Any]) -> str:
    said = []
    if "template_actions" in drift:
        said.append(f"AlarmActions {drift['template_actions']}")
    if "template_actions_enabled" in drift:
        said.append(f"ActionsEnabled {str(drift['template_actions_enabled']).lower()}")
    return f" (drift: the template sets {' and '.join(said)})" if said else ""


def _identifiers(alarm: Resource) -> Iterator[str]:
    for key in ("Ref", "Arn", "AlarmName"):
        value = alarm.attributes.get(key)
        if isinstance(value, str) and value:
            yield value


@per_snapshot
def _alarm_consumers(snapshot: StackSnapshot) -> Mapping[str, str]:
    """Alarm name or ARN -> the resource that reads that alarm's state."""
    consumers: dict[str, str] = {}
    names = {v: a.logical_id for a in snapshot.of_type(*_TYPES) for v in _identifiers(a)}
    for composite in snapshot.of_type("AWS::CloudWatch::CompositeAlarm"):
        actions, enabled, _source, _drift = _settings(composite)
        if not actions or isinstance(actions, Unresolved) or _muted(enabled):
            continue  # a silent composite makes its children no less silent
        rule = composite.prop("AlarmRule")
        if isinstance(rule, str):
            for name in names:
                if name in rule and names[name] != composite.logical_id:
                    consumers.setdefault(name, f"composite alarm {composite.logical_id}")
    for group in snapshot.of_type("AWS::CodeDeploy::DeploymentGroup"):
        for item in group.prop("AlarmConfiguration", "Alarms") or ():
            alarm_name = item.get("Name") if isinstance(item, Mapping) else None
            if isinstance(alarm_name, str):
                consumers.setdefault(alarm_name, f"CodeDeploy deployment group {group.logical_id}")
    for check in snapshot.of_type("AWS::Route53::HealthCheck"):
        name = check.prop("HealthCheckConfig", "AlarmIdentifier", "Name")
        if isinstance(name, str):
            consumers.setdefault(name, f"Route 53 health check {check.logical_id}")
    return consumers


def _shown(value: Any) -> Any:
    if isinstance(value, Unresolved):
        return str(value)
    return list(value) if isinstance(value, tuple) else value


RULE = Rule(META, check)
