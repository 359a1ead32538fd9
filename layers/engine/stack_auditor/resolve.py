"""Resolve intrinsic functions of a processed template against one stack's values.

Why our own resolver: cloud-radar's renderer and cfn-lint's condition/intrinsic code are not
runtime dependencies (the Lambda layer ships without them), and neither has the behaviour we
need: cloud-radar's ``functions.get_att`` returns the placeholder text "Res.Attr" and its
ImportValue/FindInMap/malformed cases raise, cfn-lint reasons about *all* condition scenarios
rather than one stack's values, and neither knows physical ids or ARN formats. Ours never guesses:
anything it cannot compute becomes ``model.Unresolved`` in place of the value, and a string
built from an Unresolved part (Fn::Sub, Fn::Join) is Unresolved as a whole.

Resource identifiers (what Ref/GetAtt return) need the resource's resolved name property,
which may reference other resources; they are computed lazily with memoisation, and a
reference cycle yields Unresolved instead of infinite recursion.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from stack_auditor.model import Unresolved
from stack_auditor.resolve_attributes import IdContext, attributes_for
from stack_auditor.resolve_functions import HANDLERS, NO_VALUE, as_text

__all__ = ["NO_VALUE", "Resolver", "StackContext", "partition_of", "url_suffix_of"]


def partition_of(region: str) -> str:
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    if region.startswith("us-iso-"):
        return "aws-iso"
    if region.startswith("us-isob-"):
        return "aws-iso-b"
    return "aws"


def url_suffix_of(region: str) -> str:
    return "amazonaws.com.cn" if region.startswith("cn-") else "amazonaws.com"


@dataclass(frozen=True, slots=True)
class StackContext:
    stack_name: str
    account: str
    region: str
    stack_id: str | None = None
    synthetic_azs: bool = True  # scan: Fn::GetAZs -> region + a..c; live: Unresolved
    notification_arns: tuple[str, ...] | None = None


class Resolver:
    """Resolves values of one template for one stack; memoises conditions and identifiers."""

    def __init__(
        self,
        template: Mapping[str, Any],
        context: StackContext,
        parameters: Mapping[str, Any],
        physical_ids: Mapping[str, str],
    ) -> None:
        self.context = context
        self.partition = partition_of(context.region)
        self.url_suffix = url_suffix_of(context.region)
        self.parameters = parameters  # effective values: str, tuple[str, ...] or Unresolved
        self.physical_ids = physical_ids
        resources = template.get("Resources")
        self.resources: Mapping[str, Any] = resources if isinstance(resources, Mapping) else {}
        mappings = template.get("Mappings")
        self.mappings: Mapping[str, Any] = mappings if isinstance(mappings, Mapping) else {}
        conditions = template.get("Conditions")
        self.condition_defs: Mapping[str, Any] = (
            conditions if isinstance(conditions, Mapping) else {}
        )
        self._conditions: dict[str, bool | Unresolved] = {}
        self._conditions_busy: set[str] = set()
        self._attributes: dict[str, tuple[dict[str, Any], bool]] = {}
        self._properties: dict[str, Any] = {}
        self._busy: set[str] = set()

    # --- pseudo parameters -------------------------------------------------------------
    def pseudo(self, name: str) -> Any:
        ctx = self.context
        if name == "AWS::NoValue":
            return NO_VALUE
        if name == "AWS::AccountId":
            return ctx.account
        if name == "AWS::Region":
            return ctx.region
        if name == "AWS::StackName":
            return ctx.stack_name
        if name == "AWS::StackId":
            return ctx.stack_id or (
                f"arn:{self.partition}:cloudformation:{ctx.region}:{ctx.account}:stack/"
                f"{ctx.stack_name}/00000000-0000-0000-0000-000000000000"
            )
        if name == "AWS::Partition":
            return self.partition
        if name == "AWS::URLSuffix":
            return self.url_suffix
        if name == "AWS::NotificationARNs":
            if ctx.notification_arns is None:
                return Unresolved("stack notification ARNs are unknown", {"Ref": name})
            return ctx.notification_arns
        return Unresolved(f"unknown pseudo parameter {name}", {"Ref": name})

    # --- conditions --------------------------------------------------------------------
    def condition(self, name: Any) -> bool | Unresolved:
        if not isinstance(name, str) or name not in self.condition_defs:
            return Unresolved(f"unknown condition {name!r}", {"Condition": name})
        if name in self._conditions:
            return self._conditions[name]
        if name in self._conditions_busy:
            return Unresolved(f"condition {name} refers to itself", {"Condition": name})
        self._conditions_busy.add(name)
        try:
            result = self.condition_value(self.condition_defs[name])
        finally:
            self._conditions_busy.discard(name)
        self._conditions[name] = result
        return result

    def condition_value(self, expr: Any) -> bool | Unresolved:
        # {"Condition": name} is only an intrinsic inside condition functions; elsewhere it
        # is an ordinary key (an IAM statement's Condition block)
        if isinstance(expr, Mapping) and len(expr) == 1 and "Condition" in expr:
            return self.condition(expr["Condition"])
        value = self.resolve(expr)
        if isinstance(value, (bool, Unresolved)):
            return value
        if value in ("true", "false"):
            return value == "true"
        return Unresolved("condition does not evaluate to a boolean", expr)

    def all_conditions(self) -> dict[str, bool | Unresolved]:
        return {name: self.condition(name) for name in self.condition_defs}

    # --- resources ---------------------------------------------------------------------
    def is_active(self, logical_id: str) -> bool | Unresolved:
        body = self.resources.get(logical_id)
        if not isinstance(body, Mapping) or "Condition" not in body:
            return True
        return self.condition(body["Condition"])

    def properties(self, logical_id: str) -> Any:
        """Resolved Properties of a resource (memoised); Unresolved on a reference cycle."""
        if logical_id in self._properties:
            return self._properties[logical_id]
        if logical_id in self._busy:
            return Unresolved(f"reference cycle through {logical_id}", {"Ref": logical_id})
        body = self.resources.get(logical_id)
        raw = body.get("Properties", {}) if isinstance(body, Mapping) else {}
        self._busy.add(logical_id)
        try:
            value = self.resolve(raw)
        finally:
            self._busy.discard(logical_id)
        if value is NO_VALUE or value is None:
            value = {}
        self._properties[logical_id] = value
        return value

    def attributes(self, logical_id: str) -> tuple[dict[str, Any], bool]:
        if logical_id in self._attributes:
            return self._attributes[logical_id]
        body = self.resources.get(logical_id)
        rtype = body.get("Type") if isinstance(body, Mapping) else None
        props = self.properties(logical_id)
        if isinstance(props, Unresolved):
            # a cycle: only the physical id (if any) names the resource
            physical = self.physical_ids.get(logical_id)
            return ({"Ref": physical} if physical else {"Ref": props}), False
        ctx = IdContext(
            logical_id=logical_id,
            type=rtype if isinstance(rtype, str) else "",
            properties=props if isinstance(props, Mapping) else {},
            physical_id=self.physical_ids.get(logical_id),
            stack_name=self.context.stack_name,
            account=self.context.account,
            region=self.context.region,
            partition=self.partition,
            url_suffix=self.url_suffix,
        )
        result = attributes_for(ctx)
        self._attributes[logical_id] = result
        return result

    # --- generic walk ------------------------------------------------------------------
    def resolve(self, value: Any) -> Any:
        if isinstance(value, Mapping):
            if len(value) == 1:
                ((key, arg),) = value.items()
                if key == "Ref":
                    return self.ref(arg, value)
                if isinstance(key, str) and key.startswith("Fn::"):
                    handler = HANDLERS.get(key)
                    if handler is not None:
                        return handler(self, arg, value)
                    return Unresolved(f"{key} is not supported here", value)
            result: dict[Any, Any] = {}
            for key, item in value.items():
                resolved = self.resolve(item)
                if resolved is not NO_VALUE:
                    result[key] = resolved
            return result
        if isinstance(value, (list, tuple)):
            return [r for r in (self.resolve(v) for v in value) if r is not NO_VALUE]
        return value

    def ref(self, name: Any, expr: Any) -> Any:
        if not isinstance(name, str):
            return Unresolved("Ref to a computed name", expr)
        if name.startswith("AWS::"):
            return self.pseudo(name)
        if name in self.parameters:
            return self.parameters[name]
        if name in self.resources:
            return self.resource_attribute(name, "Ref", expr)
        return Unresolved(f"Ref to unknown name {name}", expr)

    def resource_attribute(self, logical_id: str, attribute: str, expr: Any) -> Any:
        active = self.is_active(logical_id)
        if active is False:
            return Unresolved(f"{logical_id} is not created (its condition is false)", expr)
        if logical_id in self._busy:
            # its properties are being resolved: this is a reference cycle
            physical = self.physical_ids.get(logical_id)
            if attribute == "Ref" and physical:
                return physical
            return Unresolved(f"reference cycle through {logical_id}", expr)
        attrs, _ = self.attributes(logical_id)
        if attribute in attrs:
            return attrs[attribute]
        rtype = self.resources[logical_id].get("Type")
        return Unresolved(f"attribute {attribute} of {logical_id} ({rtype}) is not known", expr)

    def resolve_text(self, value: Any, expr: Any) -> str | Unresolved:
        resolved = self.resolve(value)
        if isinstance(resolved, Unresolved):
            return resolved
        text = as_text(resolved)
        if text is None:
            return Unresolved("expected a string", expr)
        return text

    def resolve_list(self, value: Any, expr: Any) -> list[Any] | Unresolved:
        resolved = self.resolve(value)
        if isinstance(resolved, Unresolved):
            return resolved
        if isinstance(resolved, (list, tuple)):
            return list(resolved)
        return Unresolved("expected a list", expr)
