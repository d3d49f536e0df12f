"""DNSMOS's P.835 model cut in three, so that its overlapping windows share their heaviest work.

The DNS Challenge script scores 9.01 s windows every 1 s: a clip's frames are seen by up to nine
windows. 96 % of the model's compute is the 3x3 "same" convolutions that run on the
full-resolution log-power spectrogram before the first pooling layer (the *trunk*). Windows start
on whole frames (1 s = 100 hops of 160 samples), so a frame in the trunk's output is the same in
every window that holds it, except within ``margin`` frames of a window's edge, where that window's
zero padding reaches. Hence:

1. the front end (framing, STFT, log power) on each window, as the model does it;
2. the trunk once over the spectrogram of a run of consecutive windows;
3. each window's first and last ``margin`` frames again, from a short chunk of its own spectrogram
   (where the padding is the window's own, as in the whole model);
4. the head (pooling, the last convolutions, global max, dense layers) on each window.

The scores are bit-identical to running the whole model on every window
(tests/test_metrics_dnsmos.py), and a long clip costs about a third. ``margin`` is read from the
trunk's convolutions, so a model of another depth is cut correctly or refused. The parts are cut
once per machine (``_parts``).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from bench.metrics._common import model_sha256, onnx_session
from bench.paths import sebench_home

SPECTRUM = "mos_estimator_logpow/truediv:0"
"""The front end's output: log power, (windows, 900 frames, 161 bins)."""
TRUNK = "mos_estimator_logpow/conv2d_3/Relu:0"
"""The last full-resolution activation, (windows, channels, frames, bins), before the first pooling."""
PART_NAMES = ("front", "trunk", "head")
CUT_VERSION = 1
"""Part of the cut parts' folder name: a change to how the model is cut must not reuse old parts."""
FRAME_HOP = 160
"""Samples per spectrogram frame: the model frames its input at this hop."""
RUN_SAMPLES = 16 * 16000
"""Window starts within this many samples share one trunk call. It bounds memory on long clips: a
process's peak RSS grew by 0.54 GB scoring a 40 s clip this way, against 0.20 GB running the whole
model window by window (ONNX Runtime's activations grow with the span). It keeps most of the
sharing: 16 windows 1 s apart cost 2,400 frames of trunk instead of 14,400 (runs of 8 s cost 19 %
more time on the throughput workload, of 32 s 3 % less)."""


