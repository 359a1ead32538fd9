"""Structural checks of the deployable application (template.yaml) and its self-audit.

The template is the contract with the handler (environment), the store (key design) and the
operators (alarms, outputs); these tests pin the parts a refactor must not lose. The last test
audits the template with the auditor's own rules, the way the CLI ``scan`` does: the auditor
must pass its own HIGH and CRITICAL rules.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from stack_auditor.rules._iam import supports_resource_level
from stack_auditor.template.loader import load_template_file

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = ROOT / "template.yaml"

AUDITED_STATUSES = [
    "CREATE_COMPLETE",
    "UPDATE_COMPLETE",
    "IMPORT_COMPLETE",
    "UPDATE_ROLLBACK_COMPLETE",
    "DELETE_COMPLETE",
]
REQUIRED_TAG_KEYS = {"iac-rlhf-amazon", "Environment", "Service"}
WRITE_ACTIONS = {
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    "dynamodb:BatchWriteItem",
    "dynamodb:ConditionCheckItem",
    "sns:Publish",
    "sqs:SendMessage",
}


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return load_template_file(TEMPLATE).data


@pytest.fixture(scope="module")
def resources(template: dict[str, Any]) -> dict[str, Any]:
    return template["Resources"]


def props(resources: Mapping[str, Any], logical_id: str) -> dict[str, Any]:
    return resources[logical_id].get("Properties", {})


def of_type(resources: Mapping[str, Any], type_: str) -> dict[str, Any]:
    return {k: v for k, v in resources.items() if v["Type"] == type_}


def target(value: Any) -> str | None:
    """Logical id a Ref / Fn::GetAtt / Fn::Sub("${X.Arn}...") points at."""
    if isinstance(value, Mapping):
        if "Ref" in value:
            return str(value["Ref"])
        if "Fn::GetAtt" in value:
            att = value["Fn::GetAtt"]
            return str(att[0] if isinstance(att, list) else att.split(".")[0])
        if "Fn::Sub" in value and isinstance(value["Fn::Sub"], str):
            found = re.match(r"\$\{(\w+)(\.\w+)?\}", value["Fn::Sub"])
            return found.group(1) if found else None
    return None


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def statements(document: Mapping[str, Any]) -> list[dict[str, Any]]:
    return as_list(document["Statement"])


def principals(statement: Mapping[str, Any]) -> list[Any]:
    found: list[Any] = []
    for values in statement.get("Principal", {}).values():
        found.extend(as_list(values))
    return found


def walk(node: Any) -> Iterator[Any]:
    yield node
    if isinstance(node, Mapping):
        for value in node.values():
            yield from walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from walk(value)


# ----------------------------------------------------------------------------- parameters


def test_parameters_have_descriptions_and_safe_defaults(template: dict[str, Any]) -> None:
    params = template["Parameters"]
    for name, spec in params.items():
        assert spec.get("Description"), f"parameter {name} has no Description"

    suffix = params["EnvironmentSuffix"]
    assert suffix["Default"] == "dev"
    for good in ("dev", "prod", "pr-123"):
        assert re.fullmatch(suffix["AllowedPattern"], good)
    for bad in ("", "Prod", "a b", "x" * 17):
        assert not re.fullmatch(suffix["AllowedPattern"], bad)

    # Empty defaults: the policy (bundled default: iac-rlhf-amazon, HIGH) decides unless set.
    assert params["RequiredTags"]["Type"] == "CommaDelimitedList"
    assert params["RequiredTags"]["Default"] == ""
    assert params["AlertMinSeverity"]["AllowedValues"] == [
        "",
        "CRITICAL",
        "HIGH",
        "MEDIUM",
        "LOW",
        "INFORMATIONAL",
    ]
    assert params["AlertMinSeverity"]["Default"] == ""
    policy = params["PolicyParameterName"]
    assert policy["Default"] == ""
    for good in ("", "/stack-auditor/policy", "/a/b_c.d-1"):
        assert re.fullmatch(policy["AllowedPattern"], good)
    for bad in ("policy", "/a b", "arn:aws:ssm:x"):
        assert not re.fullmatch(policy["AllowedPattern"], bad)
    assert params["AlertEmail"]["Default"] == ""
    assert str(params["LogRetentionDays"]["Default"]) == "90"


def test_alert_email_subscription_only_when_an_address_is_given(
    template: dict[str, Any], resources: dict[str, Any]
) -> None:
    assert template["Conditions"]["HasAlertEmail"] == {
        "Fn::Not": [{"Fn::Equals": [{"Ref": "AlertEmail"}, ""]}]
    }
    (_sub_id, sub), *others = of_type(resources, "AWS::SNS::Subscription").items()
    assert not others
    assert sub["Condition"] == "HasAlertEmail"
    assert target(sub["Properties"]["TopicArn"]) == "AlertTopic"
    assert sub["Properties"]["Protocol"] == "email"
    assert target(sub["Properties"]["Endpoint"]) == "AlertEmail"


# ----------------------------------------------------------------------------- trigger


def test_rule_matches_exactly_the_audited_stack_statuses(resources: dict[str, Any]) -> None:
    rules = of_type(resources, "AWS::Events::Rule")
    assert list(rules) == ["StackStatusRule"]
    pattern = props(resources, "StackStatusRule")["EventPattern"]
    assert pattern == {
        "source": ["aws.cloudformation"],
        "detail-type": ["CloudFormation Stack Status Change"],
        "detail": {"status-details": {"status": AUDITED_STATUSES}},
    }


def test_rule_target_retries_then_dead_letters(resources: dict[str, Any]) -> None:
    (rule_target,) = props(resources, "StackStatusRule")["Targets"]
    assert target(rule_target["Arn"]) == "AuditFunction"
    retry = rule_target["RetryPolicy"]
    assert 0 < retry["MaximumRetryAttempts"] <= 185
    assert 60 <= retry["MaximumEventAgeInSeconds"] <= 86400
    assert target(rule_target["DeadLetterConfig"]["Arn"]) == "DeadLetterQueue"

    permission = props(resources, "StackStatusRulePermission")
    assert permission["Principal"] == "events.amazonaws.com"
    assert permission["Action"] == "lambda:InvokeFunction"
    assert target(permission["FunctionName"]) == "AuditFunction"
    assert target(permission["SourceArn"]) == "StackStatusRule"


def test_dead_letter_queue_is_encrypted_kept_14_days_and_writable_by_the_rule_only(
    resources: dict[str, Any],
) -> None:
    queue = props(resources, "DeadLetterQueue")
    assert queue["MessageRetentionPeriod"] == 1209600
    assert resources[target(queue["KmsMasterKeyId"]) or ""]["Type"] == "AWS::KMS::Key"

    (_policy_id, policy), *others = of_type(resources, "AWS::SQS::QueuePolicy").items()
    assert not others
    assert [target(q) for q in policy["Properties"]["Queues"]] == ["DeadLetterQueue"]
    allows = [
        s for s in statements(policy["Properties"]["PolicyDocument"]) if s["Effect"] == "Allow"
    ]
    assert len(allows) == 1
    (allow,) = allows
    assert principals(allow) == ["events.amazonaws.com"]
    assert as_list(allow["Action"]) == ["sqs:SendMessage"]
    assert target(allow["Resource"]) == "DeadLetterQueue"
    assert target(allow["Condition"]["ArnEquals"]["aws:SourceArn"]) == "StackStatusRule"


# ----------------------------------------------------------------------------- function


def test_function_wiring(template: dict[str, Any], resources: dict[str, Any]) -> None:
    globals_ = template["Globals"]["Function"]
    fn = props(resources, "AuditFunction")
    assert resources["AuditFunction"]["Type"] == "AWS::Serverless::Function"
    assert fn.get("Runtime", globals_.get("Runtime")) == "python3.13"
    assert fn.get("Tracing", globals_.get("Tracing")) == "Active"
    assert fn["CodeUri"] == "functions/audit/"
    assert fn["Handler"] == "app.lambda_handler"
    assert [target(layer) for layer in fn["Layers"]] == ["EngineLayer"]
    assert 60 <= fn["Timeout"] <= 300
    assert fn["MemorySize"] == 512
    assert target(fn["Role"]) == "AuditFunctionRole"
    assert target(fn["LoggingConfig"]["LogGroup"]) == "FunctionLogGroup"

    env = fn["Environment"]["Variables"]
    assert target(env["FINDINGS_TABLE"]) == "FindingsTable"
    assert target(env["ALERT_TOPIC_ARN"]) == "AlertTopic"
    assert target(env["ALERT_MIN_SEVERITY"]) == "AlertMinSeverity"
    assert env["REQUIRED_TAGS"] == {"Fn::Join": [",", {"Ref": "RequiredTags"}]}
    assert env["POWERTOOLS_SERVICE_NAME"] == "stack-auditor"
    for name in ("POWERTOOLS_LOG_LEVEL", "POWERTOOLS_METRICS_NAMESPACE", "LOG_LEVEL"):
        assert env[name], name
    # declared (empty) so that `sam local invoke --env-vars` may point it at an emulator
    assert env["AWS_ENDPOINT_URL"] == ""


def test_failed_async_invocations_go_to_the_dead_letter_queue(resources: dict[str, Any]) -> None:
    invoke = props(resources, "AuditFunction")["EventInvokeConfig"]
    on_failure = invoke["DestinationConfig"]["OnFailure"]
    assert on_failure["Type"] == "SQS"
    assert target(on_failure["Destination"]) == "DeadLetterQueue"
    assert 0 <= invoke["MaximumRetryAttempts"] <= 2
    assert 60 <= invoke["MaximumEventAgeInSeconds"] <= 21600


def test_engine_layer_is_built_for_python313(resources: dict[str, Any]) -> None:
    layer = resources["EngineLayer"]
    assert layer["Type"] == "AWS::Serverless::LayerVersion"
    # makefile: layers/engine/Makefile installs the requirements for python3.13 and compiles
    # them, since the python3.13 builder ships no bytecode (docs/benchmarks.md).
    assert layer["Metadata"]["BuildMethod"] == "makefile"
    makefile = (ROOT / "layers/engine/Makefile").read_text()
    assert "build-EngineLayer:" in makefile
    assert "--python-version 3.13" in makefile
    assert layer["Properties"]["ContentUri"] == "layers/engine/"
    assert layer["Properties"]["CompatibleRuntimes"] == ["python3.13"]
    requirements = (ROOT / "layers/engine/requirements.txt").read_text()
    names = {
        re.split(r"[\[<>=~ ]", line.strip(), maxsplit=1)[0].lower()
        for line in requirements.splitlines()
        if line.strip() and not line.startswith("#")
    }
    assert {"aws-lambda-powertools", "aws-sam-translator", "pyyaml"} <= names
    assert "boto3" not in names  # the Lambda runtime provides it


def test_log_group_is_the_functions_with_retention_and_cmk(resources: dict[str, Any]) -> None:
    group = props(resources, "FunctionLogGroup")
    fn_name = props(resources, "AuditFunction")["FunctionName"]["Fn::Sub"]
    assert group["LogGroupName"] == {"Fn::Sub": f"/aws/lambda/{fn_name}"}
    assert group["RetentionInDays"] == {"Ref": "LogRetentionDays"}
    assert target(group["KmsKeyId"]) == "DataKey"


# ----------------------------------------------------------------------------- data


def test_findings_table_key_design(resources: dict[str, Any]) -> None:
    table = resources["FindingsTable"]
    assert table["DeletionPolicy"] == "Retain"
    assert table["UpdateReplacePolicy"] == "Retain"
    p = table["Properties"]
    assert p["BillingMode"] == "PAY_PER_REQUEST"
    assert p["KeySchema"] == [
        {"AttributeName": "pk", "KeyType": "HASH"},
        {"AttributeName": "sk", "KeyType": "RANGE"},
    ]
    assert {d["AttributeName"]: d["AttributeType"] for d in p["AttributeDefinitions"]} == {
        name: "S" for name in ("pk", "sk", "gsi1pk", "gsi1sk", "gsi2pk", "gsi2sk")
    }
    indexes = {i["IndexName"]: i for i in p["GlobalSecondaryIndexes"]}
    assert set(indexes) == {"ByStatusSeverity", "ByRule"}
    for name, prefix in (("ByStatusSeverity", "gsi1"), ("ByRule", "gsi2")):
        assert indexes[name]["KeySchema"] == [
            {"AttributeName": f"{prefix}pk", "KeyType": "HASH"},
            {"AttributeName": f"{prefix}sk", "KeyType": "RANGE"},
        ]
        assert indexes[name]["Projection"] == {"ProjectionType": "ALL"}
    assert p["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}
    assert p["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    sse = p["SSESpecification"]
    assert sse["SSEEnabled"] is True and sse["SSEType"] == "KMS"
    assert resources[target(sse["KMSMasterKeyId"]) or ""]["Type"] == "AWS::KMS::Key"


def test_table_schema_matches_the_store(resources: dict[str, Any]) -> None:
    from stack_auditor import store_schema

    p = props(resources, "FindingsTable")
    assert p["KeySchema"] == list(store_schema.KEY_SCHEMA)
    assert sorted(p["AttributeDefinitions"], key=str) == sorted(
        store_schema.ATTRIBUTE_DEFINITIONS, key=str
    )
    assert p["GlobalSecondaryIndexes"] == list(store_schema.GLOBAL_SECONDARY_INDEXES)


def test_keys_rotate_and_the_data_key_outlives_the_table(resources: dict[str, Any]) -> None:
    keys = of_type(resources, "AWS::KMS::Key")
    assert set(keys) == {"DataKey", "MessagingKey"}
    for key in keys.values():
        assert key["Properties"]["EnableKeyRotation"] is True
    assert resources["DataKey"]["DeletionPolicy"] == "Retain"
    assert resources["DataKey"]["UpdateReplacePolicy"] == "Retain"


def key_statements(resources: Mapping[str, Any], key_id: str) -> list[dict[str, Any]]:
    return statements(props(resources, key_id)["KeyPolicy"])


def test_alert_topic_key_lets_exactly_its_publishers_in(resources: dict[str, Any]) -> None:
    topic = props(resources, "AlertTopic")
    assert target(topic["KmsMasterKeyId"]) == "MessagingKey"

    by_principal: dict[str, dict[str, Any]] = {}
    for statement in key_statements(resources, "MessagingKey"):
        assert statement["Effect"] == "Allow"
        for principal in principals(statement):
            by_principal[str(target(principal) or principal)] = statement
    root = by_principal.pop(str({"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:root"}))
    assert root["Action"] == "kms:*"
    publish = {"kms:GenerateDataKey*", "kms:Decrypt"}
    assert set(by_principal) == {
        "AuditFunctionRole",
        "cloudwatch.amazonaws.com",
        "events.amazonaws.com",
    }
    for statement in by_principal.values():
        assert set(as_list(statement["Action"])) == publish
    alarms = by_principal["cloudwatch.amazonaws.com"]["Condition"]
    assert alarms["StringEquals"]["aws:SourceAccount"] == {"Ref": "AWS::AccountId"}
    assert ":alarm:${AWS::StackName}-" in alarms["ArnLike"]["aws:SourceArn"]["Fn::Sub"]


def test_data_key_lets_logs_in_only_for_the_function_log_group(
    resources: dict[str, Any],
) -> None:
    group_name = props(resources, "FunctionLogGroup")["LogGroupName"]["Fn::Sub"]
    (logs,) = [
        s
        for s in key_statements(resources, "DataKey")
        if {"Fn::Sub": "logs.${AWS::Region}.amazonaws.com"} in principals(s)
    ]
    context = logs["Condition"]["ArnEquals"]["kms:EncryptionContext:aws:logs:arn"]["Fn::Sub"]
    assert context.endswith(f":log-group:{group_name}")
    others = {
        str(target(p) or p)
        for s in key_statements(resources, "DataKey")
        for p in principals(s)
        if s is not logs
    }
    assert others == {
        str({"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:root"}),
        "AuditFunctionRole",
    }


# ----------------------------------------------------------------------------- alarms, outputs


def test_error_and_dead_letter_alarms_notify_the_alert_topic(resources: dict[str, Any]) -> None:
    alarms = {k: v["Properties"] for k, v in of_type(resources, "AWS::CloudWatch::Alarm").items()}
    watched = {
        (a["Namespace"], a["MetricName"], *(str(target(d["Value"]) or d["Value"]) for d in dims))
        for a in alarms.values()
        for dims in [a["Dimensions"]]
    }
    assert watched == {
        ("AWS/Lambda", "Errors", "AuditFunction"),
        ("AWS/Lambda", "Errors", "SweepFunction"),
        ("AWS/SQS", "ApproximateNumberOfMessagesVisible", "DeadLetterQueue"),
        # what the sweep function publishes (functions/sweep/sweep.py, Powertools "service")
        ("StackAuditor", "SweepFailures", "stack-auditor"),
    }
    for alarm in alarms.values():
        assert [d["Name"] for d in alarm["Dimensions"]] in (
            ["FunctionName"],
            ["QueueName"],
            ["service"],
        )
        assert [target(a) for a in alarm["AlarmActions"]] == ["AlertTopic"]
        assert alarm["AlarmName"]["Fn::Sub"].startswith("${AWS::StackName}-")


def test_outputs_name_every_operable_resource(template: dict[str, Any]) -> None:
    outputs = {target(o["Value"]): name for name, o in template["Outputs"].items()}
    for logical_id in ("FindingsTable", "AlertTopic", "AuditFunction", "DeadLetterQueue"):
        assert logical_id in outputs, f"no output for {logical_id}"
    values = [o["Value"] for o in template["Outputs"].values()]
    assert {"Fn::GetAtt": ["FindingsTable", "Arn"]} in values
    assert {"Ref": "FindingsTable"} in values
    for name, output in template["Outputs"].items():
        assert output.get("Description"), name


# ----------------------------------------------------------------------------- IAM


def test_function_permissions_live_in_one_policy(resources: dict[str, Any]) -> None:
    role = props(resources, "AuditFunctionRole")
    assert "Policies" not in role and "ManagedPolicyArns" not in role
    (trust,) = statements(role["AssumeRolePolicyDocument"])
    assert principals(trust) == ["lambda.amazonaws.com"]
    policies = {
        k: v
        for k, v in resources.items()
        if v["Type"] in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy", "AWS::IAM::RolePolicy")
    }
    assert list(policies) == ["AuditFunctionPolicy"]
    assert [target(r) for r in props(resources, "AuditFunctionPolicy")["Roles"]] == [
        "AuditFunctionRole"
    ]
    assert resources["AuditFunction"]["DependsOn"] == "AuditFunctionPolicy"


def function_statements(resources: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The policy's statements; a conditional one (Fn::If with AWS::NoValue) as its statement."""
    found = []
    for statement in statements(props(resources, "AuditFunctionPolicy")["PolicyDocument"]):
        if "Fn::If" in statement:
            _condition, *branches = statement["Fn::If"]
            found.extend(b for b in branches if b != {"Ref": "AWS::NoValue"})
        else:
            found.append(statement)
    return found


