"""Prometheus metrics, in a registry of the app's own (no process globals)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)


class Metrics:
    """Every metric the runner exports at ``GET /metrics``."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.received = Counter(
            "attio_automate_webhooks_received", "Webhook deliveries received", registry=r
        )
        self.rejected = Counter(
            "attio_automate_webhooks_rejected", "Webhook deliveries refused", ["reason"], registry=r
        )
        self.accepted = Counter(
            "attio_automate_events_accepted", "Events committed to the inbox", registry=r
        )
        self.duplicates = Counter(
            "attio_automate_events_duplicate",
            "Events already in the inbox (redeliveries)",
            registry=r,
        )
        self.queue_depth = Gauge(
            "attio_automate_queue_depth", "Events waiting or in progress", registry=r
        )
        self.in_flight = Gauge(
            "attio_automate_events_in_flight", "Events being processed by this runner", registry=r
        )
        self.events = Counter(
            "attio_automate_events_finished", "Events finished, by outcome", ["outcome"], registry=r
        )
        self.actions = Counter(
            "attio_automate_actions",
            "Actions run, by action and outcome",
            ["action", "outcome"],
            registry=r,
        )
        self.attio_requests = Counter(
            "attio_automate_attio_requests",
            "Requests sent to Attio, by status",
            ["status"],
            registry=r,
        )
        self.rate_limited = Counter(
            "attio_automate_attio_rate_limited", "429 answers from Attio", registry=r
        )
        self.slots_given_up = Counter(
            "attio_automate_rate_slots_given_up",
            "Shared send slots given up because this runner woke too late for them",
            ["kind"],
            registry=r,
        )
        self.dead_letters = Counter(
            "attio_automate_dead_letters", "Events sent to the dead letter", registry=r
        )
        self.rules_reloads = Counter(
            "attio_automate_rules_reloads",
            "Rules reloads, by outcome (reloaded, refused: the old rules kept running)",
            ["outcome"],
            registry=r,
        )
        self.dead_letter_depth = Gauge(
            "attio_automate_dead_letter_depth", "Events in the dead letter", registry=r
        )
        self.waits_pending = Gauge(
            "attio_automate_waits_pending", "Rules' waits not yet fired", registry=r
        )
        self.waits_late = Gauge(
            "attio_automate_waits_late_seconds",
            "How long the most overdue pending wait has been due (0: none is)",
            registry=r,
        )
        self.cache_lookups = Counter(
            "attio_automate_cache_lookups",
            "Record cache lookups, by outcome (hit, miss) and kind (record, entry)",
            ["outcome", "kind"],
            registry=r,
        )
        self.cache_invalidations = Counter(
            "attio_automate_cache_invalidations",
            "Record cache keys invalidated (by webhooks and by our own writes)",
            registry=r,
        )
        self.latency = Histogram(
            "attio_automate_receipt_to_done_seconds",
            "From receipt of the webhook to the event done",
            buckets=LATENCY_BUCKETS,
            registry=r,
        )

    def observe_attio(self, status: int) -> None:
        """Count one answer from Attio (each attempt, retries included)."""
        self.attio_requests.labels(status=str(status)).inc()
        if status == 429:
            self.rate_limited.inc()

    def render(self) -> bytes:
        return generate_latest(self.registry)
