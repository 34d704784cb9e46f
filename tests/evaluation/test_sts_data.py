"""Readers for the SentEval layout (fixture files in the real formats) and the hub fallback (simulated)."""

from __future__ import annotations

from pathlib import Path

import pytest
from datasets import Dataset

from simcse_st.data.data_dir import DATA_ENV_VAR
from simcse_st.evaluation.sts_data import (
    SENTEVAL_SUBSETS,
    STS_TASKS,
    load_sts_task_from_hub,
    load_sts_tasks,
    read_sick_split,
    read_sts_task,
    read_sts_year,
    read_stsb_split,
    resolve_tasks,
)

REAL_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"

# STS12 is built so that the fake encoder of test_sts_evaluator.py gives cos(anchor, "cos=c") = c exactly.
STS12_FILES = {
    "MSRpar": (
        ["anchor\tcos=0.1", "anchor\tcos=0.5", "anchor\tcos=0.9", "anchor\tcos=0.3"],
        ["1.0", "2.0", "3.0", "1.5"],
    ),
    "surprise.OnWN": (
        ["anchor\tcos=0.2", "anchor\tcos=0.95", "anchor\tcos=0.6", "anchor\tcos=0.8"],
        ["4.5", "", "0.5", "2.5"],  # the 2nd pair has no gold and must be skipped
    ),
}
OTHER_YEARS = {
    "STS13": {
        "headlines": (
            [
                "  a  man   is playing .\tthe man plays .",
                "cats are nice .\tdogs bark .",
                "it rains .\tit is raining .",
            ],
            ["4.0", "0.4", "4.8"],
        )
    },
    "STS14": {
        "images": (
            ["a dog runs .\ta dog is running .", "a red car .\tthe sky .", "two men .\ttwo guys ."],
            ["4.6", "0.0", "3.1"],
        )
    },
    "STS15": {
        "belief": (
            ["i think so .\ti believe it .", "no way .\tof course .", "maybe .\tperhaps .", "unscored .\tpair ."],
            ["3.5", "0.8", "4.1", ""],
        )
    },
    "STS16": {
        "headlines": (
            ["stocks fall .\tshares drop .", "war ends .\tpeace now .", "a b .\tc d ."],
            ["4.4", "2.0", "0.2"],
        )
    },
}
STSB_TEST = [
    "main-captions\tMSRvid\t2012test\t0001\t5.000\tA man is playing a flute.\tA man plays a flute.",
    'main-news\theadlines\t2013\t0002\t4.200\t"Quoted start of a sentence.\tAnother   sentence.\tsrc-a\tsrc-b',
    "main-forums\tdeft-forum\t2014\t0003\t0.500\tcats are great .\tthe stock market fell .",
    "main-captions\tMSRvid\t2012test\t0004\t2.400\tA woman slices an onion.\tA woman is cutting garlic.",
]
STSB_DEV = [
    "main-captions\tMSRvid\t2012train\t0011\t4.800\tA girl is dancing.\tA girl dances.",
    "main-captions\tMSRvid\t2012train\t0012\t1.000\tA plane takes off.\tA man eats.",
    "main-news\theadlines\t2013\t0013\t3.000\tOil prices rise.\tOil prices climb again.",
]
SICK_HEADER = "pair_ID\tsentence_A\tsentence_B\trelatedness_score\tentailment_judgment"
SICK_TEST = [
    "1\tA boy is playing outdoors\tA kid plays outside\t4.5\tENTAILMENT",
    "2\tThere is no man smiling\tA man is smiling\t3.2\tCONTRADICTION",
    "3\tA cat sleeps\tA band plays music on stage\t1.1\tNEUTRAL",
]
SICK_TRIAL = [
    "4\tA woman is cooking\tA woman cooks food\t4.7\tENTAILMENT",
    "5\tA man rides a horse\tNobody rides a horse\t2.9\tCONTRADICTION",
    "6\tThe dog swims\tA child reads\t1.2\tNEUTRAL",
]


# This module's toy layout has fewer subsets per year than SentEval; the fixture below declares them as the years'
# subsets (read_sts_year refuses a year folder without all of its subsets: test_defect_06 uses SentEval's own list).
TOY_SUBSETS = {"sts12": tuple(STS12_FILES), **{year.lower(): tuple(subsets) for year, subsets in OTHER_YEARS.items()}}


