"""Testing helpers for plugin authors and for attio-automate's own tests.

- :class:`FakeAttio`: an in-memory Attio workspace behind Attio's REST API.
- :class:`AttioSpec`: validates bodies against Attio's OpenAPI description.
- pytest fixtures (registered automatically): ``fake_attio``, ``attio_client``.
"""

from attio_automate.testing.contract import AttioSpec, ContractError
from attio_automate.testing.fake import FakeAttio, FakeAttioError, Workspace, seed_standard

__all__ = [
    "AttioSpec",
    "ContractError",
    "FakeAttio",
    "FakeAttioError",
    "Workspace",
    "seed_standard",
]
