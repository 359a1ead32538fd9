"""stack-auditor: audits CloudFormation and SAM stacks against the rule catalog."""

__version__ = "0.1.0"
