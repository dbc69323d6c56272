# The container command of examples/aws/auditor-task-definition.json (kept there as one string; this copy is
# what tests/test_org.py runs). The image's entry point is auditor; the task definition overrides it with
# `sh -c` and this script, which scans one shard (AUDITOR_MODE=scan) or merges every shard (AUDITOR_MODE=merge)
# and moves the reports to and from S3 with the boto3 the image already holds. It exits 0 when a report was
# written (auditor's 0, 1 and 3), else with auditor's code, so the state machine fails only a shard that could
# not run. Environment: AUDITOR_MODE, AUDITOR_SHARD (I/N), AUDITOR_RESULTS (s3://bucket/prefix),
# AUDITOR_SCAN_ROLE, AUDITOR_SCAN_ARGS (default --all-regions).
set -u
out="${TMPDIR:-/tmp}/auditor"
mkdir -p "$out/in"
s3() {
  python - "$@" <<'PY'
import sys
from pathlib import Path
from urllib.parse import urlparse

import boto3

verb, url = sys.argv[1], urlparse(sys.argv[2])
bucket, key = url.netloc, url.path.lstrip("/")
s3 = boto3.client("s3")
if verb == "put":
    for name in sys.argv[3:]:
        s3.upload_file(name, bucket, f"{key}/{Path(name).name}")
else:
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=f"{key}/"):
        for item in page.get("Contents", []):
            s3.download_file(bucket, item["Key"], str(Path(sys.argv[3]) / Path(item["Key"]).name))
PY
}
if [ "${AUDITOR_MODE:-scan}" = merge ]; then
  s3 get "$AUDITOR_RESULTS/shards" "$out/in" || exit 2
  auditor merge "$out"/in/*.json --format markdown --output "$out/summary.md" \
    --json-output "$out/organization.json" --fail-on never
  code=$?
  s3 put "$AUDITOR_RESULTS" "$out/summary.md" "$out/organization.json" || exit 5
else
  name="shard-$(echo "$AUDITOR_SHARD" | tr / -).json"
  # shellcheck disable=SC2086  # AUDITOR_SCAN_ARGS is a list of options
  auditor scan --org-role "$AUDITOR_SCAN_ROLE" --shard "$AUDITOR_SHARD" ${AUDITOR_SCAN_ARGS:---all-regions} \
    --format json --output "$out/$name" --fail-on never
  code=$?
  if [ -f "$out/$name" ]; then s3 put "$AUDITOR_RESULTS/shards" "$out/$name" || exit 5; fi
fi
case "$code" in 0|1|3) exit 0 ;; *) exit "$code" ;; esac
