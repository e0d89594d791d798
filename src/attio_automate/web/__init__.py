"""The runner over HTTP: the Starlette app (webhooks, health, readiness,
metrics), the admin endpoints, and serving it with hypercorn."""
