"""Build the immutable StackSnapshot from a template and one stack's values.

Both entry points end here: ``snapshot_from_file`` (scan: a local file, no AWS at all) and
``collect.cloudformation.snapshot_from_stack`` (a deployed stack). Transforms are expanded
locally when no processed template is given; intrinsics are resolved by ``resolve``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any

from stack_auditor.model import EMPTY, Gap, Resource, StackRef, StackSnapshot, Unresolved, freeze
from stack_auditor.resolve import NO_VALUE, Resolver, StackContext, partition_of
from stack_auditor.template.loader import load_template_file
from stack_auditor.template.sam import expand_transforms, source_ids, transform_names

MASKED = "****"  # how DescribeStacks shows NoEcho parameter values
_SSM_TYPE_PREFIX = "AWS::SSM::Parameter::Value<"


def _is_true(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.lower() == "true")


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ",".join(_text(v) for v in value)
    return str(value)


def no_echo_names(template: Mapping[str, Any]) -> frozenset[str]:
    """Names of the template's parameters declared ``NoEcho: true``."""
    declared = template.get("Parameters")
    if not isinstance(declared, Mapping):
        return frozenset()
    return frozenset(
        name
        for name, decl in declared.items()
        if isinstance(decl, Mapping) and _is_true(decl.get("NoEcho"))
    )


def effective_parameters(
    template: Mapping[str, Any],
    given: Mapping[str, str],
    no_echo: frozenset[str] = frozenset(),
    resolved_ssm: frozenset[str] = frozenset(),
) -> dict[str, Any]:
    """Parameter name -> value the stack uses: str, tuple of str for lists, or Unresolved."""
    declared = template.get("Parameters")
    if not isinstance(declared, Mapping):
        return {}
    values: dict[str, Any] = {}
    for name, decl in declared.items():
        decl = decl if isinstance(decl, Mapping) else {}
        ptype = str(decl.get("Type", "String"))
        expr = {"Ref": name}
        value: Any
        if name in given:
            value = _text(given[name])
        elif "Default" in decl:
            value = _text(decl["Default"])
        else:
            values[name] = Unresolved(f"parameter {name} has no value", expr)
            continue
        if value == MASKED and (name in no_echo or _is_true(decl.get("NoEcho"))):
            values[name] = Unresolved(f"NoEcho parameter {name} is masked", expr)
            continue
        if ptype.startswith(_SSM_TYPE_PREFIX) and name not in resolved_ssm:
            values[name] = Unresolved(f"parameter {name} is read from SSM ({value})", expr)
            continue
        if "List<" in ptype or ptype == "CommaDelimitedList":
            values[name] = tuple(value.split(",")) if value else ()
        else:
            values[name] = value
    return values


def _depends_on(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list):
        return tuple(str(v) for v in value)
    return ()


def _policy(resolver: Resolver, value: Any) -> str | None:
    if value is None:
        return None
    resolved = resolver.resolve(value)  # LanguageExtensions allows intrinsics here
    return resolved if isinstance(resolved, str) else None


# Attributes that identify a resource. Others (CidrBlock, AvailabilityZone, Endpoint.Port)
# are values many resources share, and must not make a string "belong" to one of them.
_IDENTIFIER_SUFFIXES = ("Arn", "Name", "Id", "Url", "URL", "Address")


def _is_identifier_attribute(name: str) -> bool:
    return name == "Ref" or name.endswith(_IDENTIFIER_SUFFIXES)


def _index_identifiers(resources: Mapping[str, Resource]) -> dict[str, tuple[str, ...]]:
    index: dict[str, list[str]] = {}
    for logical_id, res in resources.items():
        candidates = [res.physical_id]
        candidates += [v for k, v in res.attributes.items() if _is_identifier_attribute(k)]
        for value in candidates:
            if isinstance(value, str) and value:
                owners = index.setdefault(value, [])
                if logical_id not in owners:
                    owners.append(logical_id)
    return {value: tuple(owners) for value, owners in index.items()}


