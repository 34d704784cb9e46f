"""PromptBERT's encoder: tokenization, [MASK] read-out and template denoising as the official code computes them."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from sentence_transformers import SentenceTransformer
from torch.testing import assert_close

from simcse_st import DropoutContrastiveLoss
from simcse_st.modules import (
    PROMPTBERT_POSITIVE_TEMPLATE,
    PROMPTBERT_TEMPLATE,
    PromptTransformer,
    build_prompt_model,
)

SENTENCES = ["a cat sat on the mat.", "the dog", "birds sing in the morning.", "rain."]


@pytest.fixture
def prompt_model(tiny_bert_dir: Path) -> SentenceTransformer:
    torch.manual_seed(0)
    return build_prompt_model(str(tiny_bert_dir), max_seq_length=8)


def official_ids(tokenizer, sentence: str, max_len: int) -> list[int]:
    """train.py's prepare_features: bs = encode(prefix)[:-1], es = encode(suffix)[1:], bs + s[:max_len] + es."""
    bs = tokenizer.encode('This sentence of "')[:-1]
    es = tokenizer.encode('" means' + tokenizer.mask_token + " .")[1:]
    return bs + tokenizer.encode(sentence, add_special_tokens=False)[:max_len] + es


def test_tokenization_matches_the_official_code(prompt_model: SentenceTransformer) -> None:
    features = prompt_model.preprocess(SENTENCES)
    tokenizer = prompt_model.tokenizer
    for row, mask, sentence in zip(features["input_ids"], features["attention_mask"], SENTENCES, strict=False):
        assert row[: int(mask.sum())].tolist() == official_ids(tokenizer, sentence, 8)


def official_denoised(model: SentenceTransformer, sentences: list[str]) -> torch.Tensor:
    """models.py cl_forward/sentemb_forward with --mask_embedding_sentence_delta, written out: the template without
    the sentence, positions after the prefix shifted by the sentence length; h[MASK](s) - delta[len(s)]."""
    tokenizer = model.tokenizer
    encoder = model[0].auto_model
    bs = tokenizer.encode('This sentence of "', add_special_tokens=False)
    template = tokenizer.encode('This sentence of "' + '" means' + tokenizer.mask_token + " .")
    out = []
    for sentence in sentences:
        ids = torch.tensor([official_ids(tokenizer, sentence, 8)])
        hidden = encoder(input_ids=ids, attention_mask=torch.ones_like(ids)).last_hidden_state[0]
        h = hidden[ids[0] == tokenizer.mask_token_id][0]
        length = ids.size(1) - len(template)
        d_ids = torch.tensor([template])
        d_pos = torch.arange(d_ids.size(1)).unsqueeze(0)
        d_pos[:, len(bs) + 1 :] += length
        # The official code attends over the whole template. Recent transformers read a jump in position_ids given
        # without an attention_mask as the start of a packed sequence and split the attention there, so the full
        # mask is passed explicitly (as PromptTransformer does).
        d_hidden = encoder(input_ids=d_ids, attention_mask=torch.ones_like(d_ids), position_ids=d_pos)
        d_hidden = d_hidden.last_hidden_state[0]
        out.append(h - d_hidden[d_ids[0] == tokenizer.mask_token_id][0])
    return torch.stack(out)


def test_denoised_embedding_matches_the_official_formula(prompt_model: SentenceTransformer) -> None:
    prompt_model.eval()
    with torch.no_grad():
        ours = prompt_model.encode(SENTENCES, convert_to_tensor=True)
        assert_close(ours, official_denoised(prompt_model, SENTENCES), atol=1e-5, rtol=1e-4)


def test_without_denoising_it_is_the_mask_state(tiny_bert_dir: Path) -> None:
    model = build_prompt_model(str(tiny_bert_dir), denoise=False, max_seq_length=8).eval()
    tokenizer = model.tokenizer
    with torch.no_grad():
        ours = model.encode(SENTENCES[:2], convert_to_tensor=True)
        for embedding, sentence in zip(ours, SENTENCES[:2], strict=False):
            ids = torch.tensor([official_ids(tokenizer, sentence, 8)])
            hidden = model[0].auto_model(input_ids=ids).last_hidden_state[0]
            assert_close(embedding, hidden[ids[0] == tokenizer.mask_token_id][0], atol=1e-5, rtol=1e-4)


def test_retemplate_gives_the_second_templates_tokens(prompt_model: SentenceTransformer) -> None:
    module = prompt_model[0]
    second = module.retemplate(prompt_model.preprocess(SENTENCES), PROMPTBERT_POSITIVE_TEMPLATE)
    module.template = PROMPTBERT_POSITIVE_TEMPLATE
    try:
        direct = prompt_model.preprocess(SENTENCES)
    finally:
        module.template = PROMPTBERT_TEMPLATE
    assert torch.equal(second["input_ids"], direct["input_ids"])
    assert torch.equal(second["attention_mask"], direct["attention_mask"])


def test_saved_model_encodes_with_its_template_and_needs_trust(prompt_model: SentenceTransformer, tmp_path) -> None:
    prompt_model.eval()
    expected = prompt_model.encode(SENTENCES, convert_to_tensor=True)
    prompt_model.save(str(tmp_path / "prompt"))
    with pytest.raises(ValueError, match="not part of Sentence Transformers"):
        SentenceTransformer(str(tmp_path / "prompt"), device="cpu")
    reloaded = SentenceTransformer(str(tmp_path / "prompt"), device="cpu", trust_remote_code=True)
    assert isinstance(reloaded[0], PromptTransformer) and reloaded[0].template == PROMPTBERT_TEMPLATE
    assert_close(reloaded.encode(SENTENCES, convert_to_tensor=True), expected)


def test_bad_templates_are_refused(prompt_model: SentenceTransformer) -> None:
    for template in ("no slots", "[MASK] before [X]", "[X] [MASK] [MASK]"):
        with pytest.raises(ValueError, match="template"):
            prompt_model[0].check_template(template)


def test_two_template_loss_trains_the_encoder(prompt_model: SentenceTransformer) -> None:
    prompt_model.train()
    loss = DropoutContrastiveLoss(prompt_model, positive_template=PROMPTBERT_POSITIVE_TEMPLATE, mlp_only_train=True)
    value = loss([prompt_model.preprocess(SENTENCES)], None)
    value.backward()
    assert torch.isfinite(value)
    assert prompt_model[0].auto_model.embeddings.word_embeddings.weight.grad is not None


def test_positive_template_needs_a_prompt_model(tiny_model: SentenceTransformer) -> None:
    with pytest.raises(ValueError, match="PromptTransformer"):
        DropoutContrastiveLoss(tiny_model, positive_template=PROMPTBERT_POSITIVE_TEMPLATE)


def test_load_model_trusts_only_this_packages_own_modules(prompt_model: SentenceTransformer, tmp_path) -> None:
    import json

    from simcse_st.inference.model_loading import load_model

    prompt_model.save(str(tmp_path / "prompt"))
    assert isinstance(load_model(tmp_path / "prompt", device="cpu")[0], PromptTransformer)
    modules = json.loads((tmp_path / "prompt" / "modules.json").read_text())
    modules[0]["type"] = "somebody_else.Module"
    (tmp_path / "prompt" / "modules.json").write_text(json.dumps(modules))
    with pytest.raises(OSError, match="not part of Sentence Transformers"):
        load_model(tmp_path / "prompt", device="cpu")
