from __future__ import annotations

from click.testing import CliRunner

from attio_automate.cli.main import main


def test_demo_runs_the_example_rules_end_to_end() -> None:
    result = CliRunner().invoke(main, ["demo"])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "✓ founders-to-pipeline" in out
    assert "add_to_list [founders-to-pipeline] -> done" in out
    assert "upsert_record [company-from-email] -> done" in out
    assert "create_task [deal-won-onboarding] -> done" in out
    assert "previous = 'Lead' differs from 'Won 🎉'" in out
    assert "dropped by the loop guard" in out
    assert "description 'Customer since" in out
    assert "stage 'Customer'" in out
    assert "company Analytical (analytical.example)" in out
    # The example's 14-day wait, shortened to 2 s, falls due and the rule goes on.
    assert "wait [customer-check-in] -> done" in out
    assert "✓ customer-check-in: the wait is over" in out
    assert "create_task [customer-check-in] -> done" in out
    assert "1 wait fell due" in out
    # Sync, one change each way.
    assert "row  'Ada Lovelace'     ['ada@analytical.example'] title 'Chief Scientist'" in out
    assert "outbox #1: done, Attio record" in out
    assert "'Grace Hopper': back in the mirror through Attio's webhook" in out
    assert "person  Grace Hopper: job title 'Rear Admiral'" in out
    assert "error" not in out


def test_fake_attio_rejects_bad_flags_without_a_traceback() -> None:
    result = CliRunner().invoke(main, ["fake-attio", "--port", "99999"])
    assert result.exit_code == 2
    assert "Invalid value for '--port'" in result.output
    assert "Traceback" not in result.output
