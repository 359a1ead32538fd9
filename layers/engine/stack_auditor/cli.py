"""Command line entry point: argument parsing and exit codes; the work is done elsewhere.

Only argparse is imported at module level. Each command imports what it needs when it runs,
so ``scan --format json`` in CI never loads rich, and ``rules`` never loads the template
engine: cold start is most of a CLI run's time.

``findings`` and ``history`` read the deployed auditor's findings table; boto3 is imported
only inside them (``scan`` must stay boto3-free). Their query planning lives in
``stack_auditor.findings_query``. ``audit`` runs the deployed auditor's pipeline on a
deployed stack (template and live state); its AWS side is ``stack_auditor.cli_audit``.

Exit codes: 0 nothing OPEN at or above ``--fail-on``; 1 something is; 2 usage error, invalid
policy file, unreadable template or stack not found; 3 an AWS call failed (one line on
stderr, never a traceback).
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, NoReturn

if TYPE_CHECKING:
    from stack_auditor.config import AuditConfig
    from stack_auditor.model import Severity
    from stack_auditor.output.report import Report

PROG = "stack-auditor"
EXIT_OK, EXIT_FINDINGS, EXIT_USAGE, EXIT_AWS = 0, 1, 2, 3
TABLE_VARIABLES = ("STACK_AUDITOR_TABLE", "FINDINGS_TABLE")
STATUS_CHOICES = ("OPEN", "SUPPRESSED", "RESOLVED", "ALL")
FINDINGS_FORMATS = ("table", "json", "csv", "sarif", "asff")
SEVERITY_CHOICES = ("critical", "high", "medium", "low", "informational", "none")
DEFAULT_FAIL_ON = "high"


class UsageError(Exception):
    """Bad input from the caller: reported on one line, exit 2."""


class AwsError(Exception):
    """An AWS call failed (credentials, permissions, missing table): one line, exit 3."""


class _Parser(argparse.ArgumentParser):
    """argparse that reports errors on one line (usage is one ``--help`` away)."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see --help)\n")


