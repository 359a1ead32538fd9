"""The rule catalog: an explicit tuple of every rule, in catalog order (docs/rule-catalog.md)."""

from __future__ import annotations

from stack_auditor.rule import Rule
from stack_auditor.rules.iam import (
    admin_access,
    passrole_wildcard,
    wildcard_action,
    wildcard_resource,
)
from stack_auditor.rules.lambda_ import (
    dlq_permission_missing,
    env_resource_without_permission,
    logs_permission_missing,
    vpc_permission_missing,
    xray_permission_missing,
)
from stack_auditor.rules.s3 import bucket_name_not_unique
from stack_auditor.rules.tagging import required_tags_missing
from stack_auditor.rules.template import (
    hardcoded_account_id,
    hardcoded_arn_to_stack_resource,
    hardcoded_partition,
    hardcoded_region,
    name_missing_environment_suffix,
    suppression_without_reason,
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
    # Data protection
    # Observability
    # Code and template quality
    # Suppression
    suppression_without_reason.RULE,
)
