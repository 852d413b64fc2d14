"""Prometheus metrics in the text exposition format (version 0.0.4), without a client library:
the figures are read when scraped (from the database, JetStream and the process) and written out
here; only the HTTP latency is kept in the process between scrapes."""

from __future__ import annotations

import bisect
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
Labels = Mapping[str, str]


@dataclass
class Family:
    """One metric: its samples as (name suffix, labels, value)."""

    name: str
    kind: str  # counter, gauge, histogram
    help: str
    samples: list[tuple[str, Labels, float]] = field(default_factory=list)

    def add(self, value: float, suffix: str = "", **labels: str) -> Family:
        self.samples.append((suffix, labels, value))
        return self


def _label_value(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _number(value: float) -> str:
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return repr(float(value)) if not float(value).is_integer() else str(int(value))


def render(families: Iterable[Family]) -> str:
    lines: list[str] = []
    for family in families:
        lines.append(f"# HELP {family.name} {family.help}")
        lines.append(f"# TYPE {family.name} {family.kind}")
        for suffix, labels, value in family.samples:
            text = ",".join(f'{k}="{_label_value(v)}"' for k, v in labels.items())
            lines.append(
                f"{family.name}{suffix}{{{text}}} {_number(value)}"
                if text
                else f"{family.name}{suffix} {_number(value)}"
            )
    return "\n".join(lines) + "\n"


class LatencyHistogram:
    """Seconds per (method, route, status); buckets from 5 ms to 10 s."""

    BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

    def __init__(self, name: str, help_: str) -> None:
        self.name = name
        self.help = help_
        # labels → (counts per bucket, not cumulative; sum; count)
        self._series: dict[tuple[tuple[str, str], ...], tuple[list[int], list[float]]] = {}

    def observe(self, seconds: float, **labels: str) -> None:
        key = tuple(sorted(labels.items()))
        counts, total = self._series.setdefault(key, ([0] * (len(self.BUCKETS) + 1), [0.0]))
        counts[bisect.bisect_left(self.BUCKETS, seconds)] += 1
        total[0] += seconds

    def family(self) -> Family:
        family = Family(self.name, "histogram", self.help)
        for key, (counts, total) in sorted(self._series.items()):
            labels = dict(key)
            running = 0
            for bound, count in zip((*self.BUCKETS, math.inf), counts, strict=True):
                running += count
                family.add(running, "_bucket", **labels, le=_number(bound))
            family.add(total[0], "_sum", **labels)
            family.add(running, "_count", **labels)
        return family


_SAMPLE = re.compile(r"^([A-Za-z_:][\w:]*)(?:\{(.*)\})? (\S+)$")
_LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')

_ESCAPED = re.compile(r"\\(.)")
Sample = tuple[str, dict[str, str], float]


def _unescape(match: re.Match[str]) -> str:
    return "\n" if match[1] == "n" else match[1]


def parse(text: str) -> list[Sample]:
    """The samples of a text exposition: (name, labels, value) — for ``xingcun status`` and tests."""
    found: list[Sample] = []
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        match = _SAMPLE.match(line)
        if match is None:
            raise ValueError(f"not a sample: {line!r}")
        labels = {k: _ESCAPED.sub(_unescape, v) for k, v in _LABEL.findall(match[2] or "")}
        found.append((match[1], labels, float(match[3])))
    return found