def _key_value(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    return key.strip(), value


def _account(text: str) -> str:
    if not re.fullmatch(r"\d{12}", text):
        raise argparse.ArgumentTypeError(f"expected a 12-digit account id, got {text!r}")
    return text


def _region(text: str) -> str:
    if not re.fullmatch(r"[a-z]{2}(-[a-z]+)+-\d+", text):
        raise argparse.ArgumentTypeError(f"expected a region such as us-east-1, got {text!r}")
    return text


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog=PROG, description="Audit CloudFormation and SAM stacks.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    scan = commands.add_parser(
        "scan",
        help="audit a local template file before deploying (no AWS calls)",
        description="Evaluate the rule catalog against a template file. No AWS calls.",
    )
    scan.add_argument("template", metavar="TEMPLATE", help="template file (YAML or JSON)")
    scan.add_argument(
        "--parameter",
        "-p",
        action="append",
        type=_key_value,
        default=[],
        metavar="KEY=VALUE",
        help="stack parameter value (repeatable)",
    )
    scan.add_argument(
        "--tag",
        "-t",
        action="append",
        type=_key_value,
        default=[],
        metavar="KEY=VALUE",
        help="stack-level tag, as passed to deploy (repeatable)",
    )
    scan.add_argument("--format", "-f", choices=("table", "json", "sarif"), default="table")
    scan.add_argument("--config", "-c", metavar="FILE", help="YAML audit policy file")
    scan.add_argument(
        "--fail-on",
        type=str.lower,
        choices=SEVERITY_CHOICES,
        default=DEFAULT_FAIL_ON,
        metavar="SEVERITY",
        help="exit 1 when an OPEN finding is this severe or worse "
        f"({', '.join(SEVERITY_CHOICES)}; default {DEFAULT_FAIL_ON})",
    )
    scan.add_argument(
        "--cfn-lint",
        action="store_true",
        help="also run cfn-lint on the template (findings cfn-lint/<code>; needs cfn-lint)",
    )
    scan.add_argument("--region", type=_region, default="us-east-1")
    scan.add_argument("--account", type=_account, default="123456789012")
    scan.add_argument("--stack-name", help="stack name used for names and finding ids")
    scan.set_defaults(handler=_run_scan)

    audit = commands.add_parser(
        "audit",
        help="audit a deployed stack: its template and live state (reads AWS)",
        description="Run the deployed auditor's pipeline on one deployed stack with your "
        "credentials: read its template and its resources' live state, evaluate the catalog, "
        "print the findings and what could not be read. Nothing is written unless --store "
        "names the findings table.",
    )
    audit.add_argument("--stack", required=True, help="stack name (or stack ARN)")
    audit.add_argument("--region", type=_region, help="default: the session's region")
    audit.add_argument("--profile", help="AWS profile")
    audit.add_argument("--endpoint-url", metavar="URL", help="endpoint of every AWS client")
    audit.add_argument(
        "--store",
        metavar="TABLE",
        help="also record the audit in this findings table, like the deployed function, "
        "and report what is new and resolved",
    )
    audit.add_argument(
        "--alert-topic",
        metavar="ARN",
        help="with --store: publish the audit's alert to this SNS topic (otherwise findings "
        "it records as new are never alerted)",
    )
    audit.add_argument("--format", "-f", choices=("table", "json", "sarif"), default="table")
    audit.add_argument("--config", "-c", metavar="FILE", help="YAML audit policy file")
    audit.add_argument(
        "--fail-on",
        type=str.lower,
        choices=SEVERITY_CHOICES,
        default=DEFAULT_FAIL_ON,
        metavar="SEVERITY",
        help=f"exit 1 when an OPEN finding is this severe or worse (default {DEFAULT_FAIL_ON})",
    )
    audit.set_defaults(handler=_run_audit)

    findings = commands.add_parser(
        "findings",
        help="query the deployed auditor's findings table",
        description="Findings stored by the deployed auditor, read with DynamoDB Queries on the "
        "table's keys and indexes (never a Scan). Default: OPEN findings of every stack.",
    )
    findings.add_argument("--stack", help="one stack (its account and region: see --account)")
    findings.add_argument(
        "--severity",
        type=str.lower,
        choices=SEVERITY_CHOICES[:-1],
        metavar="MIN",
        help="this severity or worse",
    )
    findings.add_argument("--rule", metavar="ID", help="one rule id")
    findings.add_argument(
        "--status", type=str.upper, choices=STATUS_CHOICES, default="OPEN", help="default OPEN"
    )
    findings.add_argument("--since", metavar="DATE", help="last seen at or after (ISO date, 7d)")
    findings.add_argument("--format", "-f", choices=FINDINGS_FORMATS, default="table")
    findings.add_argument(
        "--explain", action="store_true", help="print the DynamoDB Queries to stderr"
    )
    _aws_arguments(findings)
    findings.set_defaults(handler=_run_findings)

    history = commands.add_parser(
        "history",
        help="the audits of one stack, with what each introduced and resolved",
        description="Audits of a stack, newest first: trigger (deployment status and time, or "
        "sweep/cli), counts, and which findings each audit introduced and resolved.",
    )
    history.add_argument("--stack", required=True)
    history.add_argument("--limit", type=int, metavar="N", help="the N newest audits")
    history.add_argument("--format", "-f", choices=("table", "json"), default="table")
    _aws_arguments(history)
    history.set_defaults(handler=_run_history)

    rules = commands.add_parser("rules", help="list the rule catalog")
    rules.add_argument("--format", "-f", choices=("table", "json"), default="table")
    rules.set_defaults(handler=_run_rules)
    return parser


def _aws_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--account",
        type=_account,
        help="the stacks' account: a filter; with --stack, default the caller's (STS)",
    )
    parser.add_argument(
        "--region",
        type=_region,
        help="the stacks' region: a filter across stacks; with --stack, default the session's",
    )
    parser.add_argument(
        "--table",
        metavar="NAME",
        help=f"findings table (default ${TABLE_VARIABLES[0]} or ${TABLE_VARIABLES[1]}; "
        "the stack output FindingsTableName)",
    )
    parser.add_argument("--endpoint-url", metavar="URL", help="DynamoDB endpoint (emulators)")
    parser.add_argument("--profile", help="AWS profile")
    parser.add_argument("--page-size", type=int, help=argparse.SUPPRESS)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        handler: Any = args.handler
        return int(handler(args))
    except UsageError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except AwsError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return EXIT_AWS
    except BrokenPipeError:
        # `stack-auditor scan ... | head`: the reader left; not an error worth a traceback.
        return EXIT_OK
    except KeyboardInterrupt:
        return 130


def _version() -> str:
    from stack_auditor import __version__

    return __version__


def _fail_on(text: str) -> Severity | None:
    from stack_auditor.model import Severity

    return None if text == "none" else Severity.parse(text)


def _load_config(path: str | None) -> AuditConfig:
    from stack_auditor.config import AuditConfig

    if path is None:
        return AuditConfig()
    from stack_auditor.config_file import ConfigError, load_config
    from stack_auditor.rules import CATALOG

    try:
        return load_config(path, known_rules=[r.meta.id for r in CATALOG])
    except ConfigError as exc:
        raise UsageError(str(exc)) from None


