"""Real servers on loopback for tests and benchmarks: start, wait, stop."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import httpx


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def wait_until_up(
    url: str,
    *,
    timeout: float = 30.0,
    process: subprocess.Popen[bytes] | None = None,
    ready_status: int | None = None,
) -> None:
    """Poll ``url`` until it answers (with ``ready_status``, when given); fail
    early if ``process`` exits."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode} before answering {url}")
        try:
            answer = httpx.get(url, timeout=1.0)
            if ready_status is None or answer.status_code == ready_status:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    raise TimeoutError(f"{url} did not answer within {timeout}s")


@dataclass(frozen=True)
class FakeAttioProcess:
    """A fake Attio served by its own process."""

    base_url: str
    control_url: str
    process: subprocess.Popen[bytes]

    def requests(self) -> list[dict[str, Any]]:
        """The fake's request log."""
        log: list[dict[str, Any]] = httpx.get(f"{self.control_url}/requests", timeout=30).json()[
            "requests"
        ]
        return log

    def count(self, method: str, path: str, status: int = 200) -> int:
        """How many such requests the fake answered (cheap to ask under load)."""
        counts = httpx.get(f"{self.control_url}/counts", params={"path": path}, timeout=30).json()[
            "counts"
        ]
        return int(counts.get(f"{method} {path} {status}", 0))

    def create_people(self, count: int, *, api_key: str | None = None) -> list[str]:
        """Create ``count`` people through the API; their record ids."""
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        with httpx.Client(base_url=self.base_url + "/", headers=headers, timeout=30) as client:
            return [
                client.post(
                    "objects/people/records",
                    json={
                        "data": {
                            "values": {
                                "name": [
                                    {"first_name": "P", "last_name": str(n), "full_name": f"P {n}"}
                                ]
                            }
                        }
                    },
                ).json()["data"]["id"]["record_id"]
                for n in range(count)
            ]

    def seed_people(self, count: int) -> int:
        """Make ``count`` people at once (not through the API); how many there are."""
        answer = httpx.post(f"{self.control_url}/seed", json={"people": count}, timeout=600)
        return int(answer.json()["people"])

    def object_id(self, slug: str, *, api_key: str | None = None) -> str:
        """The id of the object with ``slug``."""
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        objects = httpx.get(f"{self.base_url}/objects", headers=headers, timeout=30).json()
        return str(next(o["id"]["object_id"] for o in objects["data"] if o["api_slug"] == slug))

    def violations(self) -> list[str]:
        """Answers that did not fit Attio's description (``check_answers``)."""
        found: list[str] = httpx.get(f"{self.control_url}/violations", timeout=30).json()[
            "violations"
        ]
        return found

    def clear_requests(self) -> None:
        httpx.delete(f"{self.control_url}/requests", timeout=10)

    def fail(self, *, status: int = 503, seconds: float = 30.0, path: str = "") -> None:
        """Inject a fault for ``seconds``."""
        httpx.post(
            f"{self.control_url}/faults",
            json={"status": status, "seconds": seconds, "path": path},
            timeout=10,
        )


@contextlib.contextmanager
def fake_attio_process(
    *,
    reads_per_second: int | None = None,
    writes_per_second: int | None = None,
    api_key: str | None = None,
    extra_args: Sequence[str] = (),
    check_answers: bool = False,
) -> Iterator[FakeAttioProcess]:
    """Run ``attio-automate fake-attio`` on a free loopback port for the block
    (checking its answers against Attio's description with ``check_answers``:
    see :meth:`FakeAttioProcess.violations`)."""
    port = free_port()
    args = [sys.executable, "-m", "attio_automate", "fake-attio", "--port", str(port)]
    if reads_per_second:
        args += ["--reads-per-second", str(reads_per_second)]
    if writes_per_second:
        args += ["--writes-per-second", str(writes_per_second)]
    if api_key:
        args += ["--api-key", api_key]
    if check_answers:
        args.append("--check-answers")
    args += list(extra_args)
    process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    root = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(f"{root}/_fake/requests", process=process)
        yield FakeAttioProcess(f"{root}/v2", f"{root}/_fake", process)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stderr is not None:
            process.stderr.close()


@dataclass(frozen=True)
class RunnerProcess:
    """``attio-automate serve`` in its own process."""

    url: str
    process: subprocess.Popen[bytes]

    def kill(self) -> None:
        """SIGKILL: the runner dies mid-work, as in a crash."""
        self.process.kill()
        self.process.wait()

    def terminate(self, timeout: float = 30.0) -> int:
        """SIGTERM, then wait for a clean exit; returns the exit code."""
        self.process.terminate()
        return self.process.wait(timeout=timeout)


@contextlib.contextmanager
def runner_process(
    *,
    rules: str,
    config: str | None = None,
    api_key: str,
    webhook_secret: str,
    base_url: str,
    db_url: str,
    port: int | None = None,
    extra_env: dict[str, str] | None = None,
    log_path: str | None = None,
) -> Iterator[RunnerProcess]:
    """Run ``attio-automate serve`` on loopback until the block ends (or it is killed)."""
    import os

    port = port or free_port()
    args = [
        sys.executable,
        "-m",
        "attio_automate",
        "serve",
        "--rules",
        rules,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
    ]
    if config:
        args += ["--config", config]
    env = {
        **os.environ,
        "ATTIO_API_KEY": api_key,
        "ATTIO_WEBHOOK_SECRET": webhook_secret,
        "ATTIO_BASE_URL": base_url,
        "ATTIO_AUTOMATE_DB": db_url,
        **(extra_env or {}),
    }
    log = open(log_path, "ab") if log_path else subprocess.DEVNULL  # noqa: SIM115
    process = subprocess.Popen(args, env=env, stdout=log, stderr=log)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(f"{url}/healthz", process=process, ready_status=200)
        yield RunnerProcess(url, process)
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if log is not subprocess.DEVNULL:
            log.close()  # type: ignore[union-attr]
