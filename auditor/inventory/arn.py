"""ARN helpers (pure)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Arn:
    partition: str
    service: str
    region: str
    account: str
    resource: str

    @classmethod
    def parse(cls, text: str) -> Arn:
        parts = (text or "").split(":", 5)
        if len(parts) != 6 or parts[0] != "arn":
            raise ValueError(f"not an ARN: {text!r}")
        return cls(parts[1], parts[2], parts[3], parts[4], parts[5])


def function_parts(arn: str) -> tuple[str, str | None]:
    """``arn:aws:lambda:r:a:function:name[:qualifier]`` → (unqualified ARN, qualifier or None)."""
    parts = arn.split(":")
    if len(parts) >= 8 and parts[5] == "function":
        return ":".join(parts[:7]), parts[7]
    return arn, None


def name_from_arn(arn: str) -> str:
    """The last name segment of an ARN (queue name, function name, bucket name…)."""
    try:
        res = Arn.parse(arn).resource
    except ValueError:
        return arn
    if res.startswith("function:"):
        return res.split(":")[1]
    return res.rsplit("/", 1)[-1].rsplit(":", 1)[-1]