def test_policy_parameter_is_read_only_when_given_and_only_that_parameter(
    template: dict[str, Any], resources: dict[str, Any]
) -> None:
    assert template["Conditions"]["HasPolicyParameter"] == {
        "Fn::Not": [{"Fn::Equals": [{"Ref": "PolicyParameterName"}, ""]}]
    }
    env = props(resources, "AuditFunction")["Environment"]["Variables"]
    assert env["POLICY_SSM_PARAMETER"] == {
        "Fn::If": ["HasPolicyParameter", {"Ref": "PolicyParameterName"}, {"Ref": "AWS::NoValue"}]
    }
    document = props(resources, "AuditFunctionPolicy")["PolicyDocument"]
    (conditional,) = [
        s for s in statements(document) if s.get("Fn::If", [None])[0] == "HasPolicyParameter"
    ]
    condition, read, otherwise = conditional["Fn::If"]
    assert condition == "HasPolicyParameter" and otherwise == {"Ref": "AWS::NoValue"}
    assert read["Action"] == ["ssm:GetParameter"]
    # the name starts with "/" (AllowedPattern), so this is exactly that parameter's ARN
    assert read["Resource"] == {
        "Fn::Sub": "arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}"
        ":parameter${PolicyParameterName}"
    }
    ssm_actions = {
        a for s in function_statements(resources) for a in as_list(s["Action"]) if "ssm:" in a
    }
    assert ssm_actions == {"ssm:GetParameter"}


