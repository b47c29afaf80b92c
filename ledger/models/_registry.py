"""Where status models come from: the built-in TOML files shipped in the package,
models added to a store, and a `--models DIR` given for one invocation (the way a
candidate model is tried before it ships)."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Mapping
from importlib import resources
from pathlib import Path

from .._errors import DerivedType, InvalidModel, UnknownModel, UnknownStatus, UnknownType
from ._statusmodel import EntityType, StatusModel

BUILTIN_NAMES = ("openfn", "osmo", "uipath", "lightning")


def builtin_sources() -> dict[str, str]:
    folder = resources.files("ledger") / "models"
    return {name: (folder / f"{name}.toml").read_text(encoding="utf-8") for name in BUILTIN_NAMES}


def read_model_dir(directory: str | os.PathLike[str]) -> dict[str, str]:
    path = Path(directory)
    if not path.is_dir():
        raise InvalidModel(f"models directory {str(path)!r} does not exist")
    return {p.stem: p.read_text(encoding="utf-8") for p in sorted(path.glob("*.toml"))}


class ModelRegistry(Mapping[str, StatusModel]):
    """An immutable name -> StatusModel map; later sources override earlier ones."""

    def __init__(self, models: Iterable[StatusModel]) -> None:
        self._models = {m.name: m for m in models}

    @classmethod
    def from_sources(cls, *sources: Mapping[str, str]) -> ModelRegistry:
        merged: dict[str, StatusModel] = {}
        for source in sources:
            for origin, text in source.items():
                model = StatusModel.from_toml(text, origin)
                merged[model.name] = model
        return cls(merged.values())

    @classmethod
    def builtin(cls) -> ModelRegistry:
        return _BUILTIN

    def with_models(self, models: Iterable[StatusModel]) -> ModelRegistry:
        return ModelRegistry([*self._models.values(), *models])

    def with_model_dir(self, directory: str | os.PathLike[str]) -> ModelRegistry:
        """This registry and the models of a `--models DIR`, which win on a name."""
        return self.with_models(ModelRegistry.from_sources(read_model_dir(directory)).values())

    def __getitem__(self, name: str) -> StatusModel:
        return self._models[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._models)

    def __len__(self) -> int:
        return len(self._models)

    def model(self, name: str) -> StatusModel:
        model = self._models.get(name)
        if model is None:
            raise UnknownModel(
                f"unknown model {name!r}; known: {', '.join(sorted(self._models))}",
                allowed=sorted(self._models),
            )
        return model

    def entity_type(self, model_name: str, type_name: str, *, for_writing: bool) -> EntityType:
        model = self.model(model_name)
        et = model.types.get(type_name)
        if et is None:
            raise UnknownType(
                f"model {model_name!r} has no type {type_name!r}; known: {', '.join(model.types)}",
                allowed=list(model.types),
            )
        if for_writing and not et.writable:
            raise DerivedType(
                f"{model_name} {type_name} is derived from its {et.child} events and "
                f"cannot be written; write {et.child} events instead",
                allowed=[et.child] if et.child else [],
            )
        return et

    def view_statuses(self, model_name: str, type_name: str) -> tuple[str, ...]:
        """The statuses a view row of this type can be in: its own, or its child
        type's when it has none (a work order shows the statuses of its runs)."""
        et = self.entity_type(model_name, type_name, for_writing=False)
        if not et.statuses and et.child is not None:
            et = self.entity_type(model_name, et.child, for_writing=False)
        return et.statuses

    def view_status(self, model_name: str, type_name: str, written: str) -> str:
        """The canonical status a filter names (any case, aliases allowed), or
        UnknownStatus with the allowed names: a mistyped filter must be an error,
        not an empty answer that reads as "none of those" (issue 23). The CLI,
        the HTTP API and the web page all filter through here."""
        et = self.entity_type(model_name, type_name, for_writing=False)
        if not et.statuses and et.child is not None:
            et = self.entity_type(model_name, et.child, for_writing=False)
        found = et.canonical(written)
        if found is None:
            label = f"{model_name} {type_name}"
            raise UnknownStatus(
                f"{label}: unknown status {written!r}; known: {', '.join(et.statuses)}",
                entity=label,
                allowed=list(et.statuses),
            )
        return found


_BUILTIN = ModelRegistry.from_sources(builtin_sources())
