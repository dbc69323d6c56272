"""Judging on a helper process (auditor.offload): it changes where an answer is computed, never the answer.

The bucket-policy checks hand their analyses to a real helper interpreter when there are many; these tests
run one (a second ``python``) and hold its answers, and the findings made from them, against the same work
done in the scan's own process — for the benchmark account's bucket policies (every shape the 1x account has,
and bucket names that differ), the examples, and policies the analysis must give up on. And whatever goes wrong
with the helper, the answers are the same.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest
from auditor.checks import bucket_policy as bp

from auditor import engine, offload
from auditor.inventory import FileInputs, Inventory
from auditor.offload import Offload
from auditor.policy.bucket import BucketVerdict, judge_document
from tests.policy.test_scale import blocked_by_tag, team_prefixes_and_tagged_rw

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # benchmarks/ is part of the repository, not of the installed package
    sys.path.insert(0, str(ROOT))

from benchmarks import account  # noqa: E402

OWNER = account.ACCOUNT


@pytest.fixture(autouse=True)
def two_processors(monkeypatch):
    """The helper is for machines with a processor to spare: these tests run it on any runner."""
    monkeypatch.setattr(offload, "_processors", lambda: 2)


def _documents() -> list[tuple[str, dict]]:
    """(name, policy): the 0.25x benchmark account's 68 bucket policies, the examples, two past the size where the
    analysis used to stop, one it does not cover completely, and one with a statement it cannot interpret."""
    docs = [(b["name"], b["policy"]) for b in account.plan(0.25).buckets if b["policy"]]
    docs += [(p.stem, json.loads(p.read_text())) for p in sorted((ROOT / "examples").glob("policy-*.json"))]
    docs += [("tagged", blocked_by_tag(24)), ("teams", team_prefixes_and_tagged_rw(24))]
    docs.append(("tag-keys", {"Version": "2012-10-17", "Statement": [  # 9 classes of a set: not every set
        {"Sid": f"T{i}", "Effect": "Allow", "Principal": "*", "Action": "s3:PutObject", "Resource": "arn:aws:s3:::t/*",
         "Condition": {"ForAnyValue:StringEquals": {"aws:TagKeys": [f"k{i}"]}}} for i in range(8)]}))
    docs.append(("broken", {"Version": "2012-10-17", "Statement": [
        {"Sid": "Odd", "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
         "Resource": "arn:aws:s3:::broken/*", "Condition": {"NoSuchOperator": {"aws:SourceIp": "1.2.3.4"}}}]}))
    return docs


def test_the_helper_answers_what_the_scan_would_have_computed():
    items = [(json.dumps(doc), name, OWNER) for name, doc in _documents()]
    here = [judge_document(*i) for i in items]
    helper = Offload(min_items=1)
    there = list(helper.starmap(judge_document, items))
    assert helper.sent == len(items) and not helper.failed
    assert there == here
    # the corpus has every kind of answer: lock-outs, public access, pass, unknown statements, given up
    assert any(v.lockout for v in here) and any(v.public for v in here) and any(v.public_unknown for v in here)
    assert any(not v.complete for v in here) and any(v.complete and not (v.lockout or v.public) for v in here)


def _findings(docs, min_items: int):
    inv = Inventory(None, [], files=FileInputs(policies=[(f"{name}.json", doc) for name, doc in docs]))
    inv.offload.min_items = min_items
    try:
        found = engine.run(inv, bp.CHECKS, target={}).findings
        return [(f.check_id, f.resource.id, str(f.status), str(f.severity), f.message, f.evidence, f.reason)
                for f in found], inv.offload.sent
    finally:
        inv.close()


def test_bp2_and_bp4_report_the_same_with_and_without_the_helper():
    docs = _documents()
    alone, sent = _findings(docs, min_items=10**9)
    assert sent == 0
    helped, sent = _findings(docs, min_items=1)
    assert sent == len(docs)  # BP-2 computed every verdict on the helper; BP-4 read them
    assert sorted(helped, key=repr) == sorted(alone, key=repr)
    assert {rule for rule, *_ in helped} >= {"s3-policy/deny-lockout", "s3-policy/public-access"}


def test_an_account_of_a_few_dozen_policies_is_judged_in_the_scans_own_process():
    """The helper's 16-20 MB would be the larger cost there (the 0.25x benchmark account: 68 policies)."""
    inv = Inventory(None, [], files=FileInputs(policies=[(f"{n}.json", d) for n, d in _documents()]))
    try:
        assert len(_documents()) < inv.offload.min_items == offload.MIN_ITEMS
        engine.run(inv, bp.CHECKS, target={})
        assert inv.offload.sent == 0
    finally:
        inv.close()