def test_security_hub_export_is_opt_in_and_imports_only_into_the_accounts_product(
    template: dict[str, Any], resources: dict[str, Any]
) -> None:
    param = template["Parameters"]["SecurityHubExport"]
    assert param["AllowedValues"] == ["true", "false"] and param["Default"] == "false"
    assert template["Conditions"]["ExportsToSecurityHub"] == {
        "Fn::Equals": [{"Ref": "SecurityHubExport"}, "true"]
    }
    env = props(resources, "AuditFunction")["Environment"]["Variables"]
    assert env["SECURITY_HUB_EXPORT"] == {
        "Fn::If": ["ExportsToSecurityHub", "true", {"Ref": "AWS::NoValue"}]
    }
    document = props(resources, "AuditFunctionPolicy")["PolicyDocument"]
    (conditional,) = [
        s for s in statements(document) if s.get("Fn::If", [None])[0] == "ExportsToSecurityHub"
    ]
    _condition, grant, otherwise = conditional["Fn::If"]
    assert otherwise == {"Ref": "AWS::NoValue"}
    assert grant["Effect"] == "Allow"
    assert grant["Action"] == ["securityhub:BatchImportFindings"]
    assert grant["Resource"] == {
        "Fn::Sub": "arn:${AWS::Partition}:securityhub:${AWS::Region}:${AWS::AccountId}"
        ":product/${AWS::AccountId}/default"
    }
    # no Security Hub action anywhere else in the policy
    unconditional = [s for s in statements(document) if "Fn::If" not in s]
    assert not [a for s in unconditional for a in as_list(s["Action"]) if "securityhub" in a]


