"""The `status-ledger` command line: a thin layer over `ledger.Ledger`."""

from . import _demo, _read, _replay, _views, _write  # noqa: F401  (commands register on import)
from ._app import app
from ._ingest import pull_app
from ._models import models_app
from ._serve import tokens_app

app.add_typer(models_app, name="models")
app.add_typer(tokens_app, name="tokens")
app.add_typer(pull_app, name="pull")


def main() -> None:
    app()


__all__ = ["app", "main"]