def test_a_batch_below_the_threshold_stays_here():
    helper = Offload(min_items=3)
    assert list(helper.starmap(pow, [(2, 3), (3, 2)])) == [8, 9]
    assert helper.sent == 0


def _fails_on_three(n: int) -> int:
    if n == 3:
        raise ValueError("three")
    return n * 10


def test_an_error_of_the_function_is_raised_here_as_without_a_helper():
    """The helper reports the chunk's failure; the parent computes from there, so the function's own error
    reaches the check as it would have (a check that crashes is 'not evaluated', with the reason)."""
    helper = Offload(min_items=1)
    got = helper.starmap(_fails_on_three, [(n,) for n in range(40)])
    assert [next(got) for _ in range(3)] == [0, 10, 20]  # computed here once the helper's chunk failed
    with pytest.raises(ValueError, match="three"):
        next(got)
    assert helper.failed.startswith("RuntimeError") and "ValueError: three" in helper.failed


def _unpicklable(n: int):
    return lambda: n


def test_an_answer_that_cannot_be_sent_back_is_computed_here():
    helper = Offload(min_items=1)
    got = [f() for f in helper.starmap(_unpicklable, [(n,) for n in range(20)])]
    assert got == list(range(20)) and helper.sent == 0 and helper.failed


def test_a_helper_that_cannot_start_leaves_the_work_here(monkeypatch):
    monkeypatch.setattr(offload.sys, "executable", "/nonexistent/python")
    helper = Offload(min_items=1)
    assert list(helper.starmap(pow, [(2, n) for n in range(20)])) == [2**n for n in range(20)]
    assert helper.sent == 0 and "nonexistent" in helper.failed
    # and the scan does not try again
    assert list(helper.starmap(pow, [(3, 2)] * 20)) == [9] * 20 and helper.sent == 0


def _dies_in_the_helper(n: int) -> int:
    if n == 20 and offload.IN_HELPER:  # end the helper as a kill would
        os._exit(1)
    return n * 2


def test_a_helper_that_dies_mid_batch_leaves_the_rest_here():
    """The helper ends during its second chunk: the first chunk's answers stand, the rest are computed here, in
    order."""
    helper = Offload(min_items=1)
    got = list(helper.starmap(_dies_in_the_helper, [(n,) for n in range(50)]))
    assert got == [n * 2 for n in range(50)]
    assert helper.sent == offload.CHUNK and "EOFError" in helper.failed


def test_verdicts_are_small_enough_to_send():
    """What crosses the pipe is the verdict, not the analysis (a 1x bucket's analysis: ~27 KB of objects)."""
    import pickle

    sizes = [len(pickle.dumps(judge_document(json.dumps(doc), name, OWNER))) for name, doc in _documents()]
    assert max(sizes) < 20_000
    assert isinstance(judge_document(json.dumps(_documents()[0][1]), "b", OWNER), BucketVerdict)


def test_one_processor_keeps_the_work_here(monkeypatch):
    monkeypatch.setattr(offload, "_processors", lambda: 1)
    helper = Offload(min_items=1)
    assert list(helper.starmap(pow, [(2, n) for n in range(20)])) == [2**n for n in range(20)]
    assert helper.sent == 0 and not helper.failed


def test_a_frozen_program_keeps_the_work_here(monkeypatch):
    """A frozen program's ``sys.executable`` is the program itself: ``-c`` would be one of its own options."""
    monkeypatch.setattr(offload.sys, "frozen", True, raising=False)
    helper = Offload(min_items=1)
    assert list(helper.starmap(pow, [(2, n) for n in range(20)])) == [2**n for n in range(20)]
    assert helper.sent == 0


