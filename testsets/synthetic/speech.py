"""Offline text-to-speech from eSpeak NG, driven through ctypes on the `espeakng-loader` wheel.

The wheel ships ``libespeak-ng`` and its voice data, so speech is available wherever the package
installs, with no system binary and no network.

Determinism: eSpeak NG keeps synthesis state in C globals that no API call resets (the pitch
flutter phase, resonator and glottal phase state), so an utterance's samples depend on what was
spoken before it in the process. We therefore load a fresh instance of the library for every
utterance and unload it afterwards (``dlclose``), from a private copy of the ``.so`` so that no other
user of the wheel in the same process can keep it mapped. Breath/roughness noise comes from eSpeak's
own generator, which we seed (``espeak_ng_SetRandSeed``). A fresh load plus synthesis costs a few
milliseconds, far less than the synthesis itself.
"""

from __future__ import annotations

import _ctypes
import atexit
import ctypes
import shutil
import tempfile
import threading
from functools import lru_cache
from pathlib import Path

import numpy as np

from bench.audio import resample
from bench.errors import MissingDependencyError

VOICES: tuple[str, ...] = (
    "en-us+m1",
    "en-us+f2",
    "en+m3",
    "en+f3",
    "en-us+m7",
    "en-us+f4",
    "en-gb-scotland+m2",
    "en-us",
)
"""Distinct talkers (eSpeak NG names; ``en`` is British English): American, British and Scottish
accents, five male and three female pitch/formant variants, no two sharing a variant. Chosen for
intelligibility: Whisper tiny.en reads clean sentences from each at about 25-50 % WER (eSpeak is robotic;
tiny.en is small), while ``en-gb-x-rp+f1`` made it hallucinate (WER over 300 %) and ``+f1`` scored
62 %. Klatt variants are left out: their noise source calls libc ``rand()``, which no eSpeak seed
controls."""

NATIVE_RATE = 22050
"""eSpeak NG's output rate for the bundled voices; checked against the library at load."""

SPEAKING_RATE_WPM = 160

_SAMPLE_SEED = 20240521
"""Seed for eSpeak's internal noise generator (breath, roughness)."""

# Constants from espeak-ng's speak_lib.h.
_AUDIO_OUTPUT_SYNCHRONOUS = 2
_INITIALIZE_DONT_EXIT = 0x8000
_POS_CHARACTER = 1
_CHARS_UTF8 = 1
_ENDPAUSE = 0x1000
_PARAM_RATE = 1

_SYNTH_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p)

_lock = threading.Lock()


@lru_cache(maxsize=1)
def _wheel_paths() -> tuple[Path, str]:
    """(private copy of the library, voice data folder), made once per process."""
    try:
        import espeakng_loader
    except ImportError as exc:  # pragma: no cover - a core dependency
        raise MissingDependencyError("espeakng-loader", "all", "needed to synthesise the synthetic suite") from exc
    folder = Path(tempfile.mkdtemp(prefix="sebench-espeak-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    private = folder / "libespeak-ng-sebench.so"
    shutil.copyfile(espeakng_loader.get_library_path(), private)
    return private, espeakng_loader.get_data_path()


def _unload(lib: ctypes.CDLL) -> None:
    close = getattr(_ctypes, "dlclose", None) or getattr(_ctypes, "FreeLibrary")
    close(lib._handle)


def _synthesise_fresh(text: str, voice: str) -> np.ndarray:
    """One utterance from a freshly loaded library, as int16 samples at NATIVE_RATE."""
    library, data_path = _wheel_paths()
    lib = ctypes.CDLL(str(library))
    chunks: list[np.ndarray] = []

    def collect(wav: ctypes.POINTER(ctypes.c_short), count: int, _events: int) -> int:
        if wav and count > 0:
            chunks.append(np.ctypeslib.as_array(wav, shape=(count,)).copy())
        return 0

    callback = _SYNTH_CALLBACK(collect)
    try:
        lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
        rate = lib.espeak_Initialize(_AUDIO_OUTPUT_SYNCHRONOUS, 0, data_path.encode(), _INITIALIZE_DONT_EXIT)
        if rate != NATIVE_RATE:
            raise RuntimeError(f"libespeak-ng at {library} initialised at {rate} Hz with data {data_path}, expected {NATIVE_RATE}")
        lib.espeak_SetSynthCallback.argtypes = [_SYNTH_CALLBACK]
        lib.espeak_SetSynthCallback(callback)
        lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        if lib.espeak_SetVoiceByName(voice.encode()) != 0:
            raise ValueError(f"eSpeak NG has no voice {voice!r}; the suite's voices are {VOICES}")
        lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
        lib.espeak_SetParameter(_PARAM_RATE, SPEAKING_RATE_WPM, 0)
        lib.espeak_ng_SetRandSeed.argtypes = [ctypes.c_long]
        lib.espeak_ng_SetRandSeed(_SAMPLE_SEED)
        lib.espeak_Synth.argtypes = [
            ctypes.c_void_p, ctypes.c_size_t, ctypes.c_uint, ctypes.c_int, ctypes.c_uint,
            ctypes.c_uint, ctypes.c_void_p, ctypes.c_void_p,
        ]
        data = text.encode("utf-8") + b"\0"
        status = lib.espeak_Synth(data, len(data), 0, _POS_CHARACTER, 0, _CHARS_UTF8 | _ENDPAUSE, None, None)
        if status != 0:
            raise RuntimeError(f"eSpeak NG failed (status {status}) on {text!r} with voice {voice!r}")
        lib.espeak_Terminate()
    finally:
        _unload(lib)
    if not chunks:
        raise RuntimeError(f"eSpeak NG produced no audio for {text!r} with voice {voice!r}")
    return np.concatenate(chunks)


def speak(text: str, voice: str, sample_rate: int = 16000) -> np.ndarray:
    """Synthesise ``text`` with ``voice``: float32 mono at ``sample_rate``, bit-identical per call.

    Leading and trailing silence is kept as eSpeak renders it (a few tens of ms), so clips start
    and end naturally; callers that mix signals place them explicitly.
    """
    if not text.strip():
        raise ValueError("cannot synthesise empty text")
    with _lock:
        samples = _synthesise_fresh(text, voice)
    return resample(samples.astype(np.float32) / 32768.0, NATIVE_RATE, sample_rate)
