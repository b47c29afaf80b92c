"""The `status-ledger` command line: a thin layer over `ledger.Ledger`."""

from . import _consume, _demo, _import, _read, _replay, _views, _write  # noqa: F401  (commands register on import)
from ._app import PlainFlags, app
from ._checkpoint import checkpoint_app
from ._complete import completion
from ._ingest import pull_app
from ._models import models_app
from ._serve import tokens_app

app.command()(completion)
app.add_typer(checkpoint_app, name="checkpoint", cls=PlainFlags)
app.add_typer(models_app, name="models", cls=PlainFlags)
app.add_typer(tokens_app, name="tokens", cls=PlainFlags)
app.add_typer(pull_app, name="pull", cls=PlainFlags)


def main() -> None:
    app()


__all__ = ["app", "main"]
