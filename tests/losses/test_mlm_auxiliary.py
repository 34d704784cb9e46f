"""The MLM auxiliary objective: BERT masking statistics, head loading, loss value, and the Trainer's logging."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from datasets import Dataset
from sentence_transformers import SentenceTransformer, SentenceTransformerTrainer
from sentence_transformers.sentence_transformer.training_args import SentenceTransformerTrainingArguments
from torch.testing import assert_close
from transformers import BertForMaskedLM

from simcse_st import DropoutContrastiveLoss
from simcse_st.losses import MLMAuxiliary

TEXTS = ["a man is playing a guitar.", "the cat sits on the mat.", "a dog runs in the park.", "rain is expected."]


@pytest.fixture(scope="module")
def mlm_bert_dir(tiny_bert_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny BERT saved as a BertForMaskedLM: a checkpoint that holds MLM head weights (cls.predictions.*)."""
    torch.manual_seed(1)
    directory = tmp_path_factory.mktemp("tiny-bert-mlm")
    BertForMaskedLM.from_pretrained(tiny_bert_dir).save_pretrained(directory)
    for name in ("vocab.txt", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"):
        if (tiny_bert_dir / name).is_file():
            (directory / name).write_bytes((tiny_bert_dir / name).read_bytes())
    return directory


def test_masking_rate_split_and_untouchable_tokens(tiny_model: SentenceTransformer) -> None:
    mlm = MLMAuxiliary(tiny_model, probability=0.15)
    tokenizer = tiny_model.tokenizer
    rows, length = 400, 64
    generator = torch.Generator().manual_seed(0)
    lengths = torch.randint(8, length + 1, (rows,), generator=generator)
    ids = torch.randint(5, len(tokenizer), (rows, length), generator=generator)  # 0-4 are the special tokens
    positions = torch.arange(length)
    attention_mask = (positions < lengths[:, None]).long()
    ids[attention_mask == 0] = tokenizer.pad_token_id
    ids[:, 0] = tokenizer.cls_token_id
    ids[torch.arange(rows), lengths - 1] = tokenizer.sep_token_id
    special = (ids == tokenizer.cls_token_id) | (ids == tokenizer.sep_token_id) | (attention_mask == 0)

    torch.manual_seed(0)
    masked, labels = mlm.mask_tokens(ids, attention_mask)
    selected = labels != -100
    maskable = int((~special).sum())  # 13,514 (seeded)
    assert not (selected & special).any(), "special and padding tokens are never selected"
    assert torch.equal(masked[~selected], ids[~selected]) and torch.equal(labels[selected], ids[selected])
    rate = selected.sum().item() / maskable
    assert abs(rate - 0.15) < 0.0152, rate  # 5 standard deviations (0.0031) of a binomial rate
    n = int(selected.sum())
    to_mask = (masked[selected] == tokenizer.mask_token_id).sum().item() / n
    unchanged = (masked[selected] == ids[selected]).sum().item() / n
    randomised = 1 - to_mask - unchanged
    # of ~2,000 selected: 4 standard deviations (0.0089 and 0.0067)
    assert abs(to_mask - 0.8) < 0.035 and abs(unchanged - 0.1) < 0.027 and abs(randomised - 0.1) < 0.027


def test_loss_returns_both_components_and_backpropagates(tiny_model: SentenceTransformer) -> None:
    loss = DropoutContrastiveLoss(tiny_model, mlm_weight=0.1)
    tiny_model.train()
    out = loss([tiny_model.preprocess(TEXTS)])
    assert set(out) == {"contrastive", "mlm"} and all(v.ndim == 0 and torch.isfinite(v) for v in out.values())
    torch.stack(list(out.values())).sum().backward()  # what the Trainer does with a dict
    assert tiny_model[0].model.embeddings.word_embeddings.weight.grad is not None
    head_grads = [p.grad for p in loss.mlm.head.parameters()]
    assert all(g is not None and g.abs().sum() > 0 for g in head_grads)
    assert loss.get_config_dict()["mlm_weight"] == 0.1
    plain = DropoutContrastiveLoss(tiny_model)([tiny_model.preprocess(TEXTS)])
    assert isinstance(plain, torch.Tensor) and plain.ndim == 0, "MLM off: a single tensor, as before"


def test_mlm_value_equals_cross_entropy_over_all_positions(tiny_model: SentenceTransformer) -> None:
    """Scoring only the selected positions gives SimCSE's loss: CE over every position with ignore_index=-100."""
    tiny_model.eval()  # no dropout: the two computations see the same encoder outputs
    mlm = MLMAuxiliary(tiny_model)
    features = tiny_model.preprocess(TEXTS * 3)
    torch.manual_seed(3)
    value = mlm(tiny_model, [features])
    torch.manual_seed(3)
    masked, labels = mlm.mask_tokens(features["input_ids"], features["attention_mask"])
    with torch.no_grad():
        hidden = tiny_model({**features, "input_ids": masked})["token_embeddings"]  # (B, T, D)
        logits = mlm.head(hidden)  # (B, T, V)
    expected = F.cross_entropy(logits.reshape(-1, logits.size(-1)), labels.reshape(-1), ignore_index=-100)
    assert_close(value.detach(), expected, rtol=1e-5, atol=1e-6)


def test_head_is_loaded_from_a_checkpoint_that_has_one(mlm_bert_dir: Path, caplog: pytest.LogCaptureFixture) -> None:
    from conftest import make_model

    model = make_model(mlm_bert_dir)
    with caplog.at_level(logging.WARNING):
        mlm = MLMAuxiliary(model)
    assert mlm.head_from_checkpoint and "freshly initialised" not in caplog.text
    reference = BertForMaskedLM.from_pretrained(mlm_bert_dir).cls.predictions
    assert_close(mlm.head.predictions.transform.dense.weight, reference.transform.dense.weight)
    assert_close(mlm.head.predictions.bias, reference.bias)


def test_head_is_initialised_with_a_warning_for_a_plain_encoder_checkpoint(
    tiny_model: SentenceTransformer, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING):
        mlm = MLMAuxiliary(tiny_model)
    assert not mlm.head_from_checkpoint
    assert "freshly initialised" in caplog.text and "cls.predictions" in caplog.text
    decoder = mlm.head.predictions.decoder
    assert decoder.weight is tiny_model[0].model.get_input_embeddings().weight, "tied to the input embeddings"


def test_trainer_logs_both_components(tiny_model: SentenceTransformer, tmp_path: Path) -> None:
    from conftest import SENTENCES

    args = SentenceTransformerTrainingArguments(
        output_dir=str(tmp_path),
        max_steps=2,
        per_device_train_batch_size=8,
        logging_steps=1,
        report_to="none",
        use_cpu=True,
        save_strategy="no",
        disable_tqdm=True,
    )
    loss = DropoutContrastiveLoss(tiny_model, mlm_weight=0.1)
    trainer = SentenceTransformerTrainer(
        model=tiny_model, args=args, train_dataset=Dataset.from_dict({"text": SENTENCES}), loss=loss
    )
    trainer.train()
    logged = [entry for entry in trainer.state.log_history if "contrastive" in entry]
    assert len(logged) == 2 and all("mlm" in entry and entry["mlm"] > 0 for entry in logged)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"mlm_weight": -0.1}, "mlm_weight"),
        ({"mlm_weight": 0.1, "mlm_probability": 0.0}, "mlm_probability"),
        ({"mlm_weight": 0.1, "mini_batch_size": 2}, "mini_batch_size"),
    ],
)
def test_invalid_mlm_settings(tiny_model: SentenceTransformer, kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        DropoutContrastiveLoss(tiny_model, **kwargs)


def test_mlm_weight_scales_the_mlm_term(tiny_model: SentenceTransformer) -> None:
    """The MLM component is mlm_weight × the MLM cross-entropy: the same draws with two weights give a ratio of 5."""
    tiny_model.train()
    loss = DropoutContrastiveLoss(tiny_model, mlm_weight=0.1)
    values = []
    for weight in (0.1, 0.5):
        loss.mlm_weight = weight
        torch.manual_seed(11)  # the same dropout masks and MLM masks both times
        values.append(loss([tiny_model.preprocess(TEXTS)]))
    assert_close(values[1]["mlm"], 5 * values[0]["mlm"], rtol=1e-5, atol=1e-7)
    assert_close(values[1]["contrastive"], values[0]["contrastive"])
    assert values[0]["mlm"] > 0
