"""Lambda functions, event source mappings, qualified configurations and reserved concurrency."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .arn import function_parts
from .core import NotAvailable, capture

if TYPE_CHECKING:
    from . import RegionInventory

ENABLED_STATES = {"Enabled", "Enabling", "Updating"}


@dataclass(frozen=True)
class Function:
    name: str
    arn: str
    timeout: int
    region: str
    raw: dict[str, Any] = field(compare=False, hash=False, repr=False)

    @property
    def environment(self) -> dict[str, str]:
        return dict((self.raw.get("Environment") or {}).get("Variables") or {})

    @property
    def role(self) -> str:
        return self.raw.get("Role", "")

    @property
    def vpc_config(self) -> dict[str, Any]:
        return self.raw.get("VpcConfig") or {}


@dataclass(frozen=True)
class EventSourceMapping:
    uuid: str
    function_arn: str
    event_source_arn: str
    state: str
    batch_size: int | None
    batching_window: int
    maximum_concurrency: int | None
    function_response_types: tuple[str, ...]
    region: str
    raw: dict[str, Any] = field(compare=False, hash=False, repr=False)

    @property
    def enabled(self) -> bool:
        return self.state in ENABLED_STATES

    @property
    def is_sqs(self) -> bool:
        return ":sqs:" in (self.event_source_arn or "")

    @property
    def unqualified_function_arn(self) -> str:
        return function_parts(self.function_arn)[0]

    @property
    def qualifier(self) -> str | None:
        return function_parts(self.function_arn)[1]

    @property
    def reports_batch_item_failures(self) -> bool:
        return "ReportBatchItemFailures" in self.function_response_types

    @property
    def arn(self) -> str:
        return self.raw.get("EventSourceMappingArn") or (
            f"arn:aws:lambda:{self.region}:{self.function_arn.split(':')[4]}:event-source-mapping:{self.uuid}"
        )


class LambdaInventory:
    def __init__(self, region: RegionInventory) -> None:
        self._r = region

    # -- listings -----------------------------------------------------------------------------------------
    def functions(self) -> dict[str, Function]:
        """Unqualified ARN → function ($LATEST configuration), from one paginated listing."""
        return self._r.memo.get("lambda.functions", self._load_functions)

    def mappings(self) -> list[EventSourceMapping]:
        """Every event source mapping of the region, listed account-wide (not per function)."""
        return self._r.memo.get("lambda.mappings", self._load_mappings)

    def sqs_mappings(self, *, enabled_only: bool = True) -> list[EventSourceMapping]:
        return [m for m in self.mappings() if m.is_sqs and (m.enabled or not enabled_only)]

    # -- details ------------------------------------------------------------------------------------------
    def configuration(self, function_arn: str) -> Function:
        """The configuration a (possibly alias- or version-qualified) ARN runs with."""
        base, qualifier = function_parts(function_arn)
        if qualifier in (None, "$LATEST"):
            fn = self.functions().get(base)
            if fn is not None:
                return fn
        return self._r.memo.get(("lambda.config", function_arn), lambda: self._get_configuration(function_arn))

    def reserved_concurrency(self, function_arn: str) -> int | None:
        """``ReservedConcurrentExecutions`` of the unqualified function (None when not reserved)."""
        base, _ = function_parts(function_arn)
        return self._r.memo.get(("lambda.reserved", base), lambda: self._get_reserved(base))

    # The prefetches hand the pools only what is not read yet: each check of a family asks again for what the
    # load declared for it already read, and handing 1,536 answered functions to the pools (2x benchmark) cost
    # each of the four concurrency checks 15-20 ms, after the scan's last response.
    def prefetch_reserved(self, function_arns: list[str]) -> None:
        """Fetch reserved concurrency for many functions concurrently (one call per function)."""
        memo = self._r.memo
        bases = sorted({b for a in function_arns if not memo.holds(("lambda.reserved", b := function_parts(a)[0]))})
        self._r.pools.map_detail(lambda a: capture(lambda: self.reserved_concurrency(a)), bases)

    def prefetch_configurations(self, function_arns: list[str]) -> None:
        memo = self._r.memo
        listed: dict = {}
        if memo.holds("lambda.functions"):
            with contextlib.suppress(Exception):  # a failed listing: configuration() says why, item by item
                listed = self.functions()

        def read(a: str) -> bool:
            base, qualifier = function_parts(a)
            return memo.holds(("lambda.config", a)) or (qualifier in (None, "$LATEST") and base in listed)

        self._r.pools.map_detail(lambda a: capture(lambda: self.configuration(a)),
                                 sorted({a for a in function_arns if not read(a)}))

    def prefetch_code(self, function_arns: list[str]) -> None:
        """Deep scan: download each function version's package once, concurrently."""
        memo = self._r.memo
        self._r.pools.map_detail(lambda a: capture(lambda: self.code_signals(a)),
                                 sorted({a for a in function_arns if not memo.holds(("lambda.code", a))}))

    def code_signals(self, function_arn: str):
        """Deep scan: what the function's package says about partial batch responses (one download each)."""
        return self._r.memo.get(("lambda.code", function_arn), lambda: self._load_code(function_arn))

    # -- loaders ------------------------------------------------------------------------------------------
    def _load_functions(self) -> dict[str, Function]:
        out: dict[str, Function] = {}
        for page in self._r.aws.paginate("lambda", self._r.name, "ListFunctions", page_size=50):
            for raw in page.get("Functions", []):
                fn = _function(raw, self._r.name)
                out[fn.arn] = fn
        return out

    def _load_mappings(self) -> list[EventSourceMapping]:
        out = []
        for page in self._r.aws.paginate("lambda", self._r.name, "ListEventSourceMappings", page_size=100):
            for raw in page.get("EventSourceMappings", []):
                scaling = raw.get("ScalingConfig") or {}
                out.append(
                    EventSourceMapping(
                        uuid=raw.get("UUID", ""),
                        function_arn=raw.get("FunctionArn", ""),
                        event_source_arn=raw.get("EventSourceArn", ""),
                        state=raw.get("State", ""),
                        batch_size=raw.get("BatchSize"),
                        batching_window=int(raw.get("MaximumBatchingWindowInSeconds") or 0),
                        maximum_concurrency=scaling.get("MaximumConcurrency"),
                        function_response_types=tuple(raw.get("FunctionResponseTypes") or ()),
                        region=self._r.name,
                        raw=raw,
                    )
                )
        return sorted(out, key=lambda m: (m.function_arn, m.event_source_arn, m.uuid))

    def _load_code(self, function_arn: str):
        got = self._r.aws.call("lambda", self._r.name, "GetFunction", FunctionName=function_arn)
        try:
            return _code_signals_from(got, self._r.inventory.stats)
        except NotAvailable:
            raise
        except Exception as exc:  # noqa: BLE001 - one odd package must not stop the check for the others
            raise NotAvailable(f"the deployment package could not be inspected ({type(exc).__name__})",
                               "lambda:GetFunction") from exc

    def _get_configuration(self, function_arn: str) -> Function:
        raw = self._r.aws.call("lambda", self._r.name, "GetFunctionConfiguration", FunctionName=function_arn)
        return _function(raw, self._r.name)

    def _get_reserved(self, base_arn: str) -> int | None:
        got = self._r.aws.call("lambda", self._r.name, "GetFunctionConcurrency", FunctionName=base_arn)
        value = got.get("ReservedConcurrentExecutions")
        return int(value) if value is not None else None


