"""Documentation and identifiers users depend on stay true."""

from pathlib import Path

from auditor import docsgen, engine

ROOT = Path(__file__).resolve().parent.parent

#: Check ids are stable forever (SARIF rule ids, waivers and CI filters refer to them). Adding is fine;
#: renaming or removing one must be a deliberate change here.
STABLE_IDS = (ROOT / "tests" / "data" / "check_ids.txt").read_text().split()


def test_docs_checks_md_is_generated_from_metadata():
    assert (ROOT / "docs" / "checks.md").read_text() == docsgen.render(), (
        "docs/checks.md is stale: run `python -m auditor.docsgen > docs/checks.md`")


def test_check_ids_are_stable():
    ids = {c.id for c in engine.load_checks(plugins=False)}
    assert set(STABLE_IDS) <= ids, f"check ids disappeared: {sorted(set(STABLE_IDS) - ids)}"


def test_every_rule_of_check_rules_md_is_implemented():
    rules = {c.meta.rule for c in engine.load_checks(plugins=False)}
    counts = {"SC": 4, "FL": 8, "CC": 4, "PB": 3, "VT": 2, "DLQ": 3, "DD": 4, "BP": 5}
    expected = {f"{family}-{i}" for family, count in counts.items() for i in range(1, count + 1)}
    assert expected <= rules, sorted(expected - rules)


def test_readme_shows_the_two_commands():
    readme = (ROOT / "README.md").read_text()
    assert "make demo" in readme and "make test" in readme
    assert "make test" in (ROOT / ".ci" / "run").read_text()
