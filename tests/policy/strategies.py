"""Hypothesis strategies: generated bucket policies and concrete requests consistent with AWS's key rules."""

from __future__ import annotations

import ipaddress

from hypothesis import strategies as st

from auditor.policy.context import DERIVED_KEYS, PATHS, SERVICE, Principal, presence
from auditor.policy.net import is_private

BUCKET = "b"
ACCOUNTS = ["111122223333", "444455556666"]
ARNS = ["arn:aws:iam::111122223333:role/admin", "arn:aws:iam::111122223333:root",
        "arn:aws:iam::444455556666:role/x", "arn:aws:iam::999988887777:user/u",
        "arn:aws:sts::111122223333:assumed-role/admin/session"]
SERVICES = ["cloudtrail.amazonaws.com", "logging.s3.amazonaws.com", "other.amazonaws.com"]
ACTIONS = ["s3:GetObject", "s3:*", "s3:Get*", "s3:PutObject", "s3:ListBucket", "*", "s3:getobject", "s3:Put?bject"]
RESOURCES = ["arn:aws:s3:::b/*", "arn:aws:s3:::b", "arn:aws:s3:::b/private/*", "*", "arn:aws:s3:::b/p?b*",
             "arn:aws:s3:::other/*"]
CIDRS = ["203.0.113.0/24", "203.0.113.128/25", "198.51.100.7", "0.0.0.0/0", "10.0.0.0/8", "2001:db8::/32",
         "123.456.789.0/24", "203.0.113.5/24", "::/0"]
VPCS = ["vpc-1a2b3c4d", "vpc-0123456789abcdef0", "vpc-1*", "*", "VPC-1A2B3C4D"]
VPCES = ["vpce-1a2b3c4d", "vpce-9*", "vpce-1a2b3c4d?"]
ORGS = ["o-abc123", "o-xyz*"]
STR_OPS = ["StringEquals", "StringNotEquals", "StringLike", "StringNotLike", "StringEqualsIgnoreCase",
           "StringNotEqualsIgnoreCase"]


def _op(base):
    return st.tuples(st.sampled_from(["", "IfExists"]), st.just(base)).map(lambda t: t[1] + t[0])


def clause():
    ip = st.tuples(st.sampled_from(["IpAddress", "NotIpAddress"]).flatmap(_op),
                   st.sampled_from(["aws:SourceIp", "aws:sourceip", "aws:VpcSourceIp"]),
                   st.lists(st.sampled_from(CIDRS), min_size=1, max_size=3))
    vpc = st.tuples(st.sampled_from(STR_OPS).flatmap(_op), st.sampled_from(["aws:SourceVpc"]),
                    st.lists(st.sampled_from(VPCS), min_size=1, max_size=2))
    vpce = st.tuples(st.sampled_from(STR_OPS).flatmap(_op), st.just("aws:SourceVpce"),
                     st.lists(st.sampled_from(VPCES), min_size=1, max_size=2))
    org = st.tuples(st.sampled_from(STR_OPS).flatmap(_op), st.just("aws:PrincipalOrgID"),
                    st.lists(st.sampled_from(ORGS), min_size=1, max_size=2))
    acct = st.tuples(st.sampled_from(["StringEquals", "StringNotEquals", "StringLike"]),
                     st.just("aws:PrincipalAccount"), st.lists(st.sampled_from(ACCOUNTS + ["1111*"]), min_size=1,
                                                               max_size=2))
    parn = st.tuples(st.sampled_from(["ArnLike", "ArnNotLike", "ArnEquals", "StringLike"]),
                     st.just("aws:PrincipalArn"),
                     st.lists(st.sampled_from(["arn:aws:iam::111122223333:role/*", "arn:aws:iam::*:role/admin",
                                               ARNS[0], ARNS[2]]), min_size=1, max_size=2))
    tls = st.tuples(st.just("Bool"), st.just("aws:SecureTransport"), st.sampled_from([["true"], ["false"], [True]]))
    null = st.tuples(st.just("Null"), st.sampled_from(["aws:SourceVpce", "aws:SourceIp", "aws:PrincipalOrgID"]),
                     st.sampled_from([["true"], ["false"]]))
    num = st.tuples(st.sampled_from(["NumericLessThan", "NumericGreaterThanEquals", "NumericEquals"]),
                    st.just("s3:max-keys"), st.lists(st.sampled_from(["10", "5", "x"]), min_size=1, max_size=2))
    paths = st.tuples(st.sampled_from(["ForAnyValue:StringLike", "ForAllValues:StringEquals",
                                       "ForAnyValue:StringNotEquals"]),
                      st.just("aws:PrincipalOrgPaths"),
                      st.lists(st.sampled_from(["o-a/r-1/ou-1/*", "o-a/r-1/ou-2/"]), min_size=1, max_size=2))
    svc = st.tuples(st.sampled_from(["StringEquals", "StringNotEquals"]), st.just("aws:SourceAccount"),
                    st.lists(st.sampled_from(ACCOUNTS), min_size=1, max_size=2))
    bad = st.tuples(st.just("StringEqualz"), st.just("aws:SourceVpc"), st.just(["vpc-1a2b3c4d"]))
    return st.one_of(ip, vpc, vpce, org, acct, parn, tls, null, num, paths, svc, bad)


