"""auditor: finds the quiet configuration pitfalls of event-driven and container workloads on AWS."""

__version__ = "0.1.0"