@pytest.fixture(autouse=True)
def toy_subsets(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    if request.node.get_closest_marker("slow"):  # the real data directory: SentEval's own subsets
        return
    for year, subsets in TOY_SUBSETS.items():
        monkeypatch.setitem(SENTEVAL_SUBSETS, year, subsets)


def write_senteval_dir(root: Path) -> Path:
    """Write a tiny SentEval-style directory in the real formats and return it."""
    years = {"STS12": STS12_FILES, **OTHER_YEARS}
    for folder, subsets in years.items():
        (root / folder).mkdir(parents=True)
        for subset, (inputs, golds) in subsets.items():
            (root / folder / f"STS.input.{subset}.txt").write_text("\n".join(inputs) + "\n", encoding="utf-8")
            (root / folder / f"STS.gs.{subset}.txt").write_text("\n".join(golds) + "\n", encoding="utf-8")
    (root / "STS12" / "STS.gs.ALL.txt").write_text("1.0\n")  # aggregate file of some SentEval copies: ignored
    (root / "STSB").mkdir()
    (root / "STSB" / "sts-test.csv").write_text("\n".join(STSB_TEST) + "\n", encoding="utf-8")
    (root / "STSB" / "sts-dev.csv").write_text("\n".join(STSB_DEV) + "\n", encoding="utf-8")
    (root / "SICK").mkdir()
    (root / "SICK" / "SICK_test_annotated.txt").write_bytes(("\r\n".join([SICK_HEADER, *SICK_TEST]) + "\r\n").encode())
    (root / "SICK" / "SICK_trial.txt").write_text("\n".join([SICK_HEADER, *SICK_TRIAL]) + "\n", encoding="utf-8")
    return root


@pytest.fixture
def senteval_dir(tmp_path: Path) -> Path:
    return write_senteval_dir(tmp_path / "senteval")


def test_sts_year_skips_empty_gold_and_orders_subsets(senteval_dir: Path) -> None:
    data = read_sts_year(senteval_dir / "STS12")
    assert list(data) == ["MSRpar", "surprise.OnWN"]  # SentEval's order; STS.gs.ALL.txt ignored
    assert data["MSRpar"][0] == ("anchor", "cos=0.1", 1.0)
    assert data["surprise.OnWN"] == [
        ("anchor", "cos=0.2", 4.5),
        ("anchor", "cos=0.6", 0.5),
        ("anchor", "cos=0.8", 2.5),
    ]
    assert read_sts_year(senteval_dir / "STS15")["belief"][-1] == ("maybe .", "perhaps .", 4.1)


def test_whitespace_is_normalised_like_senteval(senteval_dir: Path) -> None:
    assert read_sts_task(senteval_dir, "sts13")["headlines"][0] == ("a man is playing .", "the man plays .", 4.0)


def test_stsb_reads_nine_field_rows_and_stray_quotes(senteval_dir: Path) -> None:
    pairs = read_stsb_split(senteval_dir / "STSB" / "sts-test.csv")
    assert len(pairs) == 4
    assert pairs[1] == ('"Quoted start of a sentence.', "Another sentence.", 4.2)
    assert [score for _, _, score in pairs] == [5.0, 4.2, 0.5, 2.4]


def test_sick_skips_header_and_handles_crlf(senteval_dir: Path) -> None:
    pairs = read_sick_split(senteval_dir / "SICK" / "SICK_test_annotated.txt")
    assert pairs == [
        ("A boy is playing outdoors", "A kid plays outside", 4.5),
        ("There is no man smiling", "A man is smiling", 3.2),
        ("A cat sleeps", "A band plays music on stage", 1.1),
    ]


def test_modes_pick_the_splits(senteval_dir: Path) -> None:
    test = load_sts_tasks(senteval_dir, mode="test")
    assert tuple(test) == STS_TASKS
    assert list(test["stsb"]) == ["test"] and len(test["stsb"]["test"]) == 4
    assert list(test["sickr"]) == ["test"] and len(test["sickr"]["test"]) == 3
    dev = load_sts_tasks(senteval_dir, mode="dev")
    assert tuple(dev) == ("stsb", "sickr")
    assert dev["stsb"]["dev"][0] == ("A girl is dancing.", "A girl dances.", 4.8)
    assert dev["sickr"]["dev"][0] == ("A woman is cooking", "A woman cooks food", 4.7)


def test_data_dir_from_environment(senteval_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(DATA_ENV_VAR, str(senteval_dir))
    assert list(load_sts_tasks(tasks=["sickr"])) == ["sickr"]


@pytest.mark.parametrize(
    ("task", "relative"),
    [("stsb", "STSB/sts-test.csv"), ("sickr", "SICK/SICK_test_annotated.txt"), ("sts14", "STS14")],
)
def test_missing_files_name_the_expected_path(senteval_dir: Path, task: str, relative: str) -> None:
    target = senteval_dir / relative
    if target.is_dir():
        for child in target.iterdir():
            child.unlink()
        target.rmdir()
    else:
        target.unlink()
    with pytest.raises(FileNotFoundError, match=str(target)):
        read_sts_task(senteval_dir, task, "test")  # type: ignore[arg-type]


def test_gold_file_without_input_names_the_input_path(senteval_dir: Path) -> None:
    (senteval_dir / "STS12" / "STS.input.MSRpar.txt").unlink()
    with pytest.raises(FileNotFoundError, match=r"STS12/STS\.input\.MSRpar\.txt"):
        read_sts_year(senteval_dir / "STS12")


def test_line_count_mismatch_is_an_error(senteval_dir: Path) -> None:
    (senteval_dir / "STS16" / "STS.gs.headlines.txt").write_text("4.4\n2.0\n")
    with pytest.raises(ValueError, match="must match"):
        read_sts_year(senteval_dir / "STS16")


def test_empty_split_is_an_error(senteval_dir: Path) -> None:
    (senteval_dir / "SICK" / "SICK_trial.txt").write_text(SICK_HEADER + "\n")
    with pytest.raises(ValueError, match="no sentence pairs"):
        read_sts_task(senteval_dir, "sickr", "dev")


def test_missing_data_dir_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="nowhere"):
        load_sts_tasks(tmp_path / "nowhere")


def test_resolve_tasks() -> None:
    assert resolve_tasks(None, "test") == STS_TASKS
    assert resolve_tasks(None, "dev") == ("stsb", "sickr")
    assert resolve_tasks(None, "dev", from_hub=True) == ("stsb",)
    assert resolve_tasks(["sickr", "sts12"], "test") == ("sts12", "sickr")  # SimCSE's column order
    assert resolve_tasks("stsb", "dev") == ("stsb",)
    with pytest.raises(ValueError, match="no dev split"):
        resolve_tasks(["sts12"], "dev")
    with pytest.raises(ValueError, match="Unknown"):
        resolve_tasks(["sts17"], "test")
    with pytest.raises(ValueError, match="mode"):
        resolve_tasks(None, "train")  # type: ignore[arg-type]


def test_offline_hub_fallback_says_how_to_pass_a_directory(monkeypatch: pytest.MonkeyPatch) -> None:
    def offline(*args: object, **kwargs: object) -> None:
        raise ConnectionError("Couldn't reach 'mteb/sts12-sts' on the Hub (OfflineModeIsEnabled)")

    monkeypatch.delenv(DATA_ENV_VAR, raising=False)
    monkeypatch.setattr("datasets.load_dataset", offline)
    with pytest.raises(ConnectionError, match="mteb/sts12-sts") as info:
        load_sts_tasks(None, mode="test")
    assert "data_dir=" in str(info.value) and DATA_ENV_VAR in str(info.value)


def test_hub_loading_rescales_stsb_and_has_no_subsets(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[str, str]] = []

    def fake_load_dataset(dataset_id: str, split: str) -> Dataset:
        calls.append((dataset_id, split))
        return Dataset.from_dict({"sentence1": ["a  b"], "sentence2": ["c"], "score": [0.8]})

    monkeypatch.setattr("datasets.load_dataset", fake_load_dataset)
    assert load_sts_task_from_hub("stsb", "dev") == {"dev": [("a b", "c", 4.0)]}
    assert load_sts_task_from_hub("sts15", "test") == {"all": [("a b", "c", 0.8)]}
    assert calls == [("sentence-transformers/stsb", "validation"), ("mteb/sts15-sts", "test")]
    with pytest.raises(ValueError, match="no 'dev' split on the hub"):
        load_sts_task_from_hub("sickr", "dev")


@pytest.mark.slow
@pytest.mark.skipif(not REAL_DATA.is_dir(), reason="needs ../shared/data")
def test_real_directory_matches_senteval() -> None:
    data = load_sts_tasks(REAL_DATA, mode="test")
    for task, subsets in SENTEVAL_SUBSETS.items():
        assert tuple(data[task]) == subsets  # type: ignore[index]
    totals = {task: sum(len(pairs) for pairs in subsets.values()) for task, subsets in data.items()}
    assert totals == {
        "sts12": 3108,
        "sts13": 1500,
        "sts14": 3750,
        "sts15": 3000,
        "sts16": 1186,
        "stsb": 1379,
        "sickr": 4927,
    }
    assert len(data["sts16"]["postediting"]) == 244
    dev = load_sts_tasks(REAL_DATA, mode="dev")
    assert len(dev["stsb"]["dev"]) == 1500 and len(dev["sickr"]["dev"]) == 500


def test_defect_06_a_year_folder_without_all_its_subsets_is_an_error_naming_them(
    senteval_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.undo()  # SentEval's real subsets: the toy STS12 folder holds 2 of its 5
    with pytest.raises(FileNotFoundError, match="missing 3 of the 5 subsets") as info:
        read_sts_year(senteval_dir / "STS12")
    for name in ("STS.gs.MSRvid.txt", "STS.gs.SMTeuroparl.txt", "STS.gs.surprise.SMTnews.txt"):
        assert name in str(info.value)
