"""The fake Attio: an in-memory workspace behind Attio's REST API."""

from attio_automate.testing.fake.app import FakeAttio
from attio_automate.testing.fake.model import FakeAttioError
from attio_automate.testing.fake.seed import seed_standard
from attio_automate.testing.fake.workspace import Workspace

__all__ = ["FakeAttio", "FakeAttioError", "Workspace", "seed_standard"]
