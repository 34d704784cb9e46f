"""The CLI without STS-B: --dev-from-corpus, --eval-pairs, evaluate --pairs, and a Chinese/Thai corpus end to end."""

from __future__ import annotations

import json
from pathlib import Path

import torch
from cli_helpers import assert_clean_error, assert_ok, invoke, load, save_tiny_encoder
from conftest import SENTENCES
from transformers import BertConfig, BertModel, BertTokenizerFast

FAST = ("--pooling", "mean", "--batch-size", "4", "--no-bf16", "--max-steps", "2", "--eval-steps", "1", "-q")
CHINESE = [
    "我们今天去公园散步。", "他每天早上喝一杯咖啡。", "这本书非常有意思。", "明天可能会下雨。",
    "她在图书馆里看书。", "孩子们在操场上踢足球。", "火车中午到达北京。", "我喜欢吃妈妈做的饭。",
    "博物馆九点开门。", "老人在广场上喂鸽子。", "天气预报说今天很冷。", "他用电脑写了一封信。",
]  # fmt: skip
THAI = [
    "ฉันชอบกินข้าวผัด", "วันนี้อากาศดีมาก", "เขาไปโรงเรียนทุกวัน", "แมวนอนอยู่บนโต๊ะ",
    "พรุ่งนี้ฝนจะตก", "เด็กๆเล่นฟุตบอลในสนาม", "รถไฟมาถึงตอนเที่ยง", "เธออ่านหนังสือในห้องสมุด",
]  # fmt: skip


def _pairs_file(path: Path, rows: list[str] | None = None) -> Path:
    rows = rows or [f"{a}\t{b}\t{i % 5}" for i, (a, b) in enumerate(zip(SENTENCES[::2], SENTENCES[1::2], strict=True))]
    path.write_text("sentence1\tsentence2\tscore\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return path


def _cjk_thai_bert(directory: Path, texts: list[str]) -> Path:
    """A tiny random BERT whose WordPiece vocabulary is the corpus's own characters (Chinese, Thai, full-width forms
    folded by NFKC), with the accents kept: Thai vowel marks are combining characters that an uncased BERT strips."""
    chars = sorted({char for text in texts for char in text if not char.isspace()})
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *chars, *(f"##{char}" for char in chars)]
    tokenizer = BertTokenizerFast(
        vocab={token: i for i, token in enumerate(vocab)}, do_lower_case=False, strip_accents=False
    )
    tokenizer.save_pretrained(directory)
    config = BertConfig(vocab_size=len(vocab), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=128)  # fmt: skip
    torch.manual_seed(0)
    BertModel(config).save_pretrained(directory)
    return directory


def test_chinese_and_thai_corpus_trains_end_to_end_and_reloads(tmp_path: Path) -> None:
    lines = [
        *CHINESE,
        *THAI,
        "ＡＢＣ１２３。",
        "ABC123。",
        "好",
        "我们今天去公园散步。",
    ]  # a NFKC duplicate, 1 char, a duplicate
    corpus = tmp_path / "zh-th.txt"
    corpus.write_text("\n".join(lines) + "\n", encoding="utf-8")
    model_dir = _cjk_thai_bert(tmp_path / "bert", [*CHINESE, *THAI, "ABC123。"])
    tokenizer = BertTokenizerFast.from_pretrained(model_dir)
    ids = [i for row in tokenizer(CHINESE + THAI, add_special_tokens=False)["input_ids"] for i in row]
    assert tokenizer.unk_token_id not in ids and len(ids) == sum(len(t) for t in CHINESE + THAI)  # one per char
    output = tmp_path / "run"
    result = invoke(
        "train", corpus, "--model", model_dir, "--output", output, *FAST, "--length-unit", "characters",
        "--min-length", "3", "--unicode-normalization", "NFKC", "--dev-from-corpus", "4",
    )  # fmt: skip
    assert_ok(result)
    assert "Label-free dev score (held-out corpus sentences) ×100 by step: 1:" in result.output
    results = json.loads((output / "results.json").read_text())
    kept = len(CHINESE) + len(THAI) + 1  # ＡＢＣ１２３ folds into ABC123, "好" is too short, the duplicate dropped
    assert results["rows"] == kept - 4
    assert results["config"]["unicode_normalization"] == "NFKC" and results["config"]["length_unit"] == "characters"
    held_out = (output / "dev_sentences.txt").read_text(encoding="utf-8").splitlines()
    assert len(held_out) == 4 and set(held_out) <= {*CHINESE, *THAI, "ABC123。"}
    model = load(output)
    embeddings = model.encode([CHINESE[0], THAI[0]], convert_to_tensor=True)
    assert embeddings.shape == (2, 32) and torch.isfinite(embeddings).all()
    assert not torch.allclose(embeddings[0], embeddings[1])


