"""WER/CER: corpus counts, the bundled faster-whisper model on real speech, openai-whisper checkpoints."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import jiwer
import numpy as np
import pytest

from _metrics_support import SENTENCE, make_item, score, speech
from bench.audio import load_audio
from bench.errors import ConfigError, MissingWeightsError
from bench.metric import ScoringContext
from bench.metrics.wer import WER, error_counts


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
    assert "backend=faster-whisper" in version and "model=tiny.en" in version and "normalizer=english" in version
    assert "faster-whisper/model/model.bin@sha256:" in version
    assert "normalizer/whisper/english.json@sha256:" in version
    basic = WER(normalizer="basic")
    assert "normalizer=basic" in basic.version and "english.json" not in basic.version
    assert basic.normalize("Mr. Smith, twenty-one!") == "mr smith twenty one"
    assert metric.normalize("Mr. Smith, twenty-one!") == "mister smith 21"


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


def test_librispeech_mini_corpus_wer(shared_data: Path, metric: WER) -> None:
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
    assert words > 50
    assert edits / words < 0.15  # tiny.en reports ~5.6% on all of test-clean
