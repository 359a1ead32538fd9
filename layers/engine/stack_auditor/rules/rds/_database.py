"""What the RDS rules share: reading a setting (live when collected, else resolved, with drift),
booleans as CloudFormation writes them, and the cluster an Aurora instance belongs to.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from stack_auditor.model import Resource, StackSnapshot, Unresolved

INSTANCE = "AWS::RDS::DBInstance"
CLUSTER = "AWS::RDS::DBCluster"

_MISSING = object()


@dataclass(frozen=True, slots=True)
class Setting:
    """One setting's effective value and where it came from."""

    value: Any  # None when not set
    source: str  # "live" or "resolved"
    template_value: Any = None  # the template's value when live differs from it (drift)
    drift: bool = False

    def evidence(self, **extra: Any) -> dict[str, Any]:
        found: dict[str, Any] = {"source": self.source, "value": _shown(self.value), **extra}
        if self.drift:
            found["template_value"] = _shown(self.template_value)
            found["drift"] = True
        return found

    def drift_note(self) -> str:
        if not self.drift:
            return ""
        return (
            f" The deployed value ({_shown(self.value)!r}) differs from the template's "
            f"({_shown(self.template_value)!r}): drift."
        )


def _shown(value: Any) -> Any:
    return str(value) if isinstance(value, Unresolved) else value


def read_setting(resource: Resource, template_key: str, live_key: str | None = None) -> Setting:
    """``Properties.<template_key>`` of the template, or the live description's ``live_key``."""
    template_value = resource.prop(template_key)
    live_key = live_key or template_key
    live_value = resource.live.get(live_key, _MISSING) if resource.live is not None else _MISSING
    if live_value is _MISSING:
        return Setting(template_value, "resolved")
    drift = _normal(live_value) != _normal(template_value) and template_value is not None
    return Setting(live_value, "live", template_value if drift else None, drift)


def _normal(value: Any) -> Any:
    flag = as_bool(value)
    return flag if isinstance(flag, bool) else value


def as_bool(value: Any) -> bool | Unresolved | None:
    """True/False from a boolean or "true"/"false" text; None when unset; else Unresolved."""
    if value is None or isinstance(value, bool | Unresolved):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    return Unresolved(f"not a boolean: {value!r}")


def is_aurora(engine: Any) -> bool:
    return isinstance(engine, str) and engine.lower().startswith("aurora")


def cluster_of(snapshot: StackSnapshot, instance: Resource) -> Resource | Unresolved | None:
    """The DBCluster an instance belongs to (DBClusterIdentifier); None when it is standalone.

    Unresolved when the instance names a cluster that is not a resource of this stack (or the
    name cannot be resolved): its settings cannot be read.
    """
    identifier = instance.prop("DBClusterIdentifier")
    if identifier is None:
        return None
    target = ref_target(snapshot, instance, "DBClusterIdentifier")
    if target is not None and target.type == CLUSTER:
        return target
    owner = snapshot.owner_of(identifier, CLUSTER)
    if owner is not None:
        return owner
    for cluster in snapshot.of_type(CLUSTER):
        name = cluster.prop("DBClusterIdentifier")
        if (
            isinstance(name, str)
            and isinstance(identifier, str)
            and name.lower() == identifier.lower()
        ):
            return cluster
    if isinstance(identifier, Unresolved):
        return identifier
    return Unresolved(f"cluster {identifier!r} is not a resource of this stack")


def ref_target(snapshot: StackSnapshot, resource: Resource, name: str) -> Resource | None:
    """The stack resource ``Properties.<name>`` refers to with ``Ref``, as written."""
    raw = resource.raw_properties.get(name)
    target = raw.get("Ref") if isinstance(raw, Mapping) else None
    return snapshot.resources.get(target) if isinstance(target, str) else None


def where(resource: Resource) -> str:
    return f"{resource.logical_id} ({resource.type})"
