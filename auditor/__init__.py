"""auditor: finds the quiet configuration pitfalls of event-driven and container workloads on AWS."""

#: The one place the version is written: pyproject.toml reads it (``[tool.setuptools.dynamic]``), and so do
#: ``auditor version``, the JSON report and SARIF.
__version__ = "0.1.0"

#: The project's canonical repository: SARIF ``informationUri``, ``[project.urls]`` in pyproject.toml,
#: ``action.yml`` and the docs name this one (tests/test_packaging.py keeps them equal).
__url__ = "https://github.com/auditor-dev/auditor"