class SplitP835:
    """The P.835 ONNX model as front end, trunk and head sessions (see the module docstring)."""

    def __init__(self, path: Path) -> None:
        parts, layout = _parts(path)
        self.window, self.margin, self._input = layout["window"], layout["margin"], layout["input"]
        self._front, self._trunk, self._head = (onnx_session(part) for part in parts)

    def scores(self, audio: np.ndarray, starts: Sequence[int]) -> np.ndarray:
        """Raw (SIG, BAK, OVRL) of the windows of ``self.window`` samples at ``starts`` (ascending,
        whole frames apart), one row per window."""
        if any(start % FRAME_HOP for start in starts):
            raise ValueError(f"window starts must be multiples of {FRAME_HOP} samples")
        rows = [self._run_scores(audio, run) for run in _runs(list(starts), RUN_SAMPLES)]
        return np.concatenate(rows) if rows else np.zeros((0, 3), np.float32)

    def _run_scores(self, audio: np.ndarray, starts: list[int]) -> np.ndarray:
        tile = (self.window // FRAME_HOP - 1) * FRAME_HOP  # samples whose frames one front-end call gives
        fronts: list[int] = []  # the windows themselves, and fillers where two are more than a tile apart
        for start in starts:
            while fronts and start - fronts[-1] > tile:
                fronts.append(fronts[-1] + tile)
            fronts.append(start)
        specs = self._front.run(None, {self._input: np.stack([audio[s:s + self.window] for s in fronts])})[0]
        frames = specs.shape[1]
        offsets = {start: (start - starts[0]) // FRAME_HOP for start in fronts}
        spectrum = np.empty((offsets[fronts[-1]] + frames, specs.shape[2]), np.float32)
        for start, spec in zip(fronts, specs):
            spectrum[offsets[start]:offsets[start] + frames] = spec
        trunk = self._trunk.run(None, {SPECTRUM: spectrum[np.newaxis]})[0][0]
        if self.margin:  # each window's edges, from its own spectrogram: the far side's padding
            windows = specs[[fronts.index(start) for start in starts]]  # reaches ``margin`` frames in
            left = self._trunk.run(None, {SPECTRUM: windows[:, :3 * self.margin]})[0][:, :, :self.margin]
            right = self._trunk.run(None, {SPECTRUM: windows[:, -3 * self.margin:]})[0][:, :, -self.margin:]
        rows = []
        for index, start in enumerate(starts):  # one window at a time: 16 at once held 300 MB
            features = trunk[np.newaxis, :, offsets[start]:offsets[start] + frames].copy()
            if self.margin:
                features[0, :, :self.margin], features[0, :, -self.margin:] = left[index], right[index]
            rows.append(self._head.run(None, {TRUNK: features})[0])
        return np.concatenate(rows)


def _parts(path: Path) -> tuple[list[Path] | list[bytes], dict[str, Any]]:
    """The three parts and their layout, cut once per machine and model version and kept under
    ``sebench_home()/models``: importing ``onnx`` to cut them costs a worker about a second
    (mostly ``ml_dtypes``), more than scoring a short clip. Without a writable home they are cut
    in memory each time."""
    folder = sebench_home() / "models" / f"{path.parent.name}-{path.stem}-split{CUT_VERSION}-{model_sha256(path)[:16]}"
    files = [folder / f"{name}.onnx" for name in PART_NAMES]
    try:
        return files, json.loads((folder / "layout.json").read_text())
    except (OSError, ValueError):
        pass
    parts, layout = _cut(path)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for file, part in zip(files, parts):
            _write_atomically(file, part)
        _write_atomically(folder / "layout.json", json.dumps(layout).encode())  # last: marks the parts complete
    except OSError:
        return parts, layout
    return files, layout


def _cut(path: Path) -> tuple[list[bytes], dict[str, Any]]:
    import onnx
    from onnx.utils import Extractor

    model = onnx.shape_inference.infer_shapes(onnx.load(str(path)))
    input_, output = model.graph.input[0].name, model.graph.output[0].name
    window = model.graph.input[0].type.tensor_type.shape.dim[1].dim_value
    parts = [Extractor(model).extract_model(inputs, outputs)
             for inputs, outputs in (([input_], [SPECTRUM]), ([SPECTRUM], [TRUNK]), ([TRUNK], [output]))]
    margin = _time_margin(parts[1])
    for part in parts[1:]:
        _free_time_axis(part)
    return [part.SerializeToString() for part in parts], {"window": window, "margin": margin, "input": input_}


def _write_atomically(path: Path, data: bytes) -> None:
    """Concurrent workers may cut the same model: each writes a temporary file and renames it."""
    temporary = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    temporary.write_bytes(data)
    os.replace(temporary, path)


def _runs(starts: list[int], longest: int) -> list[list[int]]:
    """Starts cut into runs spanning at most ``longest`` samples each."""
    runs: list[list[int]] = []
    for start in starts:
        if runs and start - runs[-1][0] < longest:
            runs[-1].append(start)
        else:
            runs.append([start])
    return runs


def _time_margin(trunk: Any) -> int:
    """Frames a window's edge padding reaches into the trunk's output: the sum of the time-axis
    half-widths of its convolutions. Anything else that mixes frames would break the sharing."""
    margin = 0
    for node in trunk.graph.node:
        attributes = {a.name: list(a.ints) for a in node.attribute}
        if node.op_type == "Conv":
            kernel, dilation = attributes["kernel_shape"], attributes.get("dilations") or [1] * 2
            if len(kernel) != 2 or attributes.get("strides", [1, 1]) != [1, 1] or kernel[0] % 2 == 0:
                raise ValueError(f"cannot share windows through convolution {node.name} ({attributes})")
            margin += dilation[0] * (kernel[0] - 1) // 2
        elif node.op_type not in ("Relu", "Transpose", "Unsqueeze", "Add", "Mul"):
            raise ValueError(f"cannot share windows through {node.op_type} node {node.name}")
    return margin


def _free_time_axis(part: Any) -> None:
    """Let the frame axis of a cut-out part's input and output take any length (the trunk runs on
    spans longer than a window, and on short edge chunks)."""
    del part.graph.value_info[:]
    for value in [*part.graph.input, *part.graph.output]:
        for axis, dim in enumerate(value.type.tensor_type.shape.dim):
            if axis > 0:
                dim.ClearField("dim_value")
                dim.dim_param = f"{value.name}_axis{axis}"
