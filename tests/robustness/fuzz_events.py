"""Hypothesis strategies for EventBridge events (imported as ``fuzz_events``).

``valid_events`` builds "CloudFormation Stack Status Change" events the way EventBridge sends
them, over every stack name, account, region and status CloudFormation allows. ``events``
mixes those with mutated ones: fields deleted, set to null, to values of the wrong type, to
nested junk, to huge or adversarial strings (newlines, bidi overrides, lone surrogates, other
scripts' digits), near-miss stack ARNs, and inputs that are not objects at all. Each case is
``(family, event, expected)``: ``expected`` is the action a valid event must get, None for
mutants (any action will do, as long as it is a well-formed answer).
"""

from __future__ import annotations

import copy
import uuid
from datetime import datetime
from typing import Any

from hypothesis import strategies as st
from stack_auditor.event import AUDITED_STATUSES, DETAIL_TYPE, SOURCE, EventAction

OTHER_STATUSES = (
    "CREATE_IN_PROGRESS",
    "CREATE_FAILED",
    "ROLLBACK_IN_PROGRESS",
    "ROLLBACK_COMPLETE",
    "UPDATE_IN_PROGRESS",
    "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS",
    "UPDATE_ROLLBACK_FAILED",
    "DELETE_IN_PROGRESS",
    "DELETE_FAILED",
    "IMPORT_ROLLBACK_COMPLETE",
    "REVIEW_IN_PROGRESS",
)
REGIONS = (
    "us-east-1",
    "eu-west-3",
    "ap-southeast-2",
    "us-gov-west-1",
    "cn-north-1",
    "il-central-1",
)
PARTITIONS = {"us-gov-west-1": "aws-us-gov", "cn-north-1": "aws-cn"}

# Strings that have broken parsers and renderers elsewhere.
NASTY_STRINGS = (
    "",
    " ",
    "\n",
    "CREATE_COMPLETE\n",
    "CREATE_COMPLETE\x00",
    "create_complete",
    "\u202eETELPMOC_ETAERC",  # right-to-left override
    "\ud800",  # lone surrogate (json.loads produces these)
    "\x1b[31mred\x1b[0m",
    "١٢٣٤٥٦٧٨٩٠١٢",  # Arabic-Indic digits: \\d matches them without re.ASCII
    "123456789012\n",
    "2026-13-45T99:99:99Z",
    "0000-00-00T00:00:00",
    "<script>alert(1)</script>",
    "[RESOLVED] all fixed\n@channel",
    "null",
    "{}",
    "NaN",
)

_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
# Stack names: a letter, then up to 127 letters, digits and hyphens (from_regex is 5x slower).
names = st.builds(
    lambda first, rest: first + rest,
    st.sampled_from(_LETTERS),
    st.text(alphabet=_LETTERS + "0123456789-", max_size=127),
)
accounts = st.integers(0, 10**12 - 1).map(lambda n: f"{n:012d}")
tokens = st.builds(
    lambda first, rest: first + rest,
    st.sampled_from(_LETTERS + "0123456789"),
    st.text(alphabet=_LETTERS + "0123456789-", max_size=127),
)
statuses = st.sampled_from(sorted(AUDITED_STATUSES) + list(OTHER_STATUSES))
texts = st.text(max_size=40)
huge_texts = st.builds(
    lambda char, count: char * count, st.characters(), st.integers(1_000, 400_000)
)
json_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=10**30, max_value=10**300)
    | st.floats(allow_nan=True, allow_infinity=True)
    | texts
    | st.sampled_from(NASTY_STRINGS)
)
junk = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(texts, inner, max_size=4),
    max_leaves=12,
)


def stack_arn(partition: str, region: str, account: str, name: str, stack_uuid: str) -> str:
    return f"arn:{partition}:cloudformation:{region}:{account}:stack/{name}/{stack_uuid}"


@st.composite
def valid_events(draw: st.DrawFn) -> dict[str, Any]:
    region = draw(st.sampled_from(REGIONS))
    account = draw(accounts)
    arn = stack_arn(
        PARTITIONS.get(region, "aws"),
        region,
        account,
        draw(names),
        str(uuid.UUID(int=draw(st.integers(0, 2**128 - 1)))),
    )
    status_details: dict[str, Any] = {"status": draw(statuses)}
    if draw(st.booleans()):
        status_details["status-reason"] = draw(texts)
    detail: dict[str, Any] = {"stack-id": arn, "status-details": status_details}
    if draw(st.booleans()):
        detail["client-request-token"] = draw(tokens)
    moment = draw(st.datetimes(datetime(2011, 1, 1))).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {
        "version": "0",
        "id": str(uuid.UUID(int=draw(st.integers(0, 2**128 - 1)))),
        "detail-type": DETAIL_TYPE,
        "source": SOURCE,
        "account": account,
        "time": moment,
        "region": region,
        "resources": [arn],
        "detail": detail,
    }


# Paths of the fields the parser reads (and a few it does not).
FIELDS: tuple[tuple[str, ...], ...] = (
    ("source",),
    ("detail-type",),
    ("detail",),
    ("account",),
    ("region",),
    ("time",),
    ("id",),
    ("version",),
    ("resources",),
    ("detail", "stack-id"),
    ("detail", "status-details"),
    ("detail", "client-request-token"),
    ("detail", "status-details", "status"),
    ("detail", "status-details", "status-reason"),
)


def near_miss_arns(event: dict[str, Any]) -> st.SearchStrategy[str]:
    arn = event["detail"]["stack-id"]
    return st.sampled_from(
        [
            arn + "\n",
            arn + "/extra",
            arn.upper(),
            arn.replace(event["account"], "١٢٣٤٥٦٧٨٩٠١٢"),
            arn.replace(":stack/", ":stackset/"),
            arn.replace("arn:", "arn :"),
            arn[:-1],
            "\u202e" + arn,
            arn.replace(event["region"], event["region"].upper()),
        ]
    )


@st.composite
def mutated_events(draw: st.DrawFn) -> dict[str, Any]:
    event = copy.deepcopy(draw(valid_events()))
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(FIELDS))
        parent: Any = event
        for key in path[:-1]:
            parent = parent.get(key) if isinstance(parent, dict) else None
        if not isinstance(parent, dict):
            continue
        key = path[-1]
        operation = draw(
            st.sampled_from(("delete", "null", "junk", "wrap", "huge", "nasty", "arn"))
        )
        if operation == "delete":
            parent.pop(key, None)
        elif operation == "null":
            parent[key] = None
        elif operation == "junk":
            parent[key] = draw(junk)
        elif operation == "wrap":
            parent[key] = [parent.get(key)] if draw(st.booleans()) else {key: parent.get(key)}
        elif operation == "huge":
            parent[key] = draw(huge_texts)
        elif operation == "nasty":
            parent[key] = draw(st.sampled_from(NASTY_STRINGS))
        elif isinstance(event.get("detail"), dict):
            event["detail"]["stack-id"] = draw(near_miss_arns(draw(valid_events())))
    return event


def expected_action(event: dict[str, Any]) -> EventAction:
    status = event["detail"]["status-details"]["status"]
    return EventAction.AUDIT if status in AUDITED_STATUSES else EventAction.IGNORE


cases = st.one_of(
    valid_events().map(lambda e: ("valid", e, expected_action(e))),
    mutated_events().map(lambda e: ("mutated", e, None)),
    junk.map(lambda e: ("not an event", e, None)),
    st.dictionaries(st.sampled_from([f[0] for f in FIELDS] + ["detail"]), junk, max_size=8).map(
        lambda e: ("junk fields", e, None)
    ),
)
