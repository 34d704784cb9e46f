"""Command-line options generated from a config dataclass (:class:`simcse_st.training.SimCSEConfig`,
:class:`simcse_st.search.IndexConfig`): one option per field, its type, default and help read from the field, so that
a setting is declared once (in the config) and every command that takes settings offers it the same way.

The only CLI-specific facts are here: the spelling of a few flags (``--lr``, ``-b``, ``--gather/--no-gather``,
``--fast-dropout/--native-dropout``).
"""

from __future__ import annotations

import inspect
import types
import typing
from collections.abc import Callable, Iterable, Mapping
from dataclasses import fields, replace
from typing import Annotated, Any, TypeVar, get_args, get_origin

import typer

# Flag spellings that are not "--field-name" (booleans: "--field-name/--no-field-name").
FLAGS: dict[str, tuple[str, ...]] = {
    "learning_rate": ("--lr",),
    "batch_size": ("--batch-size", "-b"),
    "gather_across_devices": ("--gather/--no-gather",),
    "fast_dropout": ("--fast-dropout/--native-dropout",),
}
Config = TypeVar("Config")
HELP_PANEL = "Training settings (SimCSEConfig)"
PANELS = {
    "SimCSEConfig": HELP_PANEL,
    "IndexConfig": "Index settings (IndexConfig)",
    "InferenceConfig": "How the model runs (InferenceConfig)",
    "ExportConfig": "Export settings (ExportConfig)",
}
_GIVEN = ("COMMANDLINE", "ENVIRONMENT")  # click's ParameterSource names (typer may vendor its own click)


def flag_declarations(name: str, annotation: Any) -> tuple[str, ...]:
    """The option's declarations: from :data:`FLAGS`, else ``--name`` (``--name/--no-name`` for a boolean)."""
    if name in FLAGS:
        return FLAGS[name]
    flag = "--" + name.replace("_", "-")
    is_bool = annotation is bool or (
        get_origin(annotation) in (typing.Union, types.UnionType) and bool in get_args(annotation)
    )
    return (f"{flag}/--no-{flag[2:]}",) if is_bool else (flag,)


def config_parameters(
    defaults: Any, include: Iterable[str] | None = None, rename: Mapping[str, str] | None = None
) -> list[inspect.Parameter]:
    """Keyword-only typer parameters for the fields of the config dataclass ``defaults`` (all, or those in
    ``include``), defaulting to its values (the plain config, a preset or the ablation baseline). ``rename`` gives a
    field another parameter name (and flag) where two configs of one command share a field name."""
    hints = typing.get_type_hints(type(defaults), include_extras=True)
    wanted = None if include is None else set(include)
    panel = PANELS.get(type(defaults).__name__, f"Settings ({type(defaults).__name__})")
    parameters = []
    for item in fields(type(defaults)):
        if wanted is not None and item.name not in wanted:
            continue
        annotation = hints[item.name]
        name = (rename or {}).get(item.name, item.name)
        option = typer.Option(*flag_declarations(name, annotation), help=item.metadata["help"], rich_help_panel=panel)
        parameters.append(
            inspect.Parameter(
                name,
                inspect.Parameter.KEYWORD_ONLY,
                default=getattr(defaults, item.name),
                annotation=Annotated[annotation, option],
            )
        )
    return parameters


def with_config_options(
    defaults: Any, include: Iterable[str] | None = None, rename: Mapping[str, str] | None = None
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Give a typer command one option per config field: the command takes ``**settings`` and receives them there.
    A command can take the options of several configs (one decorator each; ``rename`` a field two of them share).

    Example:
        ::

            @with_config_options(SimCSEConfig())
            def train(ctx: typer.Context, corpus: Path, **settings: Any) -> None:
                config = config_from_options(ctx, settings, SimCSEConfig())
    """

    def decorate(command: Callable[..., Any]) -> Callable[..., Any]:
        signature = inspect.signature(command, eval_str=True)
        own = [p for p in signature.parameters.values() if p.kind is not inspect.Parameter.VAR_KEYWORD]
        command.__signature__ = signature.replace(  # type: ignore[attr-defined]
            parameters=[*own, *config_parameters(defaults, include, rename)]
        )
        return command

    return decorate


def given_settings(ctx: typer.Context, settings: dict[str, Any]) -> dict[str, Any]:
    """The config options the user gave on the command line (or through the environment), not their defaults."""
    given = {}
    for name, value in settings.items():
        source = ctx.get_parameter_source(name)
        if source is not None and source.name in _GIVEN:
            given[name] = value
    return given


def config_from_options(
    ctx: typer.Context, settings: dict[str, Any], base: Config, rename: Mapping[str, str] | None = None
) -> Config:
    """``base`` (a preset or a ``--config`` file) with those of its options given on the command line applied over
    it (``settings`` may hold other configs' options too; ``rename`` as given to :func:`with_config_options`)."""
    given = given_settings(ctx, settings)
    names = {(rename or {}).get(item.name, item.name): item.name for item in fields(type(base))}
    return replace(base, **{names[key]: value for key, value in given.items() if key in names})