def test_findings_retention_reaches_the_function(
    template: dict[str, Any], resources: dict[str, Any]
) -> None:
    param = template["Parameters"]["FindingsRetentionDays"]
    assert param["Type"] == "Number" and str(param["Default"]) == "365"
    assert param["MinValue"] >= 1
    env = props(resources, "AuditFunction")["Environment"]["Variables"]
    assert env["FINDINGS_RETENTION_DAYS"] == {"Ref": "FindingsRetentionDays"}
    ttl = props(resources, "FindingsTable")["TimeToLiveSpecification"]
    from stack_auditor.store_schema import TTL_ATTRIBUTE

    assert ttl == {"AttributeName": TTL_ATTRIBUTE, "Enabled": True}


def test_no_wildcards_where_resource_level_permissions_exist(resources: dict[str, Any]) -> None:
    for statement in function_statements(resources):
        assert statement["Effect"] == "Allow"
        assert "NotAction" not in statement and "NotResource" not in statement
        actions = set(as_list(statement["Action"]))
        for action in actions:
            assert "*" not in action, f"wildcard action {action}"
        if "*" in as_list(statement["Resource"]):
            scoped = sorted(a for a in actions if supports_resource_level(a))
            assert not scoped, f"{statement.get('Sid')}: Resource '*' for {scoped}"


