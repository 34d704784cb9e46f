"""``SimCSEConfig``: defaults, validation messages, derived settings, serialisation, a torch-free import."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import FrozenInstanceError, fields, replace
from pathlib import Path

import pytest

from simcse_st.training import PRESETS, SimCSEConfig


def test_the_defaults_are_the_papers_recipe_and_every_field_has_help() -> None:
    config = SimCSEConfig()
    assert (config.batch_size, config.learning_rate, config.temperature, config.max_seq_length) == (64, 3e-5, 0.05, 32)
    assert (config.pooling, config.epochs, config.hard_negative_weight, config.seed) == ("cls", 1.0, 0.0, 42)
    for item in fields(SimCSEConfig):
        assert item.metadata["help"].strip(), item.name
    with pytest.raises(FrozenInstanceError):
        config.batch_size = 3  # type: ignore[misc]
    assert PRESETS["paper"] == replace(config, batching="random", bf16=False, fast_dropout=False)


@pytest.mark.parametrize(
    ("changes", "fragment"),
    [
        ({"batch_size": 1}, "batch_size=1 is invalid: must be an integer >= 2"),
        ({"batch_size": True}, "batch_size=True is invalid"),
        ({"batch_size": 8.0}, "batch_size=8.0 is invalid"),
        ({"learning_rate": 0.0}, "learning_rate=0.0 is invalid: must be a finite number > 0"),
        ({"learning_rate": float("inf")}, "learning_rate=inf is invalid"),
        ({"temperature": float("nan")}, "temperature=nan is invalid"),
        ({"temperature": -0.05}, "temperature=-0.05 is invalid"),
        ({"hard_negative_weight": float("inf")}, "hard_negative_weight=inf is invalid: must be a finite number"),
        ({"mlm_weight": -0.1}, "mlm_weight=-0.1 is invalid"),
        ({"mlm_probability": 1.0}, "mlm_probability=1.0 is invalid"),
        ({"dropout": 1.0}, "dropout=1.0 is invalid: must be a finite number >= 0.0 and < 1.0 (or None)"),
        ({"pooling": "max"}, "pooling='max' is invalid: must be one of cls, cls_before_pooler, avg"),
        ({"batching": "sorted"}, "batching='sorted' is invalid: must be one of random, length"),
        ({"init": "xavier"}, "init='xavier' is invalid"),
        ({"epochs": 0}, "epochs=0 is invalid"),
        ({"max_steps": 0}, "max_steps=0 is invalid: must be an integer >= 1 (or None)"),
        ({"max_seq_length": 1}, "max_seq_length=1 is invalid"),
        ({"seed": -1}, "seed=-1 is invalid"),
        ({"eval_steps": 0}, "eval_steps=0 is invalid"),
        ({"save_steps": 0}, "save_steps=0 is invalid"),
        ({"logging_steps": 0}, "logging_steps=0 is invalid"),
        ({"mini_batch_size": 0}, "mini_batch_size=0 is invalid"),
        ({"supervised": "yes"}, "supervised='yes' is invalid: must be True or False"),
        ({"bf16": 1}, "bf16=1 is invalid: must be True or False (or None: auto)"),
        ({"fill_model": ""}, "fill_model='' is invalid"),
        ({"augmentation": "shuffle"}, "augmentation='shuffle' is invalid"),
        ({"augmentation": "crop"}, "augmentation_ratio=None is invalid: augmentation='crop' needs a ratio"),
        ({"augmentation_ratio": 0.1}, "augmentation_ratio=0.1 is invalid: only crop, word_deletion, mlm take"),
        ({"augmentation": "delete_one_word", "augmentation_ratio": 0.1}, "augmentation_ratio=0.1 is invalid"),
        ({"fill_model": "bert-base-uncased"}, "fill_model='bert-base-uncased' is invalid: it is used by"),
        ({"augmentation": "delete_one_word", "supervised": True}, "augmentation='delete_one_word' is invalid"),
        ({"same_dropout_mask": True, "supervised": True}, "same_dropout_mask=True is invalid"),
        ({"mini_batch_size": 8, "mlm_weight": 0.1}, "mini_batch_size=8 is invalid: GradCache cannot"),
        ({"mlp_only_train": True, "pooling": "avg"}, "mlp_only_train=True is invalid: it applies to pooling='cls'"),
    ],
)
def test_every_invalid_value_names_the_field_the_value_and_what_is_allowed(changes: dict, fragment: str) -> None:
    with pytest.raises(ValueError) as info:
        SimCSEConfig(**changes)
    assert fragment in str(info.value)


def test_the_mlp_rule_is_derived_in_one_place_and_follows_replace() -> None:
    unsupervised = SimCSEConfig()
    assert unsupervised.mlp_in_loss and unsupervised.saved_pooler == "cls_before_pooler"
    supervised = replace(unsupervised, supervised=True)  # re-derived, not copied
    assert not supervised.mlp_in_loss and supervised.saved_pooler == "cls"
    assert replace(unsupervised, mlp_only_train=False).saved_pooler == "cls"
    assert replace(supervised, mlp_only_train=True).mlp_in_loss
    assert replace(unsupervised, pooling="mean").saved_pooler == "avg"
    assert not replace(unsupervised, pooling="avg_first_last").mlp_in_loss
    assert unsupervised.effective_save_steps == 125 and replace(unsupervised, save_steps=10).effective_save_steps == 10


def test_dict_and_json_round_trips(tmp_path: Path) -> None:
    config = SimCSEConfig(
        batch_size=128, learning_rate=5e-5, pooling="avg", bf16=False, augmentation="delete_one_word"
    )
    assert SimCSEConfig.from_dict(config.to_dict()) == config
    assert json.loads(json.dumps(config.to_dict())) == config.to_dict()
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config.to_dict()))
    assert SimCSEConfig.from_json(path) == config
    results = tmp_path / "results.json"
    results.write_text(json.dumps({"model": "m", "config": config.to_dict(), "global_step": 3}))
    assert SimCSEConfig.from_json(results) == config
    partial = tmp_path / "partial.json"
    partial.write_text('{"batch_size": 16}')
    assert SimCSEConfig.from_json(partial) == SimCSEConfig(batch_size=16)


def test_bad_config_files_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"Unknown SimCSEConfig field\(s\) \['batchsize'\]"):
        SimCSEConfig.from_dict({"batchsize": 3})
    with pytest.raises(FileNotFoundError, match="Config file not found"):
        SimCSEConfig.from_json(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(ValueError, match=r"bad\.json: not a JSON file"):
        SimCSEConfig.from_json(bad)
    bad.write_text('{"batch_size": 1}')
    with pytest.raises(ValueError, match=r"bad\.json: batch_size=1 is invalid"):
        SimCSEConfig.from_json(bad)
    bad.write_text("[1, 2]")
    with pytest.raises(ValueError, match="expected a JSON object"):
        SimCSEConfig.from_json(bad)


def test_importing_the_config_imports_no_torch() -> None:
    code = (
        "import sys; from simcse_st.training import SimCSEConfig, PRESETS; SimCSEConfig(batch_size=8); "
        "import simcse_st.cli.app; "
        "heavy = [m for m in ('torch', 'transformers', 'sentence_transformers', 'datasets') if m in sys.modules]; "
        "print(heavy)"
    )
    output = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert output.strip() == "[]"
