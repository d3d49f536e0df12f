"""The official inference flows of LLaSE and LLaSE-G1, on already-loaded networks.

Everything here follows the official ``inference.py`` scripts (Kevin-naticl/LLaSE @6b9221a,
Kevin-naticl/LLaSE-G1 @cae78e7; line numbers below refer to them): peak normalisation, WavLM
layer-6 features, argmax tokens, Xcodec2 decoding, no de-normalisation.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from bench.item import AEC, DENOISE, PLC, TSE
from systems.llase.lm import LLaSEG1LM, LLaSELM
from systems.llase.wavlm import WavLMFeatures, num_frames
from systems.llase.xcodec2 import XCodec2Decoder

HOP = 320
"""Samples per WavLM frame and per codec token at 16 kHz."""

# LLaSE config/test.yml: if_chunk True, chunk_seconds 10, overlap_seconds 2.
CHUNK_SAMPLES = 160000
OVERLAP_SAMPLES = 32000
MIN_SAMPLES = 400
CHUNK_FRAMES = 500
OVERLAP_FRAMES = 100
SAMPLES_PER_50_FRAMES = 16000


def peak_normalise(wav: np.ndarray, what: str) -> np.ndarray:
    """``wav / max|wav|`` as the official data reader does; an all-zero input has no peak to use."""
    peak = float(np.max(np.abs(wav))) if wav.size else 0.0
    if peak == 0.0:
        raise ValueError(f"{what} is silent (all zeros): LLaSE peak-normalises its input and cannot process it")
    return (wav / peak).astype(np.float32)


@dataclass
class Networks:
    """The two networks both models share (WavLM in, codec out), on one device."""

    wavlm: WavLMFeatures
    codec: XCodec2Decoder
    device: torch.device

    def features(self, wav: np.ndarray) -> torch.Tensor:
        """[N] -> [1, F, hidden] layer-6 WavLM features."""
        if num_frames(len(wav)) == 0:
            raise ValueError(f"input of {len(wav)} samples is shorter than WavLM's 400-sample receptive field")
        return self.wavlm(torch.from_numpy(np.ascontiguousarray(wav))[None].to(self.device))

    @torch.inference_mode()
    def decode(self, logits: torch.Tensor) -> torch.Tensor:
        """[1, codes, T] logits -> argmax tokens -> [T * 320] waveform."""
        return self.codec(logits.argmax(dim=1))[0]


def _windows(total: int, chunk: int, overlap: int, min_left: int) -> list[tuple[int, int, int, int]]:
    """(start, stop, left_overlap, right_overlap) of each window; right_overlap <= 0 on the last one."""
    out = []
    start = 0
    while total - start >= min_left:
        lo, hi = max(0, start - overlap), min(total, start + chunk + overlap)
        out.append((lo, hi, start - lo, hi - (start + chunk)))
        start += chunk
    return out


@torch.inference_mode()
def llase_features(nets: Networks, wav: np.ndarray) -> torch.Tensor:
    """Chunked feature pass (inference.py:255-292): 10 s windows with 2 s context each side.

    Each chunk's features get one zero frame appended, then the context frames are cut with the
    official slicing ``[left//320 : -right//320]`` (``-right//320`` is Python floor division of the
    negated count, kept as is).
    """
    pieces = []
    for lo, hi, left, right in _windows(len(wav), CHUNK_SAMPLES, OVERLAP_SAMPLES, MIN_SAMPLES):
        feats = nets.features(wav[lo:hi])
        feats = torch.cat([feats, feats.new_zeros(1, 1, feats.shape[-1])], dim=1)
        feats = feats[:, left // HOP : -right // HOP] if right > 0 else feats[:, left // HOP :]
        pieces.append(feats)
    return torch.cat(pieces, dim=1)


@torch.inference_mode()
def llase_enhance(nets: Networks, lm: LLaSELM, wav: np.ndarray) -> np.ndarray:
    """Generation pass (inference.py:312-345): 500-frame windows with 100 frames of context each side.

    Each window is decoded to audio and its context is cut in whole seconds, with the official
    slicing ``[left//50*16000 : -right//50*16000]`` (Python parses the stop as
    ``(-right)//50*16000``): 32000 samples for the full 100 frames, but a partial right context
    of 1-49 frames cuts a whole 16000 samples, dropping real audio. Kept as the official code does
    it; the adapter pads the end back to the input length.
    """
    feats = llase_features(nets, peak_normalise(wav, "LLaSE input"))
    pieces = []
    for lo, hi, left, right in _windows(feats.shape[1], CHUNK_FRAMES, OVERLAP_FRAMES, 1):
        audio = nets.decode(lm(feats[:, lo:hi]))
        stop = (-right) // 50 * SAMPLES_PER_50_FRAMES if right > 0 else None
        pieces.append(audio[left // 50 * SAMPLES_PER_50_FRAMES : stop])
    return torch.cat(pieces).float().cpu().numpy()


G1_TASKS = (DENOISE, PLC, TSE, AEC)


@torch.inference_mode()
def g1_enhance(nets: Networks, lm: LLaSEG1LM, task: str, wav: np.ndarray, prompt: np.ndarray | None) -> np.ndarray:
    """One pass of LLaSE-G1 (no chunking, no appended zero frame), the head chosen per task.

    denoise/PLC: ``nnet(feat)`` head x (``est[1]``); AEC: ``nnet(mic, far_end)`` head x;
    TSE: ``nnet(mix, enrollment)`` head y (``est[0]``). Every waveform is peak-normalised on its own.
    """
    feats = nets.features(peak_normalise(wav, f"LLaSE-G1 {task} input"))
    if task in (DENOISE, PLC):
        logits = lm(feats)[1]
    elif task in (AEC, TSE):
        if prompt is None:
            needed = "far-end signal" if task == AEC else "enrollment utterance"
            raise ValueError(f"LLaSE-G1 {task} needs the {needed}")
        prompt_feats = nets.features(peak_normalise(prompt, f"LLaSE-G1 {task} prompt"))
        est = lm(feats, prompt_feats)
        logits = est[1] if task == AEC else est[0]
    else:
        raise ValueError(f"LLaSE-G1 has no {task!r} mode; it handles {', '.join(G1_TASKS)}")
    return nets.decode(logits).float().cpu().numpy()
