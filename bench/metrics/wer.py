"""Word and character error rate of an ASR transcript of the output against the item's transcript.

Corpus-level by construction: besides per-item ``WER``/``CER`` the metric emits hidden edit and
length counts, and the table's corpus value is ``Column.ratio_of`` them (total edits / total
reference words), never a mean of per-item rates. Edits are ``jiwer`` alignments
(substitutions + deletions + insertions) of the normalised texts.

Text is normalised with Whisper's ``EnglishTextNormalizer`` rules by default (``normalizer=basic``
for ``BasicTextNormalizer``, ``none`` to compare raw strings), taken from the small
``whisper-normalizer`` package (the same code and spelling table as openai-whisper's, without
torch; parity is tested on known strings). The ASR backend, model, decoding and normaliser are all
part of the config, and the model files' and spelling table's sha256 part of ``version``, so each
stored result records which ASR model and normaliser produced it. An item whose transcript
normalises to nothing leaves the columns absent (a rate over zero words is undefined).
"""

from __future__ import annotations

from typing import Any, Callable

from bench.errors import ConfigError, MissingDependencyError
from bench.metric import Column, Metric, ScoringContext, register_metric
from bench.metrics._asr import SAMPLE_RATE, ASRBackend, default_model, make_backend
from bench.metrics._common import is_silent, model_sha256, package_dir

_DEFAULTS = {
    "backend": "faster-whisper",
    "compute_type": "int8",
    "beam_size": 5,
    "normalizer": "english",
}
_NORMALIZERS = ("english", "basic", "none")


def make_normalizer(name: str) -> Callable[[str], str]:
    if name == "none":
        return lambda text: text
    if name not in _NORMALIZERS:
        raise ConfigError(f"unknown text normalizer {name!r}; known: {', '.join(_NORMALIZERS)}")
    try:
        if name == "english":
            from whisper_normalizer.english import EnglishTextNormalizer

            return EnglishTextNormalizer()
        from whisper_normalizer.basic import BasicTextNormalizer

        return BasicTextNormalizer()
    except ImportError as exc:
        raise MissingDependencyError("whisper-normalizer", "asr", "it provides Whisper's text normalisers") from exc


def error_counts(reference: str, hypothesis: str) -> dict[str, int]:
    """Word and character edit counts and reference lengths of two normalised texts."""
    import jiwer

    reference_words = reference.split()
    words = jiwer.process_words(reference, hypothesis)
    chars = jiwer.process_characters(" ".join(reference_words), " ".join(hypothesis.split()))
    return {
        "WER_edits": words.substitutions + words.deletions + words.insertions,
        "WER_words": len(reference_words),
        "CER_edits": chars.substitutions + chars.deletions + chars.insertions,
        "CER_chars": len(" ".join(reference_words)),
    }


@register_metric("wer")
class WER(Metric):
    columns = (
        Column("WER", higher_is_better=False, lower=0.0, ratio_of=("WER_edits", "WER_words")),
        Column("CER", higher_is_better=False, lower=0.0, ratio_of=("CER_edits", "CER_chars")),
        Column("WER_edits", higher_is_better=False, lower=0.0, hidden=True),
        Column("WER_words", higher_is_better=True, lower=0.0, hidden=True),
        Column("CER_edits", higher_is_better=False, lower=0.0, hidden=True),
        Column("CER_chars", higher_is_better=True, lower=0.0, hidden=True),
    )
    needs = frozenset({"transcript"})

    implementation_version = "2"
    """2: decoding without timestamp tokens (fewer hallucinated loops), whisper-normalizer."""

    options = {**_DEFAULTS, "model": None, "download_root": None}
    """``model`` defaults per backend (``_asr.default_model``), so it has no fixed default here."""

    def __init__(self, **config: Any) -> None:
        super().__init__(**config)
        self.config.setdefault("model", default_model(str(self.config["backend"])))
        if self.config["normalizer"] not in _NORMALIZERS:
            raise ConfigError(f"unknown text normalizer {self.config['normalizer']!r}; known: {', '.join(_NORMALIZERS)}")
        self.asr: ASRBackend = make_backend(
            str(self.config["backend"]),
            str(self.config["model"]),
            str(self.config["compute_type"]),
            int(self.config["beam_size"]),
            self.config.get("download_root"),
        )
        self._normalize: Callable[[str], str] | None = None

    def model_files(self) -> dict[str, str]:
        files = dict(self.asr.model_files())
        if self.config["normalizer"] == "english":
            spelling = package_dir("whisper_normalizer", "asr", "whisper-normalizer") / "normalizers" / "english.json"
            files["normalizer/whisper-normalizer/english.json"] = model_sha256(spelling)
        return files

    def load(self) -> None:
        self.asr.load()
        if self._normalize is None:
            self._normalize = make_normalizer(str(self.config["normalizer"]))

    def normalize(self, text: str) -> str:
        self.load()
        assert self._normalize is not None
        return " ".join(self._normalize(text).split())

    def score(self, ctx: ScoringContext) -> dict[str, float]:
        transcript = ctx.item.transcript
        assert transcript is not None
        reference = self.normalize(transcript)
        if not reference:
            return {}
        output = ctx.output(SAMPLE_RATE)
        hypothesis = "" if is_silent(output) else self.normalize(self.asr.transcribe(output))
        counts = error_counts(reference, hypothesis)
        scores: dict[str, float] = {key: float(value) for key, value in counts.items()}
        scores["WER"] = counts["WER_edits"] / counts["WER_words"]
        scores["CER"] = counts["CER_edits"] / counts["CER_chars"]
        return scores
