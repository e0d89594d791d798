"""``python -m attio_automate``: the same as the ``attio-automate`` command."""

from attio_automate.cli.main import main

if __name__ == "__main__":
    main()
