"""S3 live state: each bucket's public access block and bucket policy.

Per bucket (physical id = bucket name): ``GetPublicAccessBlock`` fills
``live["PublicAccessBlockConfiguration"]`` and ``GetBucketPolicy`` fills ``live["Policy"]``
(the policy document parsed from its JSON text). A bucket without a block or a policy is not
an error: the key is None. Default encryption (``GetBucketEncryption``) is not read: no rule
judges it (S3 encrypts every new object since January 2023), so the call would cost without
informing a verdict.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence

from stack_auditor.collect.live import Collector, LiveContext, Task, each, is_error
from stack_auditor.model import Resource

BUCKET = "AWS::S3::Bucket"


def _plan(context: LiveContext, buckets: Sequence[Resource]) -> Iterable[Task]:
    client = context.client("s3")

    def read_public_access_block(bucket: Resource) -> None:
        try:
            response = client.get_public_access_block(Bucket=bucket.physical_id)
        except Exception as exc:
            if not is_error(exc, "NoSuchPublicAccessBlockConfiguration"):
                raise
            block = None
        else:
            block = dict(response.get("PublicAccessBlockConfiguration") or {})
        context.put(bucket.logical_id, {"PublicAccessBlockConfiguration": block})

    def read_policy(bucket: Resource) -> None:
        try:
            response = client.get_bucket_policy(Bucket=bucket.physical_id)
        except Exception as exc:
            if not is_error(exc, "NoSuchBucketPolicy"):
                raise
            policy = None
        else:
            policy = json.loads(response["Policy"])
        context.put(bucket.logical_id, {"Policy": policy})

    yield from each(buckets, "s3:GetBucketPublicAccessBlock", read_public_access_block)
    yield from each(buckets, "s3:GetBucketPolicy", read_policy)


COLLECTOR = Collector(
    service="s3",
    types=(BUCKET,),
    actions=("s3:GetBucketPublicAccessBlock", "s3:GetBucketPolicy"),
    plan=_plan,
    reads="PublicAccessBlockConfiguration, Policy",
)
