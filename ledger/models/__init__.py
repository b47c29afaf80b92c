"""Status models as data: the model and entity-type shapes read from TOML (the
built-in ones are the `*.toml` files beside this module), where models come from
(the registry), the transition rules, older-schema (legacy) events and the
transition diagrams drawn from a model."""
