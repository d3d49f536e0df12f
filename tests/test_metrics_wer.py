"""WER/CER: corpus counts, the shipped faster-whisper models on real speech, the text normaliser,
openai-whisper checkpoints."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import jiwer
import numpy as np
import pytest

from _metrics_support import SENTENCE, make_item, score, speech
from bench.audio import load_audio
from bench.errors import ConfigError, MissingDependencyError, MissingWeightsError
from bench.metric import ScoringContext
from bench.metrics._asr import DEFAULT_MODEL, SHIPPED_MODELS, FasterWhisperASR
from bench.metrics.wer import WER, error_counts, make_normalizer


@pytest.fixture(scope="module")
def metric() -> WER:
    m = WER()
    m.load()
    return m


def test_error_counts_match_jiwer() -> None:
    reference, hypothesis = "the cat sat on the mat", "the cat sat on a mat today"
    counts = error_counts(reference, hypothesis)
    assert counts["WER_edits"] / counts["WER_words"] == pytest.approx(jiwer.wer(reference, hypothesis))
    assert counts["CER_edits"] / counts["CER_chars"] == pytest.approx(jiwer.cer(reference, hypothesis))
    assert counts == {"WER_edits": 2, "WER_words": 6, "CER_edits": 9, "CER_chars": 22}


def test_corpus_columns_are_ratios_of_hidden_counts(metric: WER) -> None:
    columns = {c.name: c for c in metric.columns}
    assert columns["WER"].ratio_of == ("WER_edits", "WER_words") and not columns["WER"].higher_is_better
    assert columns["CER"].ratio_of == ("CER_edits", "CER_chars")
    assert all(columns[name].hidden for name in ("WER_edits", "WER_words", "CER_edits", "CER_chars"))


def test_version_records_asr_model_and_normalizer(metric: WER) -> None:
    version = metric.version
    assert f"backend=faster-whisper" in version and f"model={DEFAULT_MODEL}" in version and "normalizer=english" in version
    assert "normalizer/whisper-normalizer/english.json@sha256:" in version
    tiny = WER(model="tiny.en")
    assert "faster-whisper/tiny.en/model.bin@sha256:1a5afae06a4db91c975c9a9d78be5cc110ee4ea022ad57d55492e4550e936b2a" in tiny.version
    base = WER(model="base")  # split over two wheels: every part's hash is in the version
    assert "faster-whisper/base/model.bin.part1@sha256:" in base.version
    assert "faster-whisper/base/model.bin.part2@sha256:" in base.version
    basic = WER(normalizer="basic")
    assert "normalizer=basic" in basic.version and "english.json" not in basic.version
    assert basic.normalize("Mr. Smith, twenty-one!") == "mr smith twenty one"
    assert metric.normalize("Mr. Smith, twenty-one!") == "mister smith 21"


# Outputs of openai-whisper's EnglishTextNormalizer (whisper 20250625) on these strings, recorded
# once; the normaliser now comes from whisper-normalizer and must keep Whisper's rules.
WHISPER_ENGLISH = {
    "Mr. Smith, twenty-one!": "mister smith 21",
    "He paid $3.50 for 2 apples at 5:30 p.m.": "he paid $3.50 for 2 apples at 5 30 p m",
    "The colour of the theatre is grey.": "the color of the theater is gray",
    "Dr. Jones won't go; he'd rather stay home.": "doctor jones will not go he would rather stay home",
    "one hundred and twenty three thousand four hundred": "123400",
    "Uh, um! hmm": "",
    "I'm gonna wanna have 'em": "i am going to want to have em",
    "Café naïve résumé": "cafe naive resume",
    "(brackets) [and] <tags>": "",
    "two point five percent": "2.5%",
    "First, second, third and 4th": "1st 2nd 3rd and 4th",
    "Mrs. and Messrs. and Gen. Lee": "missus and messrs and general lee",
    "STUFF IT INTO YOU HIS BELLY COUNSELLED HIM": "stuff it into you his belly counseled him",
}


def test_english_normalizer_keeps_whispers_rules() -> None:
    normalize = make_normalizer("english")
    assert {text: " ".join(normalize(text).split()) for text in WHISPER_ENGLISH} == WHISPER_ENGLISH
    assert make_normalizer("basic")("Café, 'naïve'!").split() == ["café", "naïve"]  # keeps diacritics, as Whisper's
    assert make_normalizer("none")("As Is.") == "As Is."


def test_shipped_models_and_paths(tmp_path: Path) -> None:
    assert set(SHIPPED_MODELS) == {"tiny.en", "base"} and DEFAULT_MODEL in SHIPPED_MODELS
    base = FasterWhisperASR("base", "int8", 5)
    assert [p.name for p in base.files["model.bin"]] == ["model.bin.part1", "model.bin.part2"]
    assert sum(p.stat().st_size for p in base.files["model.bin"]) == 145217607  # Whisper base, float16
    # a model folder given as a path: NAME.partN files are joined in numeric order
    for name in ("model.bin.part10", "model.bin.part2", "config.json", "tokenizer.json"):
        (tmp_path / name).write_bytes(b"x")
    folder = FasterWhisperASR(str(tmp_path), "int8", 5)
    assert [p.name for p in folder.files["model.bin"]] == ["model.bin.part2", "model.bin.part10"]
    assert set(folder.model_files()) == {f"faster-whisper/{tmp_path.name}/{n}" for n in
                                         ("model.bin.part2", "model.bin.part10", "config.json", "tokenizer.json")}
    with pytest.raises(MissingWeightsError, match="tiny.en, base"):
        WER(model="small")
def test_clean_espeak_sentence_has_zero_wer_and_silence_one(tmp_path: Path, metric: WER) -> None:
    clean = speech(rate=24000)
    item = make_item(tmp_path, 24000, input=clean, transcript=SENTENCE)
    got = score(metric, item, clean, 24000)
    assert got["WER"] == 0.0 and got["CER"] == 0.0 and got["WER_words"] == 8.0
    silent = score(metric, item, np.zeros_like(clean), 24000)
    assert silent["WER"] == 1.0 and silent["WER_edits"] == 8.0 and silent["CER"] == 1.0
    assert not metric.applies_to(make_item(tmp_path, 24000, input=clean))


def test_empty_transcript_leaves_columns_absent(tmp_path: Path, metric: WER) -> None:
    clean = speech()
    item = make_item(tmp_path, 16000, input=clean, transcript="Uh, um!")  # fillers the normaliser drops
    assert metric.score(ScoringContext(item, clean, 16000)) == {}


def test_missing_openai_whisper_checkpoint_names_where_it_looked(tmp_path: Path) -> None:
    with pytest.raises(MissingWeightsError) as err:
        WER(backend="openai-whisper", model="small.en", download_root=str(tmp_path))
    message = str(err.value)
    assert str(tmp_path / "small.en.pt") in message and "openaipublic" in message
    with pytest.raises(MissingWeightsError, match="no file at .*nope.pt"):
        WER(backend="openai-whisper", model=str(tmp_path / "nope.pt"))
    with pytest.raises(MissingWeightsError, match="tiny.en.pt"):  # the default model name
        WER(backend="openai-whisper", download_root=str(tmp_path))
    with pytest.raises(ConfigError, match="unknown ASR backend"):
        WER(backend="kaldi")
    with pytest.raises(MissingWeightsError, match="CTranslate2"):
        WER(model=str(tmp_path / "no-such-dir"))
    with pytest.raises(ConfigError, match="normalizer"):
        WER(normalizer="klingon")


def test_openai_whisper_checkpoint_loads_and_transcribes(tmp_path: Path) -> None:
    """A tiny randomly initialised Whisper saved exactly as openai-whisper saves its checkpoints."""
    import torch

    pytest.importorskip("whisper", reason="openai-whisper is the optional backend for .pt checkpoints")
    from whisper.model import ModelDimensions, Whisper

    torch.manual_seed(0)
    dims = ModelDimensions(n_mels=80, n_audio_ctx=1500, n_audio_state=16, n_audio_head=2, n_audio_layer=1,
                           n_vocab=51864, n_text_ctx=448, n_text_state=16, n_text_head=2, n_text_layer=1)
    checkpoint = tmp_path / "random-tiny.pt"
    torch.save({"dims": asdict(dims), "model_state_dict": Whisper(dims).state_dict()}, checkpoint)
    clean = speech()
    item = make_item(tmp_path, 16000, input=clean, transcript=SENTENCE)
    metric = WER(backend="openai-whisper", model=str(checkpoint), beam_size=1)
    assert "openai-whisper/random-tiny.pt@sha256:" in metric.version
    first = score(metric, item, clean, 16000)
    assert first == score(metric, item, clean, 16000)  # deterministic decoding
    assert first["WER_words"] == 8.0 and first["WER"] > 0.5  # random weights cannot transcribe
    torch.save({"weights": 1}, checkpoint)
    with pytest.raises(ConfigError, match="not an openai-whisper checkpoint"):
        WER(backend="openai-whisper", model=str(checkpoint)).load()


@pytest.mark.parametrize("model", sorted(SHIPPED_MODELS))
def test_librispeech_mini_corpus_wer(shared_data: Path, model: str) -> None:
    """Every shipped model reads real read speech well (Whisper's paper: 5-6 % on all of test-clean)."""
    metric = WER(model=model)
    root = shared_data / "librispeech-test-clean-mini" / "LibriSpeech" / "test-clean"
    edits = words = 0.0
    for trans in sorted(root.glob("*/*/*.trans.txt")):
        for line in trans.read_text().splitlines():
            if not line.strip():
                continue
            utt, text = line.split(" ", 1)
            path = trans.parent / f"{utt}.flac"
            audio, rate = load_audio(path)
            item = make_item(Path("/"), rate, input=path, transcript=text)
            got = score(metric, item, audio, rate)
            edits, words = edits + got["WER_edits"], words + got["WER_words"]
    assert words == 58
    assert edits / words < 0.05