def principal_spec():
    return st.one_of(
        st.just("*"),
        st.just({"AWS": "*"}),
        st.fixed_dictionaries({"AWS": st.lists(st.sampled_from(ACCOUNTS + ARNS[:3] + ["arn:aws:iam::444455556666:root"]),
                                               min_size=1, max_size=2)}),
        st.fixed_dictionaries({"Service": st.sampled_from(SERVICES[:2])}),
    )


def statement(max_clauses: int = 3):
    def build(t):
        effect, pkey, p, akey, a, rkey, r, conds, sid = t
        out = {"Sid": sid, "Effect": effect, pkey: p, akey: a, rkey: r}
        if conds:
            cond: dict = {}
            for op, key, vals in conds:
                cond.setdefault(op, {})[key] = vals if len(vals) > 1 else vals[0]
            out["Condition"] = cond
        return out

    return st.tuples(
        st.sampled_from(["Allow", "Deny"]),
        st.sampled_from(["Principal", "Principal", "NotPrincipal"]),
        principal_spec(),
        st.sampled_from(["Action", "Action", "NotAction"]),
        st.lists(st.sampled_from(ACTIONS), min_size=1, max_size=2),
        st.sampled_from(["Resource", "Resource", "NotResource"]),
        st.lists(st.sampled_from(RESOURCES), min_size=1, max_size=2),
        st.lists(clause(), max_size=max_clauses),
        st.text(alphabet="abcdefgh", min_size=1, max_size=4),
    ).map(build)


def policies():
    return st.lists(statement(), min_size=1, max_size=4).map(
        lambda sts: {"Version": "2012-10-17", "Statement": sts})


#: Prefixes of the keys that :func:`large_policies` gives each statement one of its own.
OWN_KEY_PREFIXES = ["aws:PrincipalTag/", "s3:ExistingObjectTag/", "aws:RequestTag/", "s3:x-amz-meta-"]
OWN_KEY_OPS = ["StringEquals", "StringNotEquals", "StringLike", "StringNotEqualsIfExists", "StringEqualsIfExists",
               "Null"]


def own_key(i: int, prefix: str) -> str:
    return f"{prefix}k{i}"


def large_policies(min_size: int = 24, max_size: int = 32):
    """Policies past the size where the analysis used to stop: each statement (Allow or Deny, on its own prefix
    or the whole bucket) names a condition key of its own, with or without conditions shared with others."""

    def build(items):
        out = []
        for i, (base, op, prefix, value, prefix_res) in enumerate(items):
            sta = dict(base)
            cond = {k: dict(v) for k, v in sta.get("Condition", {}).items()}
            cond.setdefault(op, {})[own_key(i, prefix)] = \
                ("true" if value else "false") if op == "Null" else ("v*" if op == "StringLike" else "v")
            sta["Condition"] = cond
            if prefix_res and "Resource" in sta:
                sta["Resource"] = f"arn:aws:s3:::{BUCKET}/p{i}/*"
            out.append(sta)
        return {"Version": "2012-10-17", "Statement": out}

    return st.lists(st.tuples(statement(max_clauses=1), st.sampled_from(OWN_KEY_OPS),
                              st.sampled_from(OWN_KEY_PREFIXES), st.booleans(), st.booleans()),
                    min_size=min_size, max_size=max_size).map(build)


