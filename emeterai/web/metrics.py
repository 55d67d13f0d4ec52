"""Prometheus metrics: requests, verdicts by problem code, latency. With several worker
processes they are summed over all of them (prometheus_client's multiprocess mode, in the
folder ``PROMETHEUS_MULTIPROC_DIR`` that ``emeterai serve`` makes for the run)."""

from __future__ import annotations

import os

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)

from emeterai.verify import VerifyResult

__all__ = ["CONTENT_TYPE_LATEST", "Metrics"]

_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 120.0)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "emeterai_http_requests",
            "HTTP requests answered, by route and status.",
            ("route", "method", "status"),
            registry=self.registry,
        )
        self.latency = Histogram(
            "emeterai_http_request_seconds",
            "Time to answer a request, by route.",
            ("route",),
            buckets=_BUCKETS,
            registry=self.registry,
        )
        self.verdicts = Counter(
            "emeterai_verdicts",
            "Documents verified, by verdict.",
            ("verdict",),
            registry=self.registry,
        )
        self.problems = Counter(
            "emeterai_problems",
            "Problems found in verified documents, by problem code.",
            ("code",),
            registry=self.registry,
        )

    def verdict(self, result: VerifyResult) -> None:
        self.verdicts.labels("valid" if result.valid else "invalid").inc()
        for code in sorted({p.code for p in result.problems}):
            self.problems.labels(str(code)).inc()

    def exposition(self) -> bytes:
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            from prometheus_client import multiprocess

            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)
            return generate_latest(registry)
        return generate_latest(self.registry)
