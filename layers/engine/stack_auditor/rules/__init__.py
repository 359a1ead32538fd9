"""The rule catalog: an explicit tuple of every rule, in catalog order (docs/rule-catalog.md)."""

from __future__ import annotations

from stack_auditor.rule import Rule
from stack_auditor.rules.apigateway import (
    account_logging_role_missing,
    stage_no_access_logs,
    stage_no_throttling,
)
from stack_auditor.rules.cloudwatch import alarm_metric_missing_dimension, alarm_without_actions
from stack_auditor.rules.dynamodb import (
    not_cmk_encrypted,
    pitr_disabled,
    provisioned_without_autoscaling,
)
from stack_auditor.rules.events import target_no_dlq
from stack_auditor.rules.iam import (
    admin_access,
    passrole_wildcard,
    wildcard_action,
    wildcard_resource,
)
from stack_auditor.rules.kms import key_policy_missing_service, key_rotation_disabled
from stack_auditor.rules.lambda_ import (
    async_no_dlq,
    dlq_permission_missing,
    env_plaintext_secret,
    env_resource_without_permission,
    inline_code_no_error_handling,
    log_retention_unset,
    logs_permission_missing,
    no_error_alarm,
    runtime_deprecated,
    tracing_disabled,
    trivial_code,
    vpc_permission_missing,
    xray_permission_missing,
)
from stack_auditor.rules.logs import log_group_retention, log_group_unencrypted
from stack_auditor.rules.rds import (
    no_subnet_group,
    performance_insights_unsupported,
    publicly_accessible,
    storage_unencrypted,
)
from stack_auditor.rules.s3 import (
    bucket_name_not_unique,
    no_tls_enforcement,
    public_access_not_blocked,
)
from stack_auditor.rules.sns import topic_unencrypted
from stack_auditor.rules.sqs import (
    dlq_retention_too_short,
    queue_unencrypted,
    source_queue_no_redrive,
    visibility_below_function_timeout,
)
from stack_auditor.rules.tagging import required_tags_missing
from stack_auditor.rules.template import (
    cfn_lint,
    disallowed_resource_type,
    hardcoded_account_id,
    hardcoded_arn_to_stack_resource,
    hardcoded_partition,
    hardcoded_region,
    missing_outputs,
    name_missing_environment_suffix,
    parameter_missing_description,
    stateful_resource_retention_mismatch,
    suppression_without_reason,
    transform_not_expanded,
)

CATALOG: tuple[Rule, ...] = (
    # Portability and naming
    hardcoded_account_id.RULE,
    hardcoded_region.RULE,
    hardcoded_partition.RULE,
    hardcoded_arn_to_stack_resource.RULE,
    name_missing_environment_suffix.RULE,
    bucket_name_not_unique.RULE,
    # Tagging
    required_tags_missing.RULE,
    # IAM
    admin_access.RULE,
    wildcard_action.RULE,
    wildcard_resource.RULE,
    passrole_wildcard.RULE,
    env_resource_without_permission.RULE,
    xray_permission_missing.RULE,
    dlq_permission_missing.RULE,
    vpc_permission_missing.RULE,
    logs_permission_missing.RULE,
    # Reliability
    async_no_dlq.RULE,
    dlq_retention_too_short.RULE,
    visibility_below_function_timeout.RULE,
    source_queue_no_redrive.RULE,
    target_no_dlq.RULE,
    # Data protection
    pitr_disabled.RULE,
    not_cmk_encrypted.RULE,
    provisioned_without_autoscaling.RULE,
    topic_unencrypted.RULE,
    queue_unencrypted.RULE,
    public_access_not_blocked.RULE,
    no_tls_enforcement.RULE,
    log_group_unencrypted.RULE,
    key_rotation_disabled.RULE,
    key_policy_missing_service.RULE,
    env_plaintext_secret.RULE,
    storage_unencrypted.RULE,
    publicly_accessible.RULE,
    no_subnet_group.RULE,
    performance_insights_unsupported.RULE,
    stateful_resource_retention_mismatch.RULE,
    # Observability
    log_retention_unset.RULE,
    log_group_retention.RULE,
    no_error_alarm.RULE,
    alarm_without_actions.RULE,
    alarm_metric_missing_dimension.RULE,
    tracing_disabled.RULE,
    stage_no_access_logs.RULE,
    stage_no_throttling.RULE,
    account_logging_role_missing.RULE,
    # Code and template quality
    trivial_code.RULE,
    inline_code_no_error_handling.RULE,
    runtime_deprecated.RULE,
    missing_outputs.RULE,
    parameter_missing_description.RULE,
    disallowed_resource_type.RULE,
    cfn_lint.RULE,
    transform_not_expanded.RULE,
    # Suppression
    suppression_without_reason.RULE,
)
