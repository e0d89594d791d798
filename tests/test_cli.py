from __future__ import annotations

from click.testing import CliRunner

from attio_automate.cli.main import main


def test_demo_shows_the_three_writes() -> None:
    result = CliRunner().invoke(main, ["demo"])
    assert result.exit_code == 0, result.output
    assert "asserted person Ada Lovelace" in result.output
    assert "added to list 'sales' at stage 'Lead'" in result.output
    assert "added markdown note 'Welcome aboard'" in result.output
    assert "Attio received 3 writes" in result.output
    assert (
        "PUT   /v2/objects/people/records?matching_attribute=email_addresses -> 200"
        in result.output
    )


def test_fake_attio_rejects_bad_flags_without_a_traceback() -> None:
    result = CliRunner().invoke(main, ["fake-attio", "--port", "99999"])
    assert result.exit_code == 2
    assert "Invalid value for '--port'" in result.output
    assert "Traceback" not in result.output