def _code_signals_from(got: dict[str, Any], stats) -> Any:
    from .lambda_code import CodeSignals, download, scan_zip

    config = got.get("Configuration") or {}
    if config.get("PackageType") == "Image" or (got.get("Code") or {}).get("RepositoryType") == "ECR":
        raise NotAvailable("container-image functions are not inspected by the deep scan", "lambda:GetFunction")
    location = (got.get("Code") or {}).get("Location")
    if not location:
        raise NotAvailable("GetFunction returned no code location", "lambda:GetFunction")
    stats.record("download:lambda-code-package")
    with download(location) as data:
        size = data.seek(0, 2)
        data.seek(0)
        app, lib = scan_zip(data)
    layers = tuple(layer.get("Arn", "") for layer in config.get("Layers") or [])
    return CodeSignals({k: tuple(v) for k, v in app.items()}, {k: tuple(v) for k, v in lib.items()}, layers, size)


def _function(raw: dict[str, Any], region: str) -> Function:
    arn = function_parts(raw.get("FunctionArn", ""))[0]
    return Function(
        name=raw.get("FunctionName", ""),
        arn=arn,
        timeout=int(raw.get("Timeout") or 3),
        region=region,
        raw=raw,
    )


__all__ = ["EventSourceMapping", "Function", "LambdaInventory", "NotAvailable"]