def build_snapshot(
    ref: StackRef,
    original: Mapping[str, Any],
    processed: Mapping[str, Any] | None = None,
    *,
    parameters: Mapping[str, str] = EMPTY,
    tags: Mapping[str, str] = EMPTY,
    physical_ids: Mapping[str, str] = EMPTY,
    lines: Mapping[str, int] = EMPTY,
    source_file: str | None = None,
    last_updated: str | None = None,
    no_echo: frozenset[str] = frozenset(),
    gaps: Iterable[Gap] = (),
    live_read: bool = False,
    resolved_ssm: frozenset[str] = frozenset(),
    notification_arns: tuple[str, ...] | None = None,
) -> StackSnapshot:
    """Resolve ``processed`` (expanded locally from ``original`` when None) into a snapshot.

    ``resolved_ssm`` names SSM-typed parameters whose given value is already the resolved one
    (DescribeStacks' ResolvedValue); other SSM-typed parameters stay Unresolved.
    """
    all_gaps = list(gaps)
    no_echo = no_echo | no_echo_names(original)
    partition = partition_of(ref.region)
    values = effective_parameters(original, parameters, no_echo, resolved_ssm)
    if processed is None:
        processed, transform_gaps = expand_transforms(
            original,
            parameters=values,
            account=ref.account,
            region=ref.region,
            stack_name=ref.stack_name,
            partition=partition,
        )
        all_gaps.extend(transform_gaps)
    # a processed template may declare parameters the original does not (macros add some)
    for name, value in effective_parameters(processed, parameters, no_echo, resolved_ssm).items():
        values.setdefault(name, value)

    resolver = Resolver(
        processed,
        StackContext(
            stack_name=ref.stack_name,
            account=ref.account,
            region=ref.region,
            stack_id=ref.stack_id,
            synthetic_azs=ref.trigger == "scan",  # live: the account's AZs are not read
            notification_arns=notification_arns,
        ),
        values,
        physical_ids,
    )
    conditions = resolver.all_conditions()
    origins = source_ids(original, processed)

    resources: dict[str, Resource] = {}
    for logical_id, body in resolver.resources.items():
        if not isinstance(body, Mapping) or resolver.is_active(logical_id) is False:
            continue
        properties = resolver.properties(logical_id)
        if isinstance(properties, Unresolved) or not isinstance(properties, Mapping):
            properties = {}
        attributes, synthetic = resolver.attributes(logical_id)
        source = origins.get(logical_id)
        condition = body.get("Condition")
        metadata = body.get("Metadata")
        written = body.get("Properties")  # a mapping, unless the template is wrong
        resources[logical_id] = Resource(
            logical_id=logical_id,
            type=str(body.get("Type", "")),
            properties=freeze(properties),
            raw_properties=freeze(written) if isinstance(written, Mapping) else EMPTY,
            metadata=freeze(metadata) if isinstance(metadata, Mapping) else EMPTY,
            deletion_policy=_policy(resolver, body.get("DeletionPolicy")),
            update_replace_policy=_policy(resolver, body.get("UpdateReplacePolicy")),
            condition=condition if isinstance(condition, str) else None,
            depends_on=_depends_on(body.get("DependsOn")),
            physical_id=physical_ids.get(logical_id),
            attributes=freeze(attributes),
            synthetic_ids=synthetic,
            line=lines.get(logical_id) or (lines.get(source) if source else None),
            source_logical_id=source,
        )

    outputs: dict[str, Any] = {}
    declared_outputs = processed.get("Outputs")
    if isinstance(declared_outputs, Mapping):
        for name, output in declared_outputs.items():
            if not isinstance(output, Mapping):
                continue
            condition = output.get("Condition")
            if condition is not None and resolver.condition(condition) is False:
                continue
            value = resolver.resolve(output.get("Value"))
            outputs[str(name)] = None if value is NO_VALUE else value

    return StackSnapshot(
        ref=ref,
        template=freeze(original),
        processed=freeze(processed),
        resources=MappingProxyType(resources),
        parameters=MappingProxyType(values),
        no_echo=no_echo,
        tags=MappingProxyType(dict(tags)),
        conditions=MappingProxyType(conditions),
        outputs=freeze(outputs),
        gaps=tuple(all_gaps),
        source_file=source_file,
        transforms=transform_names(original),
        last_updated=last_updated,
        live_read=live_read,
        identifiers=MappingProxyType(_index_identifiers(resources)),
    )


def snapshot_from_file(
    path: str | Path,
    *,
    parameters: Mapping[str, str] = EMPTY,
    tags: Mapping[str, str] = EMPTY,
    account: str = "123456789012",
    region: str = "us-east-1",
    stack_name: str | None = None,
) -> StackSnapshot:
    """Scan entry point: a snapshot of a local template, no AWS. Raises TemplateError."""
    path = Path(path)
    loaded = load_template_file(path)
    ref = StackRef(
        stack_name=stack_name or path.stem,
        account=account,
        region=region,
        trigger="scan",
    )
    return build_snapshot(
        ref,
        loaded.data,
        None,
        parameters=parameters,
        tags=tags,
        lines=loaded.lines,
        source_file=str(path),
        gaps=unknown_tag_gaps(loaded.unknown_tags),
    )


def unknown_tag_gaps(unknown_tags: Mapping[str, int]) -> list[Gap]:
    """One gap per YAML tag that a packaging tool (rain) expands before deployment."""
    return [
        Gap(
            scope="stack",
            what="Transform",
            reason="unknown YAML tag",
            detail=f"YAML tag {tag} at line {line}",
        )
        for tag, line in sorted(unknown_tags.items())
    ]