def test_writes_go_only_to_the_stacks_own_table_topic_and_queue(
    resources: dict[str, Any],
) -> None:
    allowed_targets = {
        "dynamodb": {"FindingsTable"},
        "sns": {"AlertTopic"},
        "sqs": {"DeadLetterQueue"},
    }
    seen = set()
    for statement in function_statements(resources):
        for action in set(as_list(statement["Action"])) & WRITE_ACTIONS:
            service = action.split(":")[0]
            targets = {target(r) for r in as_list(statement["Resource"])}
            assert targets <= allowed_targets[service], (action, targets)
            seen.add(action)
    assert {"dynamodb:PutItem", "dynamodb:UpdateItem", "sns:Publish", "sqs:SendMessage"} <= seen


def test_stack_reads_are_scoped_to_stacks(resources: dict[str, Any]) -> None:
    (reads,) = [s for s in function_statements(resources) if s.get("Sid") == "ReadAuditedStacks"]
    assert set(as_list(reads["Action"])) == {
        "cloudformation:DescribeStacks",
        "cloudformation:GetTemplate",
        "cloudformation:ListStackResources",
    }
    assert reads["Resource"] == {
        "Fn::Sub": "arn:${AWS::Partition}:cloudformation:${AWS::Region}:${AWS::AccountId}:stack/*"
    }


