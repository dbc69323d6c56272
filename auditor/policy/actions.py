"""S3 actions the engine enumerates, with the kind of resource each acts on; actions of other services (SQS,
KMS, …) are judged like any other action but act on resources of their own shape."""

from __future__ import annotations

from functools import lru_cache

_OBJECT = """
AbortMultipartUpload BypassGovernanceRetention DeleteObject DeleteObjectTagging DeleteObjectVersion
DeleteObjectVersionTagging GetObject GetObjectAcl GetObjectAttributes GetObjectLegalHold GetObjectRetention
GetObjectTagging GetObjectTorrent GetObjectVersion GetObjectVersionAcl GetObjectVersionAttributes
GetObjectVersionForReplication GetObjectVersionTagging GetObjectVersionTorrent InitiateReplication
ListMultipartUploadParts ObjectOwnerOverrideToBucketOwner PutObject PutObjectAcl PutObjectLegalHold
PutObjectRetention PutObjectTagging PutObjectVersionAcl PutObjectVersionTagging ReplicateDelete ReplicateObject
ReplicateTags RestoreObject
"""
_BUCKET = """
CreateBucket DeleteBucket DeleteBucketOwnershipControls DeleteBucketPolicy DeleteBucketWebsite
GetAccelerateConfiguration GetAnalyticsConfiguration GetBucketAcl GetBucketCORS GetBucketLocation
GetBucketLogging GetBucketNotification GetBucketObjectLockConfiguration GetBucketOwnershipControls
GetBucketPolicy GetBucketPolicyStatus GetBucketPublicAccessBlock GetBucketRequestPayment GetBucketTagging
GetBucketVersioning GetBucketWebsite GetEncryptionConfiguration GetIntelligentTieringConfiguration
GetInventoryConfiguration GetLifecycleConfiguration GetMetricsConfiguration GetReplicationConfiguration
ListBucket ListBucketMultipartUploads ListBucketVersions PutAccelerateConfiguration PutAnalyticsConfiguration
PutBucketAcl PutBucketCORS PutBucketLogging PutBucketNotification PutBucketObjectLockConfiguration
PutBucketOwnershipControls PutBucketPolicy PutBucketPublicAccessBlock PutBucketRequestPayment PutBucketTagging
PutBucketVersioning PutBucketWebsite PutEncryptionConfiguration PutIntelligentTieringConfiguration
PutInventoryConfiguration PutLifecycleConfiguration PutMetricsConfiguration PutReplicationConfiguration
"""

OBJECT_ACTIONS = tuple(f"s3:{a}" for a in _OBJECT.split())
BUCKET_ACTIONS = tuple(f"s3:{a}" for a in _BUCKET.split())
KNOWN_ACTIONS = OBJECT_ACTIONS + BUCKET_ACTIONS
_LEVEL = {a.lower(): "object" for a in OBJECT_ACTIONS} | {a.lower(): "bucket" for a in BUCKET_ACTIONS}


@lru_cache(maxsize=1024)
def level(action: str) -> str:
    """``object``, ``bucket``, ``any`` (an S3 action the engine does not know) or ``service`` (an action of
    another service, e.g. ``sqs:SendMessage``, ``kms:Decrypt``: its resource is no bucket or object)."""
    lc = action.lower()
    if lc in _LEVEL:
        return _LEVEL[lc]
    return "service" if ":" in lc and not lc.startswith("s3:") else "any"


def service(action: str) -> str:
    """The service prefix of an action (``sqs`` for ``sqs:SendMessage``), lower case."""
    return action.split(":", 1)[0].lower() if ":" in action else ""
