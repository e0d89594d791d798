from __future__ import annotations

from collections.abc import Iterator

import pytest

from attio_automate.testing import FakeAttio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(autouse=True)
def fakes_answer_only_as_attio_would(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Every fake Attio a test makes checks its answers against Attio's
    description (unless told otherwise), and the test fails if one did not fit."""
    made: list[FakeAttio] = []
    original = FakeAttio.__init__

    def checking(self: FakeAttio, *args: object, **kwargs: object) -> None:
        kwargs.setdefault("check_answers", True)
        original(self, *args, **kwargs)  # type: ignore[arg-type]
        made.append(self)

    monkeypatch.setattr(FakeAttio, "__init__", checking)
    yield
    wrong = [violation for fake in made for violation in fake.violations]
    assert not wrong, "the fake answered what Attio would not:\n" + "\n".join(wrong[:3])
