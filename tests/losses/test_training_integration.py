"""The loss and the loader inside sentence-transformers' own training loops (model.fit and the Trainer)."""

from __future__ import annotations

from pathlib import Path

import torch
from datasets import Dataset
from sentence_transformers import SentenceTransformer, SentenceTransformerTrainer
from sentence_transformers.base.training_args import BatchSamplers
from sentence_transformers.sentence_transformer.training_args import SentenceTransformerTrainingArguments
from torch.testing import assert_close

from simcse_st import DropoutContrastiveLoss, UnlabeledSentenceLoader, load_sentences


class RecordingLoss(DropoutContrastiveLoss):
    """Records the token rows of every batch the training loop really feeds the loss."""

    def __init__(self, model: SentenceTransformer, **kwargs) -> None:
        super().__init__(model, **kwargs)
        self.batches: list[list[tuple[int, ...]]] = []
        self.values: list[float] = []

    def forward(self, sentence_features, labels):
        features = list(sentence_features)
        ids, mask = features[0]["input_ids"], features[0]["attention_mask"]
        self.batches.append([tuple(row[m.bool()].tolist()) for row, m in zip(ids, mask, strict=True)])
        value = super().forward(features, labels)
        self.values.append(value.item())
        return value


def _params(model: SentenceTransformer) -> list[torch.Tensor]:
    return [p.detach().clone() for p in model.parameters()]


def test_one_step_fit_with_the_loader(tiny_model: SentenceTransformer, corpus_file: Path, tmp_path: Path) -> None:
    before = _params(tiny_model)
    loader = UnlabeledSentenceLoader(corpus_file, batch_size=8)
    loss = RecordingLoss(tiny_model)
    tiny_model.fit(
        train_objectives=[(loader, loss)],
        epochs=1,
        steps_per_epoch=1,
        warmup_steps=0,
        show_progress_bar=False,
        checkpoint_path=None,
    )
    assert len(loss.batches) == 1 and len(loss.batches[0]) == 8
    assert any(not torch.equal(a, b) for a, b in zip(before, tiny_model.parameters(), strict=True))


def test_fit_trains_on_full_batches_without_duplicates(tiny_bert_dir: Path, tmp_path: Path) -> None:
    from conftest import SENTENCES, make_model

    model = make_model(tiny_bert_dir)
    corpus = tmp_path / "dups.txt"
    corpus.write_text("\n".join(SENTENCES * 3 + SENTENCES[:5]) + "\n")  # every sentence 3-4 times
    loader = UnlabeledSentenceLoader(corpus, batch_size=4, dedup=False)
    loss = RecordingLoss(model)
    model.fit(train_objectives=[(loader, loss)], epochs=1, warmup_steps=0, show_progress_bar=False)
    assert len(loss.batches) >= 10
    for batch in loss.batches:
        assert len(batch) == 4
        assert len(set(batch)) == 4, "fit trained on a batch with a repeated sentence"


def test_one_step_trainer_with_load_sentences(
    tiny_model: SentenceTransformer, corpus_file: Path, tmp_path: Path
) -> None:
    dataset = load_sentences(corpus_file)
    loss = RecordingLoss(tiny_model)
    args = SentenceTransformerTrainingArguments(
        output_dir=str(tmp_path / "out"),
        per_device_train_batch_size=8,
        max_steps=1,
        batch_sampler=BatchSamplers.NO_DUPLICATES,
        dataloader_drop_last=True,
        report_to="none",
        use_cpu=True,
        save_strategy="no",
        disable_tqdm=True,
    )
    trainer = SentenceTransformerTrainer(model=tiny_model, args=args, train_dataset=dataset, loss=loss)
    trainer.train()
    assert trainer.state.global_step == 1
    assert len(loss.batches) == 1 and len(set(loss.batches[0])) == 8


def _fixed_batch_loss(model: SentenceTransformer, loss: DropoutContrastiveLoss, sentences: list[str]) -> float:
    torch.manual_seed(123)
    model.train()
    with torch.no_grad():
        return loss([model.preprocess(sentences)], None).item()


def test_twenty_steps_lower_the_loss(tiny_model: SentenceTransformer, corpus_file: Path, tmp_path: Path) -> None:
    from conftest import SENTENCES

    loss = DropoutContrastiveLoss(tiny_model)
    before = _fixed_batch_loss(tiny_model, loss, SENTENCES)
    loader = UnlabeledSentenceLoader(corpus_file, batch_size=8)
    tiny_model.fit(
        train_objectives=[(loader, loss)],
        epochs=10,  # 16 sentences / 8 = 2 steps an epoch -> 20 steps
        warmup_steps=0,
        optimizer_params={"lr": 1e-3},
        show_progress_bar=False,
    )
    after = _fixed_batch_loss(tiny_model, loss, SENTENCES)
    assert after < 0.8 * before, (before, after)


def test_supervised_triplets_train_through_the_trainer(tiny_model: SentenceTransformer, tmp_path: Path) -> None:
    from conftest import SENTENCES

    dataset = Dataset.from_dict(
        {"sent0": SENTENCES[:8], "sent1": SENTENCES[8:16], "hard_neg": list(reversed(SENTENCES[:8]))}
    )
    loss = RecordingLoss(tiny_model, hard_negative_weight=1.0)
    args = SentenceTransformerTrainingArguments(
        output_dir=str(tmp_path / "out"),
        per_device_train_batch_size=4,
        max_steps=2,
        report_to="none",
        use_cpu=True,
        save_strategy="no",
        disable_tqdm=True,
    )
    SentenceTransformerTrainer(model=tiny_model, args=args, train_dataset=dataset, loss=loss).train()
    assert len(loss.values) == 2 and all(v > 0 for v in loss.values)


def test_trained_model_saves_and_reloads(tiny_model: SentenceTransformer, corpus_file: Path, tmp_path: Path) -> None:
    loader = UnlabeledSentenceLoader(corpus_file, batch_size=8)
    tiny_model.fit(
        train_objectives=[(loader, DropoutContrastiveLoss(tiny_model))],
        epochs=1,
        warmup_steps=0,
        show_progress_bar=False,
    )
    tiny_model.save(str(tmp_path / "saved"))
    reloaded = SentenceTransformer(str(tmp_path / "saved"), device="cpu")
    sentences = ["a man is playing a guitar.", "rain is expected tomorrow."]
    assert_close(
        reloaded.encode(sentences, convert_to_tensor=True), tiny_model.encode(sentences, convert_to_tensor=True)
    )
