"""Datadog for auditor: where it is (settings, sites), how to read it (client), what monitors mean (query
parser, monitors, coverage). The checks reach all of it through :mod:`auditor.inventory.datadog`."""

from .coverage import DLQ_METRICS, Coverage, Match, MonitorIndex, QueueTarget, change_problems
from .monitors import Downtime, Monitor, Mute
from .query import QueryError, parse_composite, parse_metric_query, parse_scope, parse_window
from .settings import DatadogSettings, DatadogTuning

__all__ = [
    "DLQ_METRICS",
    "Coverage",
    "DatadogSettings",
    "DatadogTuning",
    "Downtime",
    "Match",
    "Monitor",
    "MonitorIndex",
    "Mute",
    "QueryError",
    "QueueTarget",
    "change_problems",
    "parse_composite",
    "parse_metric_query",
    "parse_scope",
    "parse_window",
]
