"""Helpers of the CLI tests: invoking the app, checking clean errors, tiny data in the real SentEval layouts.

(Not a ``conftest.py``: a second module named ``conftest`` would shadow ``tests/conftest.py`` for the tests that
``from conftest import ...``.)
"""

from __future__ import annotations

from pathlib import Path

from click.testing import Result
from sentence_transformers import SentenceTransformer
from typer.testing import CliRunner

from simcse_st.cli.app import app
from simcse_st.modules import build_simcse_model

RUNNER = CliRunner()


def invoke(*args: str | Path) -> Result:
    """Run ``simcse-st ARGS`` in-process; stdout and stderr are both in ``result.output``."""
    return RUNNER.invoke(app, [str(arg) for arg in args])


def assert_ok(result: Result) -> None:
    assert result.exit_code == 0, (result.output, result.exception)


def assert_clean_error(result: Result, *fragments: str, exit_code: int = 1) -> str:
    """The command failed with exit ``exit_code`` and one ``Error:`` line containing ``fragments``, no traceback."""
    assert result.exit_code == exit_code, (result.exit_code, result.output, result.exception)
    assert isinstance(result.exception, SystemExit), f"escaped exception: {result.exception!r}"
    assert "Traceback" not in result.output
    errors = [line for line in result.output.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1, result.output
    for fragment in fragments:
        assert fragment in errors[0], (fragment, errors[0])
    return errors[0]


def save_tiny_encoder(bert_dir: Path, target: Path) -> Path:
    """The tiny BERT with mean pooling, saved as a sentence-transformers folder (what ``train`` writes)."""
    build_simcse_model(str(bert_dir), "avg", max_seq_length=32, device="cpu").save(str(target))
    return target


def load(path: Path) -> SentenceTransformer:
    return SentenceTransformer(str(path), device="cpu")


STS_YEARS = {
    "STS12": {"MSRpar": (["a man sings .\ta man is singing .", "cats purr .\tthe stock fell ."], ["4.8", "0.2"])},
    "STS13": {"headlines": (["oil rises .\toil prices rise .", "a dog .\ttwo cars ."], ["4.5", "0.5"])},
    "STS14": {"images": (["a red car .\ta car , red .", "a cat .\tthe sea ."], ["4.0", "1.0"])},
    "STS15": {"belief": (["i think so .\ti believe so .", "no .\tyes .", "x y .\tunscored ."], ["3.9", "1.1", ""])},
    "STS16": {"headlines": (["war ends .\tpeace comes .", "a b .\tc d .", "rain .\tsun ."], ["3.5", "0.1", "1.0"])},
}
STSB_ROWS = [
    "main-captions\tMSRvid\t2012test\t0001\t5.000\tA man is playing a flute.\tA man plays a flute.",
    "main-news\theadlines\t2013\t0002\t4.200\tOil prices rise.\tOil prices climb.\tsrc-a\tsrc-b",
    "main-forums\tdeft-forum\t2014\t0003\t0.500\tcats are great .\tthe stock market fell .",
    "main-captions\tMSRvid\t2012test\t0004\t2.400\tA woman slices an onion.\tA woman is cutting garlic.",
]
SICK_HEADER = "pair_ID\tsentence_A\tsentence_B\trelatedness_score\tentailment_judgment"
SICK_ROWS = [
    "1\tA boy is playing outdoors\tA kid plays outside\t4.5\tENTAILMENT",
    "2\tThere is no man smiling\tA man is smiling\t3.2\tCONTRADICTION",
    "3\tA cat sleeps\tA band plays music on stage\t1.1\tNEUTRAL",
]


def all_senteval_subsets(folder: str, subsets: dict[str, tuple[list[str], list[str]]]) -> dict:
    """``subsets`` plus, for every other subset SentEval scores in ``folder`` (STS12..STS16 are errors without all
    of them), a copy of the first one's pairs."""
    from simcse_st.evaluation.sts_data import SENTEVAL_SUBSETS

    first = next(iter(subsets.values()))
    return {**{name: first for name in SENTEVAL_SUBSETS[folder.lower()]}, **subsets}


def write_sts_dir(root: Path) -> Path:
    """A tiny SentEval-style STS directory (STS12..16, STSB, SICK) in the real file formats."""
    for folder, subsets in STS_YEARS.items():
        (root / folder).mkdir(parents=True)
        for subset, (inputs, golds) in all_senteval_subsets(folder, subsets).items():
            (root / folder / f"STS.input.{subset}.txt").write_text("\n".join(inputs) + "\n", encoding="utf-8")
            (root / folder / f"STS.gs.{subset}.txt").write_text("\n".join(golds) + "\n", encoding="utf-8")
    (root / "STSB").mkdir()
    for split in ("test", "dev"):
        (root / "STSB" / f"sts-{split}.csv").write_text("\n".join(STSB_ROWS) + "\n", encoding="utf-8")
    (root / "SICK").mkdir()
    for name in ("SICK_test_annotated.txt", "SICK_trial.txt"):
        (root / "SICK" / name).write_text("\n".join([SICK_HEADER, *SICK_ROWS]) + "\n", encoding="utf-8")
    return root


def write_mr_dir(root: Path, per_class: int = 20) -> Path:
    """MR in SentEval's layout (``MR/rt-polarity.pos`` / ``.neg``, one tokenised sentence per line)."""
    (root / "MR").mkdir(parents=True, exist_ok=True)
    positive = [f"a good , great and fine film number {i} ." for i in range(per_class)]
    negative = [f"a bad , dull and awful movie take {i} ." for i in range(per_class)]
    (root / "MR" / "rt-polarity.pos").write_text("\n".join(positive) + "\n", encoding="utf-8")
    (root / "MR" / "rt-polarity.neg").write_text("\n".join(negative) + "\n", encoding="utf-8")
    return root
