"""Exports of stored findings (SARIF 2.1.0 validated against the schema, ASFF, CSV), the
Security Hub option against moto (import, archive only the audited stack's, failures never fail
the audit) and the `findings` / `history` commands end to end."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import boto3
import pytest
from findings_world import (
    ACCOUNT_A,
    NOW,
    T1,
    T2,
    T3,
    audit,
    create_table,
    make_finding,
    seed,
)
from moto import mock_aws
from stack_auditor.audit import AuditStatus, run_audit
from stack_auditor.cli import main
from stack_auditor.config import AuditConfig
from stack_auditor.findings_query import ALL_STATUSES, FindingsFilter, find_findings
from stack_auditor.model import Severity, StackRef
from stack_auditor.output.asff import asff_finding, render_asff
from stack_auditor.output.csvout import COLUMNS, render_csv
from stack_auditor.output.sarif import build_findings_sarif
from stack_auditor.rules import CATALOG
from stack_auditor.securityhub import BATCH_SIZE, export_audit
from stack_auditor.store import FindingsStore

SARIF_SCHEMA = Path(__file__).parent / "fixtures" / "cli" / "sarif-schema-2.1.0.json"
ASFF_REQUIRED = {
    "SchemaVersion",
    "Id",
    "ProductArn",
    "GeneratorId",
    "AwsAccountId",
    "Types",
    "CreatedAt",
    "UpdatedAt",
    "Severity",
    "Title",
    "Description",
    "Resources",
}


@pytest.fixture
def table(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    for name in ("STACK_AUDITOR_TABLE", "FINDINGS_TABLE", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    with mock_aws():
        yield create_table()


@pytest.fixture
def store(table: Any) -> FindingsStore:
    store = FindingsStore(table, clock=lambda: NOW)
    seed(store)
    return store


@pytest.fixture
def rows(table: Any, store: FindingsStore) -> list[dict[str, Any]]:
    return find_findings(table, FindingsFilter(statuses=ALL_STATUSES))


# ----------------------------------------------------------------------------- SARIF


def test_sarif_of_stored_findings_is_valid_2_1_0(rows: list[dict[str, Any]]) -> None:
    import jsonschema

    document = build_findings_sarif(rows, (r.meta for r in CATALOG))
    jsonschema.Draft4Validator(json.loads(SARIF_SCHEMA.read_text())).validate(document)
    run = document["runs"][0]
    assert run["automationDetails"]["id"] == "stack-auditor/deployed-stacks/"
    results = run["results"]
    assert len(results) == len([r for r in rows if r["status"] != "RESOLVED"])
    notes = run["invocations"][0]["toolExecutionNotifications"]
    assert "1 RESOLVED finding(s) left out" in notes[0]["message"]["text"]
    (admin,) = [
        r
        for r in results
        if r["ruleId"] == "iam-admin-access" and "AdminRole" in r["message"]["text"]
    ]
    (location,) = admin["locations"]
    uri = f"stack/{ACCOUNT_A}/us-east-1/payments"
    assert location["physicalLocation"]["artifactLocation"]["uri"] == uri
    assert location["physicalLocation"]["region"] == {"startLine": 1}
    assert location["logicalLocations"] == [
        {
            "name": "AdminRole",
            "kind": "resource",
            "fullyQualifiedName": f"{uri}/Resources.AdminRole",
        },
        {"name": "payments", "kind": "module", "fullyQualifiedName": uri},
    ]
    assert admin["partialFingerprints"]["stackAuditorFindingId/v1"]
    suppressed = [r for r in results if "suppressions" in r]
    assert len(suppressed) == 1


# ----------------------------------------------------------------------------- ASFF


def test_asff_has_the_required_fields_and_deterministic_ids(rows: list[dict[str, Any]]) -> None:
    findings = json.loads(render_asff(rows))["Findings"]
    assert len(findings) == len(rows)
    for finding, row in zip(findings, rows, strict=True):
        assert set(finding) >= ASFF_REQUIRED
        assert finding["SchemaVersion"] == "2018-10-08"
        account, region = row["account"], row["region"]
        product = f"arn:aws:securityhub:{region}:{account}:product/{account}/default"
        assert finding["ProductArn"] == product
        assert finding["Id"] == f"{product}/stack-auditor/{row['finding_id']}"
        assert finding["GeneratorId"] == row["rule_id"]
        assert finding["AwsAccountId"] == account
        assert finding["Severity"]["Label"] == row["severity"]
        assert len(finding["Title"]) <= 256 and len(finding["Description"]) <= 1024
        assert finding["Types"] == ["Software and Configuration Checks/AWS Security Best Practices"]
        for resource in finding["Resources"]:
            assert {"Type", "Id", "Region", "Partition"} <= set(resource)
        assert finding["Resources"][-1]["Type"] == "AwsCloudFormationStack"
        assert finding["Remediation"]["Recommendation"]["Text"]
        expected = {
            "OPEN": ("ACTIVE", "NEW", "FAILED"),
            "SUPPRESSED": ("ACTIVE", "SUPPRESSED", "FAILED"),
            "RESOLVED": ("ARCHIVED", "RESOLVED", "PASSED"),
        }[row["status"]]
        got = (
            finding["RecordState"],
            finding["Workflow"]["Status"],
            finding["Compliance"]["Status"],
        )
        assert got == expected
    # deterministic: the same rows give the same document
    assert render_asff(rows) == render_asff(rows)
    assert len({f["Id"] for f in findings}) == len(findings)


def test_asff_partition_follows_the_region() -> None:
    ref = StackRef("s", "123456789012", "cn-north-1")
    row = {
        **make_finding(ref, "r", "X", Severity.LOW).to_dict(),
        "stack_name": "s",
        "account": "123456789012",
        "region": "cn-north-1",
    }
    finding = asff_finding(row)
    assert finding["ProductArn"].startswith("arn:aws-cn:securityhub:cn-north-1:")
    assert {r["Partition"] for r in finding["Resources"]} == {"aws-cn"}


# ----------------------------------------------------------------------------- CSV


def test_csv_has_a_header_and_one_row_per_finding(rows: list[dict[str, Any]]) -> None:
    text = render_csv(rows)
    assert text.splitlines()[0] == ",".join(COLUMNS)
    parsed = list(csv.DictReader(io.StringIO(text)))
    assert len(parsed) == len(rows)
    resolved = [r for r in parsed if r["status"] == "RESOLVED"]
    assert resolved[0]["resolved_at"] == "2026-11-21T09:00:00.000000Z"
    assert resolved[0]["introduced_at"] == "2026-11-20T09:00:00.000000Z"


# ----------------------------------------------------------------------------- Security Hub

ACCOUNT = "123456789012"  # moto's account: the one BatchImportFindings is called from
STACK_X = StackRef("stack-x", ACCOUNT, "us-east-1", status="UPDATE_COMPLETE", trigger="event")
STACK_Y = StackRef("stack-y", ACCOUNT, "us-east-1", status="UPDATE_COMPLETE", trigger="event")


def hub_states(client: Any) -> dict[str, tuple[str, str]]:
    found = client.get_findings(MaxResults=100)["Findings"]
    return {
        f["ProductFields"]["stack-auditor/FindingId"]: (f["RecordState"], f["Workflow"]["Status"])
        for f in found
    }


def test_security_hub_archives_only_what_the_audited_stack_resolved(table: Any) -> None:
    store = FindingsStore(table, clock=lambda: NOW)
    hub = boto3.client("securityhub", region_name="us-east-1")
    x1 = make_finding(STACK_X, "iam-admin-access", "Role", Severity.CRITICAL)
    x2 = make_finding(STACK_X, "queue-unencrypted", "Queue", Severity.HIGH)
    y1 = make_finding(STACK_Y, "iam-admin-access", "Role", Severity.CRITICAL)
    y2 = make_finding(STACK_Y, "queue-unencrypted", "Queue", Severity.HIGH)

    first_x = export_audit(hub, STACK_X, audit(store, STACK_X, [x1, x2], T1))
    first_y = export_audit(hub, STACK_Y, audit(store, STACK_Y, [y1, y2], T1))
    assert first_x.ok and first_x.to_dict() == {"active": 2, "archived": 0, "failed": 0}
    assert first_y.ok
    # stack-x fixes its admin role; stack-y's identical rule on "Role" must stay untouched
    second = export_audit(hub, STACK_X, audit(store, STACK_X, [x2], T2))
    assert second.to_dict() == {"active": 1, "archived": 1, "failed": 0}

    states = hub_states(hub)
    assert states[x1.finding_id] == ("ARCHIVED", "RESOLVED")
    assert states[x2.finding_id] == ("ACTIVE", "NEW")
    assert states[y1.finding_id] == ("ACTIVE", "NEW")
    assert states[y2.finding_id] == ("ACTIVE", "NEW")
    assert len(states) == 4  # re-imports updated in place (deterministic ids)


def test_security_hub_import_goes_in_batches_of_100(table: Any) -> None:
    store = FindingsStore(table, clock=lambda: NOW)
    hub = boto3.client("securityhub", region_name="us-east-1")
    sizes: list[int] = []
    hub.meta.events.register(
        "provide-client-params.securityhub.BatchImportFindings",
        lambda params, **_: sizes.append(len(params["Findings"])),
    )
    many = [make_finding(STACK_X, "queue-unencrypted", f"Q{i}", Severity.HIGH) for i in range(230)]
    result = export_audit(hub, STACK_X, audit(store, STACK_X, many, T1))
    assert sizes == [BATCH_SIZE, BATCH_SIZE, 30]
    assert result.to_dict() == {"active": 230, "archived": 0, "failed": 0}


class BrokenHub:
    def batch_import_findings(self, **_: Any) -> Any:
        raise RuntimeError("Security Hub is not enabled in this account")


@pytest.mark.parametrize("broken", [False, True])
def test_run_audit_exports_after_the_store_write_and_survives_failures(
    table: Any, broken: bool
) -> None:
    store = FindingsStore(table, clock=lambda: NOW)
    hub = BrokenHub() if broken else boto3.client("securityhub", region_name="us-east-1")
    x1 = make_finding(STACK_X, "iam-admin-access", "Role", Severity.CRITICAL)
    audit(store, STACK_X, [x1], T1)
    deleted = replace(STACK_X, status="DELETE_COMPLETE", event_id="delete-1", event_time=T2)
    result = run_audit(
        deleted,
        cfn_client=None,
        store=store,
        sns_client=None,
        topic_arn=None,
        config=AuditConfig(),
        securityhub_client=hub,
    )
    assert result.status is AuditStatus.DELETED  # the audit stands either way
    assert [f.finding_id for f in result.changes.resolved] == [x1.finding_id]  # type: ignore[union-attr]
    (latest, *_) = store.audits_for_stack(ACCOUNT, "us-east-1", "stack-x")
    if broken:
        assert "not enabled" in result.summary()["securityhub"]["error"]
        assert result.summary()["securityhub"]["failed"] == 1
        assert "not enabled" in latest["securityhub"]["error"]
    else:
        assert result.summary()["securityhub"] == {"active": 0, "archived": 1, "failed": 0}
        assert latest["securityhub"] == {"active": 0, "archived": 1, "failed": 0}
        assert hub_states(hub)[x1.finding_id] == ("ARCHIVED", "RESOLVED")


def test_no_security_hub_client_no_export(table: Any) -> None:
    store = FindingsStore(table, clock=lambda: NOW)
    audit(store, STACK_X, [make_finding(STACK_X, "r", "X", Severity.LOW)], T1)
    deleted = replace(STACK_X, status="DELETE_COMPLETE", event_id="d", event_time=T3)
    result = run_audit(
        deleted, cfn_client=None, store=store, sns_client=None, topic_arn=None, config=AuditConfig()
    )
    assert result.securityhub is None
    assert "securityhub" not in store.audits_for_stack(ACCOUNT, "us-east-1", "stack-x")[0]


# ----------------------------------------------------------------------------- CLI


def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_findings_json_for_a_stack(
    store: FindingsStore, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = cli(
        capsys,
        "findings",
        "--table",
        "findings",
        "--stack",
        "payments",
        "--account",
        ACCOUNT_A,
        "--region",
        "us-east-1",
        "--severity",
        "high",
        "--format",
        "json",
        "--explain",
    )
    assert code == 0, err
    document = json.loads(out)
    assert document["count"] == 2
    assert [f["logical_id"] for f in document["findings"]] == ["AdminRole", "JobsQueue"]
    assert document["findings"][0]["introduced_by"]["stack_status"] == "UPDATE_COMPLETE"
    assert err.startswith("Query table: pk = ")
    assert f'"STACK#{ACCOUNT_A}#us-east-1#payments"' in err


def test_cli_stack_account_defaults_to_the_caller(
    store: FindingsStore, capsys: pytest.CaptureFixture[str]
) -> None:
    # moto's STS answers 123456789012, which has no payments stack
    code, out, err = cli(
        capsys, "findings", "--table", "findings", "--stack", "payments", "--format", "json"
    )
    assert code == 0, err
    assert json.loads(out)["count"] == 0


@pytest.mark.parametrize("fmt", ["table", "csv", "sarif", "asff"])
def test_cli_findings_every_format(
    store: FindingsStore,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    fmt: str,
) -> None:
    monkeypatch.setenv("STACK_AUDITOR_TABLE", "findings")
    code, out, err = cli(capsys, "findings", "--rule", "iam-admin-access", "--format", fmt)
    assert code == 0, err
    if fmt == "table":
        assert "AdminRole" in out and "BillingRole" in out and "2 findings in 2 stack(s)" in out
    elif fmt == "csv":
        assert len(out.splitlines()) == 3
    elif fmt == "sarif":
        assert len(json.loads(out)["runs"][0]["results"]) == 2
    else:
        assert len(json.loads(out)["Findings"]) == 2


def test_cli_history(store: FindingsStore, capsys: pytest.CaptureFixture[str]) -> None:
    base = ["--table", "findings", "--stack", "payments", "--account", ACCOUNT_A]
    code, out, err = cli(capsys, "history", *base, "--format", "json")
    assert code == 0, err
    audits = json.loads(out)["audits"]
    assert [a["counts"]["resolved"] for a in audits] == [1, 0]
    assert [f["logical_id"] for f in audits[0]["resolved"]] == ["DlqQueue"]
    code, out, err = cli(capsys, "history", *base)
    assert code == 0, err
    assert "UPDATE_COMPLETE (event)" in out
    assert "- HIGH queue-unencrypted DlqQueue" in out
    assert "+ CRITICAL iam-admin-access AdminRole" in out


def test_cli_errors_are_one_line(table: Any, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = cli(capsys, "findings")
    assert code == 2 and "no findings table" in err
    code, _, err = cli(capsys, "findings", "--table", "no-such-table")
    assert code == 3 and "ResourceNotFoundException" in err and len(err.splitlines()) == 1
    code, _, err = cli(capsys, "findings", "--table", "findings", "--since", "yesterday")
    assert code == 2 and "--since" in err


def test_cli_since_accepts_durations(
    store: FindingsStore, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = cli(
        capsys, "findings", "--table", "findings", "--since", "2026-11-22", "--format", "json"
    )
    assert code == 0, err
    assert {f["stack_name"] for f in json.loads(out)["findings"]} == {"billing"}
    from datetime import UTC, datetime, timedelta

    from stack_auditor.cli import _since
    from stack_auditor.findings import parse_time

    week_ago = parse_time(_since("7d") or "")
    assert abs(week_ago - (datetime.now(UTC) - timedelta(days=7))) < timedelta(minutes=1)


# ----------------------------------------------------------------------------- handler wiring


@pytest.mark.parametrize(("export", "retention"), [("true", "30"), ("", "")])
def test_handler_wires_retention_and_the_security_hub_option(
    table: Any, monkeypatch: pytest.MonkeyPatch, export: str, retention: str
) -> None:
    import importlib.util

    root = Path(__file__).resolve().parents[1]
    spec = importlib.util.spec_from_file_location(
        "audit_app_wiring", root / "functions/audit/app.py"
    )
    assert spec is not None and spec.loader is not None
    app = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(app)
    monkeypatch.setenv("FINDINGS_TABLE", "findings")
    monkeypatch.setenv("SECURITY_HUB_EXPORT", export)
    monkeypatch.setenv("FINDINGS_RETENTION_DAYS", retention)
    clients = app._clients()
    assert (clients["securityhub"] is not None) is (export == "true")
    assert clients["store"]._retention_days == (int(retention) if retention else 365)


def test_csv_cells_cannot_become_formulas() -> None:
    """Names and messages come from audited templates: a leading '=' must not run in Excel."""
    from stack_auditor.output.csvout import render_csv

    text = render_csv(
        [{"logical_id": '=HYPERLINK("http://x","y")', "message": "-1+2", "severity": "HIGH"}]
    )
    row = text.splitlines()[1]
    assert "'=HYPERLINK" in row and "'-1+2" in row and ",HIGH," in row