def _run_scan(args: argparse.Namespace) -> int:
    from datetime import UTC, datetime

    from stack_auditor.evaluate import evaluate
    from stack_auditor.findings import to_findings
    from stack_auditor.output.report import build_report
    from stack_auditor.rules import CATALOG
    from stack_auditor.snapshot import snapshot_from_file
    from stack_auditor.template.loader import TemplateError

    fail_on = _fail_on(args.fail_on)
    config = _load_config(args.config)
    if args.cfn_lint:
        from dataclasses import replace

        config = replace(config, cfn_lint=True)
    try:
        snapshot = snapshot_from_file(
            args.template,
            parameters=dict(args.parameter),
            tags=dict(args.tag),
            account=args.account,
            region=args.region,
            stack_name=args.stack_name,
        )
    except TemplateError as exc:
        reason = str(exc)  # the loader's reasons normally name the file already
        raise UsageError(
            reason if args.template in reason else f"{args.template}: {reason}"
        ) from None
    except OSError as exc:  # the loader should wrap these; belt and braces for a clean exit
        raise UsageError(f"{args.template}: {exc.strerror or exc}") from None
    verdicts = tuple(evaluate(snapshot, config, rules=CATALOG))
    finding_set = to_findings(snapshot, verdicts, CATALOG, config, datetime.now(UTC))
    report = build_report(
        snapshot, verdicts, (f.to_dict() for f in finding_set.findings), template=args.template
    )
    _emit_report(report, args.format, fail_on)
    return EXIT_FINDINGS if report.open_at_least(fail_on) else EXIT_OK


def _run_audit(args: argparse.Namespace) -> int:
    from stack_auditor.cli_audit import (
        TargetError,
        audit_deployed_stack,
        store_lines,
        store_summary,
    )
    from stack_auditor.collect.cloudformation import CollectError
    from stack_auditor.output.report import build_report

    if args.alert_topic and not args.store:
        raise UsageError("--alert-topic needs --store (an alert reports what changed in the store)")
    fail_on = _fail_on(args.fail_on)
    config = _load_config(args.config)
    try:
        result = _aws_call(
            lambda: audit_deployed_stack(
                args.stack,
                config=config,
                region=args.region,
                profile=args.profile,
                endpoint_url=args.endpoint_url,
                store_table=args.store,
                alert_topic=args.alert_topic,
            )
        )
    except TargetError as exc:
        raise UsageError(str(exc)) from None
    except CollectError as exc:
        raise AwsError(str(exc)) from None
    assert result.snapshot is not None and result.findings is not None
    report = build_report(
        result.snapshot,
        result.verdicts,
        (f.to_dict() for f in result.findings.findings),
        template=None,
    )
    stored = store_summary(result, args.store) if result.changes is not None else None
    if args.format == "json" and stored is not None:
        import json

        document = {**report.to_dict(), "store": stored}
        sys.stdout.write(json.dumps(document, indent=2, ensure_ascii=False, default=str) + "\n")
    else:
        _emit_report(report, args.format, fail_on)
        if stored is not None:  # SARIF on stdout must stay pure SARIF
            out = sys.stdout if args.format == "table" else sys.stderr
            print("\n".join(store_lines(stored)), file=out)
    return EXIT_FINDINGS if report.open_at_least(fail_on) else EXIT_OK


def _emit_report(report: Report, fmt: str, fail_on: Severity | None) -> None:
    if fmt == "json":
        from stack_auditor.output.jsonout import render_report

        sys.stdout.write(render_report(report))
    elif fmt == "sarif":
        from stack_auditor.output.sarif import render_sarif
        from stack_auditor.rules import CATALOG

        sys.stdout.write(render_sarif(report, (r.meta for r in CATALOG)))
    else:
        from stack_auditor.output.table import make_console, print_report

        print_report(report, make_console(), fail_on)


class _Connection:
    """The findings table and where the stacks are, from the AWS arguments (boto3 lazily)."""

    def __init__(self, args: argparse.Namespace) -> None:
        import boto3
        import botocore.exceptions

        name = args.table or next((os.environ[v] for v in TABLE_VARIABLES if os.environ.get(v)), "")
        if not name:
            raise UsageError(f"no findings table: pass --table or set ${TABLE_VARIABLES[0]}")
        try:
            self.session = boto3.session.Session(profile_name=args.profile)
        except botocore.exceptions.ProfileNotFound as exc:
            raise UsageError(str(exc)) from None
        self.region: str | None = args.region or self.session.region_name
        if not self.region:
            raise UsageError("no region: pass --region or set AWS_REGION")
        self._account: str | None = args.account
        self.table = self.session.resource(
            "dynamodb",
            region_name=self.session.region_name or self.region,
            endpoint_url=args.endpoint_url,
        ).Table(name)

    @property
    def account(self) -> str:
        """--account, else the caller's account (one STS call, only when a stack needs it)."""
        if self._account is None:
            sts = self.session.client("sts", region_name=self.region)
            self._account = str(sts.get_caller_identity()["Account"])
        return self._account


