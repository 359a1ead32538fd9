"""name-missing-environment-suffix: explicit physical names that two deployments would share.

Judged on the expression as written: a name is environment-specific when it references the
environment parameter, ``AWS::StackName`` or ``AWS::StackId`` (Ref, Sub variable, inside a
Join/If), or another resource of the stack (whose own name is then what matters, and is
audited on that resource). A literal, or an expression over other parameters only, fails.
SNS ``DisplayName`` and API stage names need not be unique, so they fail only when literal
while the template has an environment parameter.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from stack_auditor.config import AuditConfig
from stack_auditor.model import Outcome, Severity, Side, StackSnapshot, Verdict, thaw
from stack_auditor.rule import Rule, RuleMeta
from stack_auditor.rules._names import environment_parameter, is_literal, referenced_names
from stack_auditor.rules._template_resources import written_resources, written_verdict

# Properties that set a resource's physical name, which must be unique per account/region.
PHYSICAL_NAME_PROPERTIES: Mapping[str, str] = {
    "AWS::S3::Bucket": "BucketName",
    "AWS::DynamoDB::Table": "TableName",
    "AWS::DynamoDB::GlobalTable": "TableName",
    "AWS::Serverless::SimpleTable": "TableName",
    "AWS::Lambda::Function": "FunctionName",
    "AWS::Serverless::Function": "FunctionName",
    "AWS::Lambda::LayerVersion": "LayerName",
    "AWS::SNS::Topic": "TopicName",
    "AWS::SQS::Queue": "QueueName",
    "AWS::IAM::Role": "RoleName",
    "AWS::IAM::User": "UserName",
    "AWS::IAM::Group": "GroupName",
    "AWS::IAM::ManagedPolicy": "ManagedPolicyName",
    "AWS::IAM::InstanceProfile": "InstanceProfileName",
    "AWS::Logs::LogGroup": "LogGroupName",
    "AWS::CloudWatch::Alarm": "AlarmName",
    "AWS::CloudWatch::CompositeAlarm": "AlarmName",
    "AWS::CloudWatch::Dashboard": "DashboardName",
    "AWS::Events::Rule": "Name",
    "AWS::Events::EventBus": "Name",
    "AWS::Scheduler::Schedule": "Name",
    "AWS::StepFunctions::StateMachine": "StateMachineName",
    "AWS::Serverless::StateMachine": "Name",
    "AWS::RDS::DBInstance": "DBInstanceIdentifier",
    "AWS::RDS::DBCluster": "DBClusterIdentifier",
    "AWS::RDS::DBSubnetGroup": "DBSubnetGroupName",
    "AWS::SecretsManager::Secret": "Name",
    "AWS::SSM::Parameter": "Name",
    "AWS::KMS::Alias": "AliasName",
    "AWS::ECR::Repository": "RepositoryName",
    "AWS::ECS::Cluster": "ClusterName",
    "AWS::Kinesis::Stream": "Name",
    "AWS::KinesisFirehose::DeliveryStream": "DeliveryStreamName",
    "AWS::ElasticLoadBalancingV2::LoadBalancer": "Name",
    "AWS::ElasticLoadBalancingV2::TargetGroup": "Name",
    "AWS::CodeBuild::Project": "Name",
    "AWS::CodePipeline::Pipeline": "Name",
    "AWS::ElastiCache::ReplicationGroup": "ReplicationGroupId",
    "AWS::SES::ConfigurationSet": "Name",
    "AWS::Cognito::UserPool": "UserPoolName",
}

# Names that need not be unique but should still say which environment they belong to.
LABEL_PROPERTIES: Mapping[str, str] = {
    "AWS::SNS::Topic": "DisplayName",
    "AWS::ApiGateway::Stage": "StageName",
    "AWS::ApiGateway::Deployment": "StageName",
    "AWS::ApiGatewayV2::Stage": "StageName",
    "AWS::Serverless::Api": "StageName",
    "AWS::Serverless::HttpApi": "StageName",
}

_UNIQUE_BY_STACK = frozenset({"AWS::StackName", "AWS::StackId"})
_SUBJECT_TYPES = frozenset(PHYSICAL_NAME_PROPERTIES) | frozenset(LABEL_PROPERTIES)

META = RuleMeta(
    id="name-missing-environment-suffix",
    title="Explicit resource names include the environment or the stack name",
    severity=Severity.HIGH,
    family="Portability and naming",
    subject_types=tuple(sorted(_SUBJECT_TYPES)),
    sides=frozenset({Side.TEMPLATE}),
    risk=(
        "A fixed physical name makes a second deployment (another environment, a parallel "
        "test stack) fail with 'already exists', or worse, share the resource."
    ),
    remediation=(
        "Build the name from the environment parameter or the stack name, e.g. "
        "!Sub '${AWS::StackName}-orders-${EnvironmentSuffix}', or drop the name and let "
        "CloudFormation generate one."
    ),
    seeds=("000 #1", "001 #13", "001 #14", "004 #1"),
    reference="https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-properties-name.html",
)


def check(snapshot: StackSnapshot, config: AuditConfig) -> Iterable[Verdict]:
    env_param = environment_parameter(snapshot, config)
    resources = snapshot.template.get("Resources")
    stack_ids = set(resources) if isinstance(resources, Mapping) else set()
    for logical_id, kind, props in written_resources(snapshot, _SUBJECT_TYPES):
        yield from _judge_resource(logical_id, kind, props, env_param, stack_ids)


def _judge_resource(
    logical_id: str, kind: str, props: Mapping[str, Any], env_param: str | None, stack_ids: set[str]
) -> Iterator[Verdict]:
    judged = False
    name_prop = PHYSICAL_NAME_PROPERTIES.get(kind)
    if name_prop is not None and name_prop in props:
        judged = True
        failure = _unique_name_failure(props[name_prop], env_param, stack_ids)
        path = f"Properties.{name_prop}"
        if failure:
            yield written_verdict(
                META,
                Outcome.FAIL,
                logical_id,
                kind,
                f"{logical_id} ({kind}) sets {path} to {failure}, which references neither the "
                f"environment parameter{_param_hint(env_param)} nor AWS::StackName: a second "
                "deployment in the same account and region collides with this name.",
                path=path,
                evidence={"source": "template", "value": _shown(props[name_prop])},
            )
        else:
            yield written_verdict(META, Outcome.PASS, logical_id, kind, META.title, path=path)
    label_prop = LABEL_PROPERTIES.get(kind)
    if label_prop is not None and label_prop in props:
        judged = True
        value, path = props[label_prop], f"Properties.{label_prop}"
        if env_param is not None and is_literal(value) and value != "$default":
            yield written_verdict(
                META,
                Outcome.FAIL,
                logical_id,
                kind,
                f"{logical_id} ({kind}) sets {path} to the literal {value!r} although the "
                f"template has the environment parameter {env_param}: every environment shows "
                "the same label, so alerts and consoles do not say which one they are about.",
                path=path,
                evidence={"source": "template", "value": value},
            )
        else:
            yield written_verdict(META, Outcome.PASS, logical_id, kind, META.title, path=path)
    if not judged:
        yield written_verdict(
            META,
            Outcome.NOT_APPLICABLE,
            logical_id,
            kind,
            "no explicit name: CloudFormation generates one",
        )


def _unique_name_failure(expression: Any, env_param: str | None, stack_ids: set[str]) -> str:
    """Why the name is shared across deployments ('' when it is not)."""
    if is_literal(expression):
        return f"the literal {expression!r}"
    names = referenced_names(expression)
    if names & _UNIQUE_BY_STACK or (env_param is not None and env_param in names):
        return ""
    if names & stack_ids:
        return ""
    if names:
        return "an expression over " + ", ".join(sorted(names))
    return "an expression without any reference"


def _param_hint(env_param: str | None) -> str:
    return f" ({env_param})" if env_param else " (the template declares none)"


def _shown(expression: Any) -> Any:
    return thaw(expression)


RULE = Rule(META, check)