def test_train_with_eval_pairs_selects_on_them(corpus_file: Path, tiny_bert_dir: Path, tmp_path: Path) -> None:
    output = tmp_path / "run"
    pairs = _pairs_file(tmp_path / "dev.tsv")
    result = invoke("train", corpus_file, "--model", tiny_bert_dir, "--output", output, *FAST, "--eval-pairs", pairs)
    assert_ok(result)
    results = json.loads((output / "results.json").read_text())
    assert results["best_metric_name"] == "eval_dev-pairs_spearman_cosine"
    assert "Dev pairs Spearman ×100 by step: 1:" in result.output


def test_evaluate_pairs_alone_or_with_tasks(tiny_bert_dir: Path, tmp_path: Path) -> None:
    encoder = save_tiny_encoder(tiny_bert_dir, tmp_path / "encoder")
    rows = [
        f"{i}\t{a}\t{b}\t{10 * (i % 5)}" for i, (a, b) in enumerate(zip(SENTENCES[::2], SENTENCES[1::2], strict=True))
    ]
    pairs = tmp_path / "mine.tsv"
    pairs.write_text("\n".join(rows) + "\n", encoding="utf-8")  # no header, scores 0-40
    out = tmp_path / "r.json"
    result = invoke("evaluate", "--model", encoder, "--pairs", pairs, "--pairs-columns", "1,2,3", "--json", out, "-q")
    assert_ok(result)
    assert "mine.tsv (8 pairs): Spearman ×100" in result.output
    recorded = json.loads(out.read_text())
    assert "pairs_spearman_cosine" in recorded["metrics"] and recorded["tasks"] == {"pairs": str(pairs)}
    assert not any(key.startswith("sts") for key in recorded["metrics"])  # --pairs alone: no STS


def test_bad_pairs_and_conflicting_options_are_one_line_errors(
    corpus_file: Path, tiny_bert_dir: Path, tmp_path: Path
) -> None:
    encoder = save_tiny_encoder(tiny_bert_dir, tmp_path / "encoder")
    bad = _pairs_file(tmp_path / "bad.tsv", ["a cat.\ta dog.\t1", "a man.\ta woman.\tlots", "x\ty\t2"])
    error = assert_clean_error(invoke("evaluate", "--model", encoder, "--pairs", bad, "-q"), "line 3: score 'lots'")
    assert "--skip-bad-rows" in error  # the library's skip_bad_rows=True, named as the flag
    assert_ok(invoke("evaluate", "--model", encoder, "--pairs", bad, "--skip-bad-rows", "-q"))
    wrong = invoke("evaluate", "--model", encoder, "--pairs", bad, "--pairs-columns", "q,a,score", "-q")
    assert_clean_error(wrong, "no column 'q'")
    both = invoke("train", corpus_file, "--model", tiny_bert_dir, "--output", tmp_path / "x", *FAST,
                  "--eval-pairs", bad, "--eval-data", tmp_path)  # fmt: skip
    assert_clean_error(both, "Give --eval-data or --eval-pairs, not both")
    many = invoke("train", corpus_file, "--model", tiny_bert_dir, "--output", tmp_path / "y", *FAST,
                  "--dev-from-corpus", "15")  # fmt: skip
    assert_clean_error(many, "--dev-from-corpus 15 is invalid: the corpus has 16 usable rows")
