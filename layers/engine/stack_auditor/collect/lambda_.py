"""Lambda live state: each function's configuration, and where its failed async events go.

Per ``AWS::Lambda::Function`` of the stack (physical id = function name):

- ``GetFunctionConfiguration``: its keys are ``live`` (``Runtime``, ``TracingConfig``,
  ``DeadLetterConfig``, ``Timeout``, ``PackageType``, ...), the shape the Lambda rules read.
  Keys the API leaves out when unset but rules read are recorded as None, so "read, and
  unset" differs from "not read". Not ``GetFunction``: it returns the same configuration plus
  a presigned URL of the code package, and its IAM action lets the auditor download every
  function's code, which no rule reads (lambda-trivial-code judges inline code only).
- ``ListFunctionEventInvokeConfigs``, only for the functions the stack invokes asynchronously
  (lambda-async-no-dlq judges no other): ``live["EventInvokeConfigs"]``, every qualifier's
  config, empty when none is configured. Listing rather than ``GetFunctionEventInvokeConfig``
  costs the same one call and also sees configs on an alias or version (SAM puts them on the
  ``AutoPublishAlias``), and its ResourceNotFoundException can only mean the function is gone.

Environment values are kept only where a rule reads them: variables whose name looks like a
secret (lambda-env-plaintext-secret judges the value's kind, never shows it) and values naming
a resource of the stack (lambda-env-resource-without-permission); any other value is None.

Event source mappings are not read: no rule judges a mapping's live state.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from stack_auditor.collect.live import Collector, LiveContext, Task, each
from stack_auditor.model import Resource, StackSnapshot
from stack_auditor.rules._graph import FUNCTION, async_invokers
from stack_auditor.rules.lambda_.env_plaintext_secret import looks_secret

GET_CONFIGURATION = "lambda:GetFunctionConfiguration"
LIST_INVOKE_CONFIGS = "lambda:ListFunctionEventInvokeConfigs"

# Configuration keys the API omits when unset that the rules read (directly or through
# ``_permissions.setting`` and ``_graph.live_value``). Not LoggingConfig: Lambda always
# returns it (with the default group), so when it is missing it was not reported, and the
# rules should fall back to the template rather than assume /aws/lambda/<name>.
_READ_WHEN_UNSET = (
    "Runtime",
    "Handler",
    "Environment",
    "DeadLetterConfig",
    "TracingConfig",
    "VpcConfig",
)


def _plan(context: LiveContext, functions: Sequence[Resource]) -> Iterable[Task]:
    client = context.client("lambda")
    snapshot = context.snapshot

    def read_configuration(function: Resource) -> None:
        response = client.get_function_configuration(FunctionName=function.physical_id)
        context.put(function.logical_id, configuration(response, snapshot))

    def read_invoke_configs(function: Resource) -> None:
        pages = client.get_paginator("list_function_event_invoke_configs").paginate(
            FunctionName=function.physical_id
        )
        configs = [c for page in pages for c in page.get("FunctionEventInvokeConfigs") or ()]
        context.put(function.logical_id, {"EventInvokeConfigs": configs})

    invoked_async = async_invokers(snapshot) if snapshot is not None else None
    yield from each(functions, GET_CONFIGURATION, read_configuration)
    yield from each(
        [f for f in functions if invoked_async is None or f.logical_id in invoked_async],
        LIST_INVOKE_CONFIGS,
        read_invoke_configs,
    )


def configuration(found: Mapping[str, Any], snapshot: StackSnapshot | None) -> dict[str, Any]:
    """The live description from GetFunctionConfiguration's answer."""
    live: dict[str, Any] = {key: None for key in _READ_WHEN_UNSET}
    live.update((key, value) for key, value in found.items() if key != "ResponseMetadata")
    environment = found.get("Environment")
    if isinstance(environment, Mapping) and "Variables" not in environment:
        # the variables could not be decrypted (Environment.Error): they were not read, so
        # the rules fall back to the template rather than judge an empty environment
        del live["Environment"]
    elif isinstance(environment, Mapping):
        live["Environment"] = {"Variables": _read_variables(environment["Variables"], snapshot)}
    return live


def _read_variables(
    variables: Mapping[str, str], snapshot: StackSnapshot | None
) -> dict[str, str | None]:
    """The variables, with the values no rule reads replaced by None."""
    return {
        name: value
        if looks_secret(name) or (snapshot is not None and snapshot.owner_of(value) is not None)
        else None
        for name, value in variables.items()
    }


COLLECTOR = Collector(
    service="lambda",
    types=(FUNCTION,),
    actions=(GET_CONFIGURATION, LIST_INVOKE_CONFIGS),
    plan=_plan,
    reads="Configuration, EventInvokeConfigs (asynchronously invoked functions)",
)
