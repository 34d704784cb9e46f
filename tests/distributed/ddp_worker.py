"""Run under ``torchrun --nproc_per_node 2``: trains a tiny model through the Trainer, ``model.fit`` and
``train_simcse`` with ``gather_across_devices``, and writes, per rank, the sentences of every batch it trained on."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import torch
from sentence_transformers import SentenceTransformerTrainer
from sentence_transformers.base.training_args import BatchSamplers
from sentence_transformers.sentence_transformer.training_args import SentenceTransformerTrainingArguments

from simcse_st import DropoutContrastiveLoss, UnlabeledSentenceLoader, load_sentences
from simcse_st.training import SimCSEConfig, train_simcse


class RecordingLoss(DropoutContrastiveLoss):
    def __init__(self, model, **kwargs) -> None:
        super().__init__(model, **kwargs)
        self.tokenizer = model.tokenizer  # the Trainer wraps self.model in DistributedDataParallel
        self.batches: list[list[str]] = []

    def forward(self, sentence_features, labels):
        features = list(sentence_features)
        texts = self.tokenizer.batch_decode(features[0]["input_ids"], skip_special_tokens=True)
        self.batches.append([text.replace(" ", "") for text in texts])
        return super().forward(features, labels)


def main(bert_dir: str, corpus: str, out: str) -> None:
    sys.path.insert(0, str(Path(__file__).parent.parent))
    from conftest import make_model

    rank = int(os.environ["RANK"])
    torch.manual_seed(0)
    record: dict[str, list[list[str]]] = {}

    model = make_model(Path(bert_dir))
    loss = RecordingLoss(model, gather_across_devices=True)
    args = SentenceTransformerTrainingArguments(
        output_dir=f"{out}/trainer",
        per_device_train_batch_size=4,
        num_train_epochs=1,
        batch_sampler=BatchSamplers.NO_DUPLICATES,
        dataloader_drop_last=True,
        use_cpu=True,
        ddp_backend="gloo",
        save_strategy="no",
        report_to="none",
        disable_tqdm=True,
    )
    SentenceTransformerTrainer(model=model, args=args, train_dataset=load_sentences(corpus), loss=loss).train()
    record["trainer"] = loss.batches

    model = make_model(Path(bert_dir))
    loss = RecordingLoss(model, gather_across_devices=True)
    loader = UnlabeledSentenceLoader(corpus, batch_size=4)
    model.fit(train_objectives=[(loader, loss)], epochs=1, warmup_steps=0, show_progress_bar=False)
    record["fit"] = loss.batches

    config = SimCSEConfig(batch_size=4, max_steps=2)
    results = train_simcse(corpus, f"{out}/model", config, model=make_model(Path(bert_dir)), show_progress_bar=False)
    record["train_simcse_steps"] = [[str(results["global_step"])]]
    import simcse_st.training.train as train_module

    losses = []
    build_loss = train_module.build_loss
    train_module.build_loss = lambda *args: losses.append(build_loss(*args)) or losses[-1]
    methods = SimCSEConfig(batch_size=4, max_steps=2, queue_size=32, off_dropout_negatives=True, repetition_rate=0.3)
    train_simcse(corpus, f"{out}/methods", methods, model=make_model(Path(bert_dir)), show_progress_bar=False)
    train_module.build_loss = build_loss
    record["methods_queue"] = losses[0].momentum_queue.negatives.tolist()
    record["methods_gather"] = [[str(losses[0].gather_across_devices)]]
    Path(f"{out}/rank{rank}.json").write_text(json.dumps(record))


if __name__ == "__main__":
    main(*sys.argv[1:4])
