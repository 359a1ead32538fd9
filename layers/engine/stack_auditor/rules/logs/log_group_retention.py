"""log-group-retention: a log group keeps its events forever, or not as long as policy says.

A log group without ``RetentionInDays`` never expires its events: storage cost grows without
bound and data is kept longer than any retention policy allows. With
``required_log_retention_days`` configured, mode ``minimum`` (default) fails a shorter
retention and mode ``exact`` any different one. Live side: ``DescribeLogGroups``'
``retentionInDays`` (absent = never expire) wins, and a difference from the template is
reported as drift.

Also the index of the stack's log groups by resolved name, for lambda-log-retention-unset.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from stack_auditor.config import AuditConfig
from stack_auditor.model import Resource, Severity, Side, StackSnapshot, Unresolved, Verdict
from stack_auditor.rule import Rule, RuleMeta
from stack_auditor.rules._live_gap import live_gap
from stack_auditor.rules._snapshot_cache import per_snapshot

META = RuleMeta(
    id="log-group-retention",
    title="Log groups expire their events after the required retention",
    severity=Severity.MEDIUM,
    family="Observability",
    subject_types=("AWS::Logs::LogGroup",),
    sides=frozenset({Side.RESOLVED, Side.LIVE}),
    risk=(
        "Events are kept forever: CloudWatch Logs storage cost grows without bound and logs "
        "outlive the data-retention policy."
    ),
    remediation=(
        "Set RetentionInDays on the AWS::Logs::LogGroup (e.g. RetentionInDays: 30, or the "
        "value your policy requires)."
    ),
    seeds=("003 #3", "001 #5", "002"),
    reference="https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/Working-with-log-groups-and-streams.html#SettingLogRetention",
)

_PATH = "Properties.RetentionInDays"
LOG_GROUP = "AWS::Logs::LogGroup"


@dataclass(frozen=True, slots=True)
class Retention:
    days: int | Unresolved | None  # None: never expires
    source: str  # "live" or "resolved"
    template_days: Any = None  # the template's value (None: not set)
    drift: bool = False  # live read and different from the template


def described(group: Resource) -> bool:
    """True when the group's ``DescribeLogGroups`` entry was read (other collectors, such as
    tagging, may fill ``live`` with other keys)."""
    return group.live is not None and "logGroupName" in group.live


def retention_of(group: Resource) -> Retention:
    """The group's retention: live when collected, else from the resolved template."""
    template = _days(group.prop("RetentionInDays"))
    if group.live is None or not described(group):
        return Retention(template, "resolved")
    live = _days(group.live.get("retentionInDays"))
    return Retention(live, "live", template, template != live)


def _days(value: Any) -> int | Unresolved | None:
    if value is None or isinstance(value, Unresolved):
        return value
    if isinstance(value, bool):
        return Unresolved(f"RetentionInDays is not a number: {value!r}")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return Unresolved(f"RetentionInDays is not a number: {value!r}")


@dataclass(frozen=True, slots=True)
class LogGroupIndex:
    by_name: Mapping[str, Resource]  # resolved LogGroupName -> log group
    unresolved: tuple[tuple[str, str], ...]  # (logical id, why its name is unknown)


@per_snapshot
def log_groups_by_name(snapshot: StackSnapshot) -> LogGroupIndex:
    by_name: dict[str, Resource] = {}
    unresolved: list[tuple[str, str]] = []
    for group in snapshot.of_type(LOG_GROUP):
        name = group.prop("LogGroupName")
        if name is None:
            continue  # CloudFormation names it "<stack>-<id>-<suffix>": no function's group
        if isinstance(name, str):
            by_name.setdefault(name, group)
        else:
            unresolved.append((group.logical_id, str(name)))
    return LogGroupIndex(by_name, tuple(unresolved))


def check(snapshot: StackSnapshot, config: AuditConfig) -> Iterable[Verdict]:
    required = config.required_log_retention_days
    exact = config.log_retention_mode == "exact"
    for group in snapshot.of_type(LOG_GROUP):
        retention = retention_of(group)
        where = f"{group.logical_id} ({LOG_GROUP}) {_PATH}"
        evidence: dict[str, Any] = {"source": retention.source, "days": _shown(retention.days)}
        if required is not None:
            evidence["required"] = required
            evidence["mode"] = config.log_retention_mode
        drift = ""
        if retention.drift:
            evidence["template_days"] = _shown(retention.template_days)
            written = retention.template_days
            drift = (
                f" (drift: the template says {_shown(written)})"
                if written is not None
                else " (drift: the template sets none)"
            )
        days = retention.days
        gap = None if described(group) else live_gap(snapshot, group, "logs")
        if gap is not None:
            yield META.unknown(
                group,
                f"{where}: the deployed group could not be read ({gap.what}: {gap.reason}); "
                "the template alone cannot show its retention.",
                path=_PATH,
                evidence={**evidence, "gap": f"{gap.what}: {gap.reason}"},
            )
        elif isinstance(days, Unresolved):
            yield META.unknown(
                group, f"{where} cannot be resolved ({days}).", path=_PATH, evidence=evidence
            )
        elif days is None:
            yield META.failed(
                group,
                f"{where} is not set{_deployed(retention)}{drift}: the group's events never "
                "expire, so storage cost grows without bound.",
                path=_PATH,
                evidence=evidence,
            )
        elif required is not None and (days != required if exact else days < required):
            wanted = f"exactly {required}" if exact else f"at least {required}"
            yield META.failed(
                group,
                f"{where} is {days} days{_deployed(retention)}{drift}; the audit policy "
                f"requires {wanted} days "
                "(required_log_retention_days).",
                path=_PATH,
                evidence=evidence,
            )
        else:
            yield META.passed(group, path=_PATH, evidence=evidence)


def _deployed(retention: Retention) -> str:
    return " on the deployed group (live)" if retention.source == "live" else ""


def _shown(value: Any) -> Any:
    return str(value) if isinstance(value, Unresolved) else value


RULE = Rule(META, check)
