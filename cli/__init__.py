"""The `status-ledger` command line: a thin layer over `ledger.Ledger`."""

from . import _consume, _demo, _read, _replay, _views, _write  # noqa: F401  (commands register on import)
from ._app import app
from ._models import models_app
from ._serve import tokens_app

app.add_typer(models_app, name="models")
app.add_typer(tokens_app, name="tokens")


def main() -> None:
    app()


__all__ = ["app", "main"]