def _aws_call(function: Any) -> Any:
    """Run ``function()``; AWS failures become AwsError (one line, exit 3)."""
    import botocore.exceptions

    try:
        return function()
    except botocore.exceptions.ClientError as exc:
        error = exc.response.get("Error", {})
        raise AwsError(f"{error.get('Code')}: {error.get('Message')}") from None
    except botocore.exceptions.BotoCoreError as exc:
        raise AwsError(str(exc)) from None


def _since(text: str | None) -> str | None:
    """ISO date/time, or a duration back from now (``7d``, ``12h``), as a stored timestamp."""
    if not text:
        return None
    from datetime import UTC, datetime, timedelta

    from stack_auditor.findings import format_time, parse_time

    relative = re.fullmatch(r"(\d+)([dhm])", text.strip())
    if relative:
        unit = {"d": "days", "h": "hours", "m": "minutes"}[relative.group(2)]
        return format_time(datetime.now(UTC) - timedelta(**{unit: int(relative.group(1))}))
    try:
        return format_time(parse_time(text))
    except ValueError:
        raise UsageError(f"--since: expected an ISO date/time or 7d/12h, got {text!r}") from None


def _run_findings(args: argparse.Namespace) -> int:
    from stack_auditor.findings_query import (
        ALL_STATUSES,
        FindingsFilter,
        find_findings,
        plan_findings,
    )
    from stack_auditor.model import FindingStatus, Severity

    since = _since(args.since)
    connection = _Connection(args)
    account = _aws_call(lambda: connection.account) if args.stack else args.account
    region = connection.region if args.stack else args.region
    flt = FindingsFilter(
        stack=args.stack,
        account=account,
        region=region,
        min_severity=Severity.parse(args.severity) if args.severity else None,
        rule=args.rule,
        statuses=ALL_STATUSES if args.status == "ALL" else (FindingStatus(args.status),),
        since=since,
    )
    if args.explain:
        for query in plan_findings(flt):
            print(query.describe(), file=sys.stderr)
    rows = _aws_call(lambda: find_findings(connection.table, flt, page_size=args.page_size))
    _emit_findings(rows, args.format)
    return EXIT_OK


def _emit_findings(rows: list[dict[str, Any]], fmt: str) -> None:
    if fmt == "json":
        import json

        from stack_auditor.output.jsonout import tool_header

        document = {"tool": tool_header(), "count": len(rows), "findings": rows}
        sys.stdout.write(json.dumps(document, indent=2, ensure_ascii=False, default=str) + "\n")
    elif fmt == "csv":
        from stack_auditor.output.csvout import render_csv

        sys.stdout.write(render_csv(rows))
    elif fmt == "sarif":
        from stack_auditor.output.sarif import render_findings_sarif
        from stack_auditor.rules import CATALOG

        sys.stdout.write(render_findings_sarif(rows, (r.meta for r in CATALOG)))
    elif fmt == "asff":
        from stack_auditor.output.asff import render_asff

        sys.stdout.write(render_asff(rows))
    else:
        from stack_auditor.output.table import make_console, print_findings

        print_findings(rows, make_console())


def _run_history(args: argparse.Namespace) -> int:
    from stack_auditor.findings_query import stack_history

    connection = _Connection(args)
    account = _aws_call(lambda: connection.account)
    region = connection.region
    assert region is not None  # _Connection checks
    audits = _aws_call(
        lambda: stack_history(
            connection.table,
            account,
            region,
            args.stack,
            limit=args.limit,
            page_size=args.page_size,
        )
    )
    if args.format == "json":
        import json

        document = {"stack_name": args.stack, "account": account, "region": region}
        document["audits"] = audits
        sys.stdout.write(json.dumps(document, indent=2, ensure_ascii=False, default=str) + "\n")
    else:
        from stack_auditor.output.table import make_console, print_history

        print_history(f"{args.stack}  ({account} {region})", audits, make_console())
    return EXIT_OK


def _run_rules(args: argparse.Namespace) -> int:
    from stack_auditor.rules import CATALOG

    metas = [r.meta for r in CATALOG]
    if args.format == "json":
        from stack_auditor.output.jsonout import render_rules

        sys.stdout.write(render_rules(metas))
    else:
        from stack_auditor.output.table import make_console, print_rules

        print_rules(metas, make_console())
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