def own_statements(resources: dict[str, Any]) -> list[dict[str, Any]]:
    """The function's statements except the generated live reads of the audited stacks'
    resources (scoped by tests/test_permissions.py)."""
    return [
        s
        for s in function_statements(resources)
        if not str(s.get("Sid", "")).startswith("ReadLiveState")
    ]


def test_kms_grants_name_the_stacks_own_keys(resources: dict[str, Any]) -> None:
    for statement in own_statements(resources):
        if any(a.startswith("kms:") for a in as_list(statement["Action"])):
            assert {target(r) for r in as_list(statement["Resource"])} <= {
                "DataKey",
                "MessagingKey",
            }


def test_logs_go_only_to_the_functions_log_group(resources: dict[str, Any]) -> None:
    (logs,) = [
        s
        for s in own_statements(resources)
        if any(a.startswith("logs:") for a in as_list(s["Action"]))
    ]
    assert set(as_list(logs["Action"])) == {"logs:CreateLogStream", "logs:PutLogEvents"}
    assert target(logs["Resource"]) == "FunctionLogGroup"


# ----------------------------------------------------------------------------- portability, tags


def test_no_literal_accounts_regions_or_partitions() -> None:
    text = TEMPLATE.read_text()
    assert not re.search(r"(?<!\d)\d{12}(?!\d)", text)
    assert "arn:aws:" not in text
    regions = (
        r"\b(us|eu|ap|sa|ca|me|af|il|mx)-"
        r"(north|south|east|west|central|northeast|southeast|northwest|southwest)-\d\b"
    )
    assert not re.search(regions, text)


