"""lambda-env-plaintext-secret: a secret-looking environment variable holds a plaintext value.

Anyone with ``lambda:GetFunctionConfiguration`` (or read access to the template) reads
function environment variables, so a password, token or key placed there literally is exposed.

Names: split into word parts (``_``, ``-``, ``.``, camelCase); a name looks secret when a part
is PASSWORD, PASSWD, PASSPHRASE, SECRET, TOKEN, CREDENTIAL(S), CREDS, APIKEY, or a pair
API/ACCESS/PRIVATE/SECRET/SIGNING/ENCRYPTION/AUTH + KEY, case-insensitive. A name whose last
part says the value is a pointer or a setting (``SECRET_ARN``, ``PASSWORD_SECRET_ARN``,
``SECRET_NAME``, ``TOKEN_TABLE``, ``TOKEN_TTL``, ``ACCESS_KEY_ID``, ...) does not look secret.

Values that are not plaintext secrets: a dynamic reference (``{{resolve:...}}``, as the catalog
says), an ARN, an SSM parameter path (``/app/db/password``), the name/ARN of a stack resource
(``Ref``/``GetAtt`` to a ``AWS::SecretsManager::Secret`` or ``AWS::SSM::Parameter``), an
empty string, ``true``/``false``.

A ``Ref`` (or ``${}``) to a ``NoEcho`` parameter is not a literal in the template, but
CloudFormation writes the parameter's value into the function configuration in plaintext,
where NoEcho no longer hides it: that is a FAIL with its own message ("passes a NoEcho
parameter into plaintext environment"); the fix is the same (pass the secret's ARN and read
it at runtime). Dynamic references also end up resolved in the configuration, but the catalog
accepts them: the template and the stack's parameters hold no secret then.

The value is never copied into a verdict (message, path or evidence): only the variable's
name and the kind of value. Live side: when ``resource.live`` holds ``Environment``
(GetFunctionConfiguration), the deployed variables are what is judged; one the template does
not have, or whose deployed value differs from the template's, is reported as drift (the
template as written then says nothing about it: no NoEcho or resource-reference reading).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import replace
from typing import Any

from stack_auditor.config import AuditConfig
from stack_auditor.model import (
    Resource,
    Severity,
    Side,
    StackSnapshot,
    Unresolved,
    Verdict,
    contains_unresolved,
)
from stack_auditor.rule import Rule, RuleMeta
from stack_auditor.rules._names import referenced_names
from stack_auditor.rules._observed import NOT_READ

META = RuleMeta(
    id="lambda-env-plaintext-secret",
    title="Function environment variables hold no plaintext secrets",
    severity=Severity.HIGH,
    family="Data protection",
    subject_types=("AWS::Lambda::Function",),
    sides=frozenset({Side.RESOLVED, Side.LIVE}),
    risk=(
        "Environment variables are readable by anyone who can view the function's "
        "configuration or the template; a secret there leaks and cannot be rotated."
    ),
    remediation=(
        "Store the secret in Secrets Manager (or SSM SecureString), pass only its ARN/name "
        "(e.g. DB_SECRET_ARN: !Ref DbSecret), grant secretsmanager:GetSecretValue on it and "
        "read it at runtime (e.g. with the Parameters and Secrets Lambda extension)."
    ),
    seeds=("000 #6",),
    reference="https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html#configuration-envvars-encryption",
)

_SECRET_PARTS = frozenset(
    {
        "PASSWORD",
        "PASSWORDS",
        "PASSWD",
        "PASSPHRASE",
        "SECRET",
        "SECRETS",
        "TOKEN",
        "TOKENS",
        "CREDENTIAL",
        "CREDENTIALS",
        "CREDS",
        "APIKEY",
    }
)
_KEY_QUALIFIERS = frozenset({"API", "ACCESS", "PRIVATE", "SECRET", "SIGNING", "ENCRYPTION", "AUTH"})
# Last name parts saying the value points at the secret or configures its use.
_POINTER_SUFFIXES = frozenset(
    {
        "ARN",
        "ARNS",
        "NAME",
        "NAMES",
        "ID",
        "IDS",
        "PATH",
        "PARAM",
        "PARAMETER",
        "PARAMS",
        "PREFIX",
        "TABLE",
        "BUCKET",
        "QUEUE",
        "TOPIC",
        "URL",
        "URI",
        "ENDPOINT",
        "HOST",
        "REGION",
        "HEADER",
        "FIELD",
        "TTL",
        "EXPIRY",
        "EXPIRATION",
        "TIMEOUT",
        "LENGTH",
        "LEN",
        "SIZE",
        "TYPE",
        "VERSION",
        "STAGE",
        "ENABLED",
        "DISABLED",
        "ROLE",
        "POLICY",
        "FUNCTION",
        "ALGORITHM",
        "ISSUER",
        "AUDIENCE",
        "FORMAT",
        "MODE",
        "LOCATION",
        "SECONDS",
        "MINUTES",
        "HOURS",
        "DAYS",
    }
)
_NAME_PARTS = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+")
_ARN = re.compile(r"^arn:[\w-]+:[\w-]+:")
_SSM_PATH = re.compile(r"^/[\w.\-/]+$")
_VARIABLES_PATH = "Properties.Environment.Variables"


def name_parts(name: str) -> tuple[str, ...]:
    """Upper-case word parts of a variable name: ``dbPassword`` -> (``DB``, ``PASSWORD``)."""
    return tuple(
        part.upper()
        for chunk in re.split(r"[^A-Za-z0-9]+", name)
        for part in _NAME_PARTS.findall(chunk)
    )


def looks_secret(name: str) -> bool:
    parts = name_parts(name)
    if not parts or parts[-1] in _POINTER_SUFFIXES:
        return False
    if any(part in _SECRET_PARTS for part in parts):
        return True
    return any(a in _KEY_QUALIFIERS and b == "KEY" for a, b in itertools.pairwise(parts))


def _not_secret_text(value: str, snapshot: StackSnapshot) -> str | None:
    """Why a resolved string is not a plaintext secret, or None when it may be one."""
    if value == "":
        return "is empty"
    if "{{resolve:" in value:
        return "is a dynamic reference"
    if _ARN.match(value):
        return "is an ARN"
    if _SSM_PATH.match(value) and "/" in value[1:]:
        return "is an SSM parameter path"
    if value.lower() in ("true", "false"):
        return "is a boolean flag"
    owner = snapshot.owner_of(value)
    if owner is not None:
        return f"names the stack resource {owner.logical_id}"
    return None


def _raw_variables(function: Resource) -> Mapping[str, Any]:
    raw = function.raw_properties.get("Environment")
    variables = raw.get("Variables") if isinstance(raw, Mapping) else None
    if isinstance(variables, Mapping) and not any(str(k).startswith("Fn::") for k in variables):
        return variables
    return {}


def _resource_reference(raw: Any, snapshot: StackSnapshot) -> str | None:
    """Logical id of the stack resource a ``Ref``/``GetAtt`` as written points at."""
    if isinstance(raw, Mapping) and len(raw) == 1:
        ((key, _arg),) = raw.items()
        if key in ("Ref", "Fn::GetAtt"):
            names = referenced_names(raw)
            target = next(iter(names), None) if len(names) == 1 else None
            return target if target in snapshot.resources else None
    return None


def check(snapshot: StackSnapshot, config: AuditConfig) -> Iterable[Verdict]:
    for function in snapshot.of_type("AWS::Lambda::Function"):
        yield from _judge(function, snapshot)


def _judge(function: Resource, snapshot: StackSnapshot) -> Iterator[Verdict]:
    where = f"{function.logical_id} (AWS::Lambda::Function)"
    variables = function.prop("Environment", "Variables")
    live_variables = _live_variables(function)
    if live_variables is NOT_READ and isinstance(variables, Unresolved):
        yield META.unknown(
            function,
            f"{where} {_VARIABLES_PATH} cannot be resolved ({variables}); cannot tell whether "
            "it holds a plaintext secret.",
            path=_VARIABLES_PATH,
            evidence={"source": "resolved"},
        )
        return
    written = variables if isinstance(variables, Mapping) else {}
    source = "resolved" if live_variables is NOT_READ else "live"
    # name -> (value judged, how it differs from the template: "" / "added" / "changed")
    judged: dict[str, tuple[Any, str]]
    if live_variables is NOT_READ:
        judged = {name: (value, "") for name, value in written.items()}
    else:
        judged = {
            name: (value, _drift(written, name, value)) for name, value in live_variables.items()
        }
    if not judged:
        yield META.not_applicable(function, f"{where} has no environment variables")
        return
    raw_variables = _raw_variables(function)
    clean = True
    for name in sorted(judged):
        if not looks_secret(str(name)):
            continue
        value, drift = judged[name]
        # the template as written says nothing about a value set outside CloudFormation
        raw = None if drift else raw_variables.get(name)
        verdict = _judge_variable(function, snapshot, str(name), value, raw, source)
        if verdict is not None:
            clean = False
            yield _as_drift(verdict, drift) if drift else verdict
    if clean:
        yield META.passed(function, path=_VARIABLES_PATH, evidence={"source": source})


def _live_variables(function: Resource) -> Any:
    """The deployed variables (name -> value); NOT_READ when the configuration was not read."""
    if function.live is None or "Environment" not in function.live:
        return NOT_READ
    environment = function.live["Environment"]
    variables = environment.get("Variables") if isinstance(environment, Mapping) else None
    return variables if isinstance(variables, Mapping) else {}


def _drift(written: Mapping[str, Any], name: str, deployed: Any) -> str:
    """How a deployed variable differs from the template: "added", "changed" or ""."""
    if name not in written:
        return "added"
    value = written[name]
    if isinstance(value, Unresolved) or contains_unresolved(value):
        return ""  # the deployed value is what the template could not resolve
    if isinstance(value, bool):
        value = str(value).lower()  # CloudFormation passes booleans and numbers as text
    return "changed" if str(value) != deployed else ""


def _judge_variable(
    function: Resource, snapshot: StackSnapshot, name: str, value: Any, raw: Any, source: str
) -> Verdict | None:
    """FAIL/UNKNOWN for one secret-looking variable, None when its value is not a secret."""
    where = f"{function.logical_id} (AWS::Lambda::Function)"
    path = f"{_VARIABLES_PATH}.{name}"
    no_echo = sorted(referenced_names(raw) & snapshot.no_echo) if raw is not None else []
    if no_echo and not (isinstance(value, str) and _not_secret_text(value, snapshot)):
        return META.failed(
            function,
            f"{where} {path} passes a NoEcho parameter into plaintext environment "
            f"({', '.join(no_echo)}): the value is stored unmasked in the function "
            "configuration, readable with lambda:GetFunctionConfiguration. Pass the ARN of a "
            "Secrets Manager secret instead and read it at runtime.",
            path=path,
            evidence={"source": source, "variable": name, "value_kind": "NoEcho parameter"},
        )
    if _resource_reference(raw, snapshot) is not None:
        return None  # a Ref/GetAtt to a stack resource gives its name or ARN, not a secret
    if isinstance(value, Unresolved) or contains_unresolved(value):
        parameters = sorted(referenced_names(raw) & set(snapshot.parameters)) if raw else []
        origin = f" (from parameter {', '.join(parameters)})" if parameters else ""
        return META.unknown(
            function,
            f"{where} {path} looks like a secret and its value{origin} cannot be resolved; "
            "cannot tell whether it is a plaintext secret or a reference to one. If it holds "
            "the secret itself, pass a Secrets Manager secret's ARN instead.",
            path=path,
            evidence={"source": source, "variable": name, "parameters": parameters},
        )
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        return None
    if isinstance(value, str) and _not_secret_text(value, snapshot) is not None:
        return None
    return META.failed(
        function,
        f"{where} {path} looks like a secret and holds a literal value: it is readable in "
        "plaintext by anyone who can view the function configuration or the template. Keep it "
        "in Secrets Manager, pass only the secret's ARN and read it at runtime.",
        path=path,
        evidence={"source": source, "variable": name, "value_kind": "literal"},
    )


def _as_drift(verdict: Verdict, drift: str) -> Verdict:
    how = (
        "set outside CloudFormation: the template has no such variable"
        if drift == "added"
        else "changed outside CloudFormation: the template's value differs"
    )
    return replace(
        verdict,
        message=f"{verdict.message} (deployed value, {how}: drift)",
        evidence={**verdict.evidence, "source": "live", "drift": True, "difference": drift},
    )


RULE = Rule(META, check)
