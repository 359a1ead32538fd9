"""One setting as the auditor saw it: live when collected, else the resolved template; and drift.

A rule with an L side reads the service API's description (``resource.live``) when it is
there and judges that, because it is what is deployed; the template value is kept beside it
so that a disagreement is reported as drift. Both values are normalised by the rule first
(e.g. the API's ``"ENABLED"`` and the template's ``true`` both become ``True``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from stack_auditor.model import Resource, Unresolved, Verdict, thaw
from stack_auditor.rule import RuleMeta

NOT_READ: Any = object()  # the live side did not report the setting


@dataclass(frozen=True, slots=True)
class Observed:
    value: Any  # what is judged
    source: str  # "live" or "resolved"
    template: Any  # the resolved template's value (normalised)
    drift: bool  # live read and different from the template

    def evidence(self, **extra: Any) -> dict[str, Any]:
        found: dict[str, Any] = {"source": self.source, "value": thaw(self.value)}
        if self.drift:
            found["template"] = thaw(self.template)
        found.update(extra)
        return found

    def drift_note(self) -> str:
        if not self.drift:
            return ""
        return (
            f" The deployed value differs from the template ({thaw(self.template)!r}): the "
            "resource was changed outside CloudFormation (drift)."
        )


def observe(template: Any, live: Any = NOT_READ) -> Observed:
    if live is NOT_READ:
        return Observed(template, "resolved", template, False)
    return Observed(live, "live", template, live != template)


def judge(meta: RuleMeta, subject: Resource, seen: Observed, path: str, problem: str) -> Verdict:
    """The verdict on one observed setting that must hold: UNKNOWN when it cannot be resolved,
    PASS when it holds (truthy), else FAIL. ``problem`` continues "<resource> <path> ..."
    with what is wrong, why it matters and the fix; a drift note is added when live and
    template disagree."""
    where = f"{subject.logical_id} ({subject.type}) {path}"
    if isinstance(seen.value, Unresolved):
        return meta.unknown(
            subject,
            f"{where} cannot be resolved ({seen.value}).",
            path=path,
            evidence=seen.evidence(),
        )
    if seen.value:
        return meta.passed(subject, path=path, evidence=seen.evidence())
    return meta.failed(
        subject, f"{where} {problem}{seen.drift_note()}", path=path, evidence=seen.evidence()
    )


def as_bool(value: Any) -> Any:
    """A template boolean (``true``, ``"true"``, ``"False"``) as bool; None and others as-is."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    return value