# The physical-name property of each resource type this template names explicitly.
NAME_PROPERTIES = {
    "AWS::Serverless::Function": "FunctionName",
    "AWS::Serverless::LayerVersion": "LayerName",
    "AWS::Logs::LogGroup": "LogGroupName",
    "AWS::CloudWatch::Alarm": "AlarmName",
    "AWS::Events::Rule": "Name",
    "AWS::IAM::Policy": "PolicyName",
    "AWS::KMS::Alias": "AliasName",
    "AWS::DynamoDB::Table": "TableName",
    "AWS::SNS::Topic": "TopicName",
    "AWS::SQS::Queue": "QueueName",
    "AWS::IAM::Role": "RoleName",
}


def test_explicit_names_are_per_stack(resources: dict[str, Any]) -> None:
    for logical_id, resource in resources.items():
        key = NAME_PROPERTIES.get(resource["Type"])
        value = resource.get("Properties", {}).get(key) if key else None
        if value is None:
            continue
        assert "${AWS::StackName}" in str(value) or "EnvironmentSuffix" in str(value), (
            f"{logical_id}.{key} = {value!r} would collide between deployments"
        )
    # names the key policies and alarms rely on
    assert props(resources, "AuditFunction")["FunctionName"] == {
        "Fn::Sub": "${AWS::StackName}-audit"
    }


