"""Command line entry point: argument parsing and exit codes; the work is done elsewhere.

Only argparse is imported at module level. Each command imports what it needs when it runs,
so ``scan --format json`` in CI never loads rich, and ``rules`` never loads the template
engine: cold start is most of a CLI run's time.

Exit codes: 0 nothing OPEN at or above ``--fail-on``; 1 something is; 2 usage error, invalid
policy file or unreadable template (one line on stderr, never a traceback).
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, NoReturn

if TYPE_CHECKING:
    from stack_auditor.config import AuditConfig
    from stack_auditor.model import Severity
    from stack_auditor.output.report import Report

PROG = "stack-auditor"
EXIT_OK, EXIT_FINDINGS, EXIT_USAGE = 0, 1, 2
SEVERITY_CHOICES = ("critical", "high", "medium", "low", "informational", "none")
DEFAULT_FAIL_ON = "high"


class UsageError(Exception):
    """Bad input from the caller: reported on one line, exit 2."""


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

    rules = commands.add_parser("rules", help="list the rule catalog")
    rules.add_argument("--format", "-f", choices=("table", "json"), default="table")
    rules.set_defaults(handler=_run_rules)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        handler: Any = args.handler
        return int(handler(args))
    except UsageError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
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