def shaped_policies(min_size: int = 24, max_size: int = 32):
    """Policies of the shapes found on real accounts past the old limit: per-prefix statements each on a key of
    its own, with or without a lock-out pair (deny unless from the office / deny unless through the VPC) and
    an Allow for everyone that is open, guarded by a requester-chosen value, or restricted."""
    b = f"arn:aws:s3:::{BUCKET}"
    own = st.tuples(st.sampled_from(["Allow", "Deny"]), st.sampled_from(["*", {"AWS": ACCOUNTS[0]}]),
                    st.sampled_from(["s3:*", "s3:GetObject", ["s3:GetObject", "s3:PutObject"]]), st.booleans(),
                    st.sampled_from(OWN_KEY_OPS[:5]), st.sampled_from(OWN_KEY_PREFIXES))
    lockout = st.sampled_from([None, "s3:*", "s3:GetObject", "s3:PutObject"])
    allow = st.sampled_from([None, {}, {"StringLike": {"aws:Referer": "https://shop.example/*"}},
                             {"StringEquals": {"aws:PrincipalTag/access": "rw"}},
                             {"StringEquals": {"aws:PrincipalOrgID": "o-abc123"}},
                             {"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}}])

    def build(t):
        items, lock, cond = t
        out = []
        for i, (effect, principal, action, prefix_res, op, key_prefix) in enumerate(items):
            out.append({"Sid": f"S{i}", "Effect": effect, "Principal": principal, "Action": action,
                        "Resource": f"{b}/p{i}/*" if prefix_res else [b, f"{b}/*"],
                        "Condition": {op: {own_key(i, key_prefix): "v*" if op == "StringLike" else "v"}}})
        if lock:
            out += [{"Sid": "DenyNotIp", "Effect": "Deny", "Principal": "*", "Action": lock, "Resource": [b, f"{b}/*"],
                     "Condition": {"NotIpAddress": {"aws:SourceIp": "203.0.113.0/24"}}},
                    {"Sid": "DenyNotVpc", "Effect": "Deny", "Principal": "*", "Action": lock,
                     "Resource": [b, f"{b}/*"], "Condition": {"StringNotEquals": {"aws:SourceVpc": "vpc-1a2b3c4d"}}}]
        if cond is not None:
            out.append({"Sid": "Everyone", "Effect": "Allow", "Principal": "*", "Action": ["s3:GetObject", "s3:PutObject"],
                        "Resource": f"{b}/*", **({"Condition": cond} if cond else {})})
        return {"Version": "2012-10-17", "Statement": out}

    return st.tuples(st.lists(own, min_size=min_size, max_size=max_size), lockout, allow).map(build)


def _public_ip():
    v4 = st.sampled_from(["203.0.113.9", "203.0.113.200", "198.51.100.7", "198.51.100.8", "8.8.8.8", "1.2.3.4"])
    rnd = st.ip_addresses().filter(lambda a: not is_private(a)).map(str)
    return st.one_of(v4, rnd)


def _any_ip():
    return st.one_of(st.sampled_from(["10.0.3.4", "10.1.2.3", "172.16.0.1"]), st.ip_addresses().map(str))


def _value(key):
    pools = {
        "aws:sourceip": _public_ip(),
        "aws:vpcsourceip": _any_ip(),
        "aws:sourcevpc": st.one_of(st.sampled_from(VPCS + ["vpc-1", "vpc-9", "vpc-1a2b3c4d"]), st.text(max_size=8)),
        "aws:sourcevpce": st.one_of(st.sampled_from(["vpce-1a2b3c4d", "vpce-1a2b3c4dx", "vpce-9", "vpce-"]),
                                    st.text(max_size=8)),
        "aws:principalorgid": st.sampled_from(["o-abc123", "o-xyz", "o-xyz1", "o-other"]),
        "aws:securetransport": st.sampled_from(["true", "false"]),
        "s3:max-keys": st.sampled_from(["1", "5", "7", "10", "11", "abc"]),
        "aws:sourceaccount": st.sampled_from(ACCOUNTS + ["000000000000"]),
        "aws:principalorgpaths": st.lists(st.sampled_from(["o-a/r-1/ou-1/x/", "o-a/r-1/ou-2/", "o-b/r/"]),
                                          min_size=1, max_size=3, unique=True).map(tuple),
    }
    return pools.get(key, st.text(max_size=6))


KEYS = ["aws:sourceip", "aws:vpcsourceip", "aws:sourcevpc", "aws:sourcevpce", "aws:principalorgid",
        "aws:securetransport", "s3:max-keys", "aws:sourceaccount", "aws:principalorgpaths"]


@st.composite
def requests(draw, extra_keys: tuple[str, ...] = ()):
    """A concrete request; ``extra_keys`` (lower case, each "maybe present") get "v", "vx" or another value."""
    from auditor.policy.actions import level
    from auditor.policy.context import ANONYMOUS, Request

    path = draw(st.sampled_from(PATHS))
    if path == SERVICE:
        principal = Principal("Service", draw(st.sampled_from(SERVICES)))
    else:
        principal = draw(st.one_of(st.just(ANONYMOUS), st.sampled_from(ARNS).map(lambda a: Principal("AWS", a))))
    keys = {}
    for k in KEYS:
        if k in DERIVED_KEYS:
            continue
        pres = presence(k, path, principal)
        if pres == "yes" or (pres == "maybe" and draw(st.booleans())):
            keys[k] = draw(_value(k))
    for k in extra_keys:
        if presence(k, path, principal) != "no" and draw(st.booleans()):
            keys[k] = draw(st.sampled_from(["v", "vx", "other"]))
    action = draw(st.sampled_from(["s3:GetObject", "s3:PutObject", "s3:ListBucket", "s3:GetObjectVersion",
                                   "s3:DeleteBucket", "s3:Frobnicate", "S3:GETOBJECT"]))
    lv = level(action)
    objects = ["arn:aws:s3:::b/x", "arn:aws:s3:::b/private/y", "arn:aws:s3:::b/pxb", "arn:aws:s3:::b/"]
    objects += [f"arn:aws:s3:::b/p{i}/o" for i in range(draw(st.integers(0, 3)), 40, 4)] if extra_keys else []
    if lv == "object":
        resource = draw(st.sampled_from(objects))
    elif lv == "bucket":
        resource = "arn:aws:s3:::b"
    else:
        resource = draw(st.sampled_from([*objects, "arn:aws:s3:::b"]))
    return Request(action, resource, principal, path, keys)


def ip_network(text):
    return ipaddress.ip_network(text, strict=False)