def taggable(type_: str) -> bool:
    if type_ == "AWS::Serverless::Function":
        return True
    if type_.startswith("AWS::Serverless::"):
        return False
    from cfnlint.schema import PROVIDER_SCHEMA_MANAGER

    schema = PROVIDER_SCHEMA_MANAGER.get_resource_schema("us-east-1", type_).schema
    return bool(schema.get("tagging", {}).get("taggable"))


def test_every_taggable_resource_carries_the_required_tags(
    template: dict[str, Any], resources: dict[str, Any]
) -> None:
    global_tags = template["Globals"]["Function"]["Tags"]
    assert set(global_tags) == REQUIRED_TAG_KEYS
    for logical_id, resource in resources.items():
        if not taggable(resource["Type"]):
            continue
        tags = resource.get("Properties", {}).get("Tags")
        if resource["Type"] == "AWS::Serverless::Function":
            keys = set(global_tags) | set(tags or {})
        else:
            assert isinstance(tags, list), f"{logical_id} has no Tags"
            keys = {t["Key"] for t in tags}
        assert keys >= REQUIRED_TAG_KEYS, f"{logical_id} lacks {REQUIRED_TAG_KEYS - keys}"


# ----------------------------------------------------------------------------- self-audit


def test_the_auditor_passes_its_own_high_and_critical_rules() -> None:
    """`stack-auditor scan template.yaml` with no stack tags finds nothing HIGH or worse."""
    from stack_auditor.config import AuditConfig
    from stack_auditor.evaluate import evaluate
    from stack_auditor.model import Outcome, Severity
    from stack_auditor.rules import CATALOG
    from stack_auditor.snapshot import snapshot_from_file

    severities = {rule.meta.id: rule.meta.severity for rule in CATALOG}
    snapshot = snapshot_from_file(TEMPLATE, stack_name="stack-auditor-dev")
    verdicts = list(evaluate(snapshot, AuditConfig(), rules=CATALOG))
    assert verdicts, "no rule produced a verdict"
    failures = [
        f"{v.rule_id} {v.logical_id} {v.path}: {v.message}"
        for v in verdicts
        if v.outcome is Outcome.FAIL
        and (v.severity or severities.get(v.rule_id, Severity.INFORMATIONAL)).at_least(
            Severity.HIGH
        )
    ]
    assert not failures, "\n".join(failures)


# ----------------------------------------------------------------------------- samconfig


@pytest.mark.parametrize(("env", "suffix"), [("default", "dev"), ("prod", "prod")])
def test_samconfig_deploys_each_environment_in_one_command(env: str, suffix: str) -> None:
    config = tomllib.loads((ROOT / "samconfig.toml").read_text())
    assert config["version"] == 0.1
    deploy = config[env]["deploy"]["parameters"]
    assert deploy["stack_name"] == f"stack-auditor-{suffix}"
    assert deploy["capabilities"] in ("CAPABILITY_IAM", "CAPABILITY_NAMED_IAM")
    assert deploy["resolve_s3"] is True
    assert deploy["confirm_changeset"] is True
    assert f'EnvironmentSuffix="{suffix}"' in deploy["parameter_overrides"]
    assert "AlertMinSeverity=" in deploy["parameter_overrides"]
    assert 'iac-rlhf-amazon="true"' in deploy["tags"]
    assert "region" not in deploy  # from the caller's AWS configuration
    assert config[env]["build"]["parameters"]["cached"] is True
    assert config[env]["validate"]["parameters"]["lint"] is True