def _secret_seen(_: int) -> str | None:
    return os.environ.get("AWS_SECRET_ACCESS_KEY")


def test_the_helper_gets_none_of_the_scans_credentials(monkeypatch):
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
    helper = Offload(min_items=1)
    assert list(helper.starmap(_secret_seen, [(n,) for n in range(20)])) == [None] * 20
    assert helper.sent == 20


def test_a_module_in_the_working_directory_is_not_run_by_the_helper(tmp_path, monkeypatch):
    """``python -c`` puts the working directory first on the path: a ``pickle.py`` there (an untrusted
    checkout) would run with the helper's first import. The helper starts isolated (-I)."""
    marker = tmp_path / "ran"
    (tmp_path / "pickle.py").write_text(f"open({str(marker)!r}, 'w').close()\nfrom _pickle import *\n")
    monkeypatch.chdir(tmp_path)
    helper = Offload(min_items=1)
    assert list(helper.starmap(pow, [(2, n) for n in range(20)])) == [2**n for n in range(20)]
    assert helper.sent == 20 and not marker.exists()


def _chatty(n: int) -> int:
    print("a stray line on standard output")
    return n + 1


def test_what_the_function_prints_does_not_break_the_answers():
    helper = Offload(min_items=1)
    assert list(helper.starmap(_chatty, [(n,) for n in range(20)])) == list(range(1, 21))
    assert helper.sent == 20


def _slow_in_the_helper(n: int) -> int:
    if offload.IN_HELPER:
        import time

        time.sleep(30)
    return n


def test_a_helper_that_stops_answering_is_left_and_the_rest_computed_here(monkeypatch):
    import time

    monkeypatch.setattr(offload, "ANSWER_TIMEOUT", 0.5)
    helper = Offload(min_items=1)
    t0 = time.monotonic()
    got = list(helper.starmap(_slow_in_the_helper, [(n,) for n in range(20)]))
    assert got == list(range(20)) and helper.sent == 0
    assert helper.failed.startswith("TimeoutError") and time.monotonic() - t0 < 10


def test_past_the_scan_deadline_the_helper_still_judges():
    """The deadline bounds waiting for data, not judging (every ``auditor scan`` has one, 15 minutes by
    default): a scan past it judges what it read, on the helper as well."""
    from auditor.inventory.core import scan_deadline

    helper = Offload(min_items=1)
    with scan_deadline(0):
        assert list(helper.starmap(pow, [(2, n) for n in range(20)])) == [2**n for n in range(20)]
    assert helper.sent == 20 and not helper.failed


def test_a_reader_that_stops_early_ends_the_helper_and_frees_its_slot(monkeypatch):
    """A check that stops mid-way (it crashed) closes its verdicts (``judged``): the helper is killed at once
    and the next account may start one."""
    import threading

    monkeypatch.setattr(offload, "_helpers", threading.BoundedSemaphore(1))
    helper = Offload(min_items=1)
    got = helper.starmap(pow, [(2, n) for n in range(40)])
    assert next(got) == 1
    assert not offload._helpers.acquire(blocking=False)  # the helper holds the slot while it works
    got.close()
    assert offload._helpers.acquire(blocking=False)
    offload._helpers.release()


def test_windows_keeps_the_work_here(monkeypatch):
    """Waiting for an answer uses select() on a pipe, which Windows has only for sockets."""
    monkeypatch.setattr(offload.os, "name", "nt")
    helper = Offload(min_items=1)
    assert list(helper.starmap(pow, [(2, n) for n in range(20)])) == [2**n for n in range(20)]
    assert helper.sent == 0 and not helper.failed


def test_several_accounts_at_once_share_the_spare_processors(monkeypatch):
    """A multi-account run judges accounts side by side: with every helper slot taken, a batch is computed
    here."""
    monkeypatch.setattr(offload, "_helpers", __import__("threading").BoundedSemaphore(1))
    offload._helpers.acquire()
    try:
        helper = Offload(min_items=1)
        assert list(helper.starmap(pow, [(2, n) for n in range(20)])) == [2**n for n in range(20)]
        assert helper.sent == 0 and not helper.failed
    finally:
        offload._helpers.release()
