"""suppression_for(): which verdicts a template's suppressions silence."""

from __future__ import annotations

from typing import Any

from stack_auditor.model import Outcome, Resource, StackRef, StackSnapshot, Verdict, freeze
from stack_auditor.suppressions import suppression_for


def _suppress(rule: str, reason: str | None = "accepted: reviewed") -> dict[str, Any]:
    entry = {"rule": rule} if reason is None else {"rule": rule, "reason": reason}
    return {"stack-auditor": {"suppress": [entry]}}


def _snapshot(top: dict[str, Any] | None = None, **metadata: dict[str, Any]) -> StackSnapshot:
    written = {
        "Fn": {"Type": "AWS::Serverless::Function", "Metadata": metadata.get("Fn", {})},
        "Queue": {"Type": "AWS::SQS::Queue", "Metadata": metadata.get("Queue", {})},
    }
    template = freeze({"Metadata": top or {}, "Resources": written})
    resources = {
        "Fn": Resource(
            "Fn", "AWS::Lambda::Function", freeze({}), freeze({}), source_logical_id="Fn"
        ),
        "FnRole": Resource(
            "FnRole", "AWS::IAM::Role", freeze({}), freeze({}), source_logical_id="Fn"
        ),
        "Queue": Resource("Queue", "AWS::SQS::Queue", freeze({}), freeze({})),
    }
    return StackSnapshot(StackRef("demo"), template, template, freeze(resources))


def _verdict(rule: str, logical_id: str | None) -> Verdict:
    return Verdict(rule, Outcome.FAIL, logical_id, None, "m")


def test_resource_suppression_applies_to_that_resource_only() -> None:
    snapshot = _snapshot(Queue=_suppress("sqs-queue-unencrypted", "holds public ids"))
    assert (
        suppression_for(snapshot, _verdict("sqs-queue-unencrypted", "Queue")) == "holds public ids"
    )
    assert suppression_for(snapshot, _verdict("sqs-queue-unencrypted", "Fn")) is None
    assert suppression_for(snapshot, _verdict("required-tags-missing", "Queue")) is None


def test_sam_resource_suppression_covers_generated_resources() -> None:
    snapshot = _snapshot(Fn=_suppress("iam-wildcard-resource"))
    assert suppression_for(snapshot, _verdict("iam-wildcard-resource", "FnRole")) is not None


def test_stack_suppression_covers_every_resource_and_template_findings() -> None:
    snapshot = _snapshot(top=_suppress("required-tags-missing"))
    assert suppression_for(snapshot, _verdict("required-tags-missing", "Queue")) is not None
    assert suppression_for(snapshot, _verdict("required-tags-missing", None)) is not None


def test_suppression_without_reason_does_not_suppress() -> None:
    for reason in (None, "", "   "):
        snapshot = _snapshot(Queue=_suppress("sqs-queue-unencrypted", reason))
        assert suppression_for(snapshot, _verdict("sqs-queue-unencrypted", "Queue")) is None


def test_unknown_rule_id_does_not_suppress() -> None:
    snapshot = _snapshot(Queue=_suppress("sqs-queue-unencrpyted"))
    assert suppression_for(snapshot, _verdict("sqs-queue-unencrpyted", "Queue")) is None


def test_the_report_of_an_invalid_suppression_cannot_be_suppressed() -> None:
    snapshot = _snapshot(top=_suppress("suppression-without-reason"))
    assert suppression_for(snapshot, _verdict("suppression-without-reason", None)) is None
