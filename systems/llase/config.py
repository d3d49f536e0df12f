"""Which three weight files an LLaSE run uses, and the network sizes they are built at.

The official networks are fixed-size, but the sizes live in the config (with the official values
as defaults) so the tests can push tiny random checkpoints through exactly the same loader a user's
real files go through. A config is a mapping (from the CLI spec string or a YAML file):

    lm: /weights/best.pt.tar            # LM checkpoint (LLaSE or LLaSE-G1)
    wavlm: /weights/WavLM-Large.pt
    codec: /weights/epoch=4-step=1400000.ckpt
    device: cpu                         # optional; cuda when available otherwise
    size:                               # optional; official sizes when absent
      lm: {d_model: 1024, nhead: 16, num_layers: 12}
      wavlm: {hidden_size: 1024, num_layers: 24, ...}
      codec: {hidden: 1024, depth: 12, ...}

``config: path/to/file.yaml`` reads the same keys from a YAML file; relative paths in it are
resolved against the file's folder. Keys given directly override the file's.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Mapping

import yaml

from bench.errors import ConfigError, MissingWeightsError
from bench.paths import sebench_home

LLASE = "llase"
LLASE_G1 = "llase-g1"

SAMPLE_RATE = 16000
"""Both models run on 16 kHz audio (WavLM's and Xcodec2's rate)."""


@dataclass(frozen=True)
class LMSize:
    """LM backbone size. Official LLaSE: 1024/16/12; LLaSE-G1: 1024/16/16 (its LLaMA is 2*d_model wide)."""

    d_model: int = 1024
    nhead: int = 16
    num_layers: int = 12
    llama_vocab: int = 32000
    """LlamaForCausalLM's own (unused) token vocabulary: its embed_tokens/lm_head are in the checkpoint."""


@dataclass(frozen=True)
class WavLMSize:
    """WavLM-Large (torchaudio ``wavlm_large()`` / HF microsoft/wavlm-large values)."""

    hidden_size: int = 1024
    num_layers: int = 24
    num_heads: int = 16
    ffn_dim: int = 4096
    conv_dim: int = 512
    conv_pos: int = 128
    conv_pos_groups: int = 16
    num_buckets: int = 320
    max_distance: int = 800
    output_layer: int = 6
    """LLaSE reads ``extract_features(wav, output_layer=6)``: the output of transformer layer index 5."""


@dataclass(frozen=True)
class CodecSize:
    """Xcodec2 ``CodecDecoderVocos`` defaults plus the 2048->1024 ``fc_post_a``."""

    vq_dim: int = 2048
    hidden: int = 1024
    depth: int = 12
    heads: int = 16
    levels: tuple[int, ...] = (4,) * 8
    n_fft: int = 1280
    hop: int = 320

    @property
    def num_codes(self) -> int:
        n = 1
        for level in self.levels:
            n *= level
        return n


@dataclass(frozen=True)
class Sizes:
    lm: LMSize = field(default_factory=LMSize)
    wavlm: WavLMSize = field(default_factory=WavLMSize)
    codec: CodecSize = field(default_factory=CodecSize)


def official_sizes(model: str) -> Sizes:
    """The sizes of the published checkpoints (LLaSE config/test.yml vs LLaSE-G1 config/test.yml)."""
    return Sizes(lm=LMSize(num_layers=16 if model == LLASE_G1 else 12))


@dataclass(frozen=True)
class WeightFile:
    """One required file: where it is expected and where the official copy is published."""

    role: str
    path: Path
    published: str


@dataclass(frozen=True)
class LLaSEConfig:
    model: str
    lm: WeightFile
    wavlm: WeightFile
    codec: WeightFile
    sizes: Sizes
    device: str | None = None

    def files(self) -> tuple[WeightFile, WeightFile, WeightFile]:
        return (self.lm, self.wavlm, self.codec)

    def check_files(self) -> None:
        """One error naming every missing file, its expected place and its official source."""
        missing = [f for f in self.files() if not f.path.is_file()]
        if missing:
            lines = [f"{self.model}: {len(missing)} weights file(s) missing (nothing is downloaded at run time):"]
            for f in missing:
                lines.append(f"  - {f.role}: looked for {f.path}; official file: {f.published}")
            lines.append(f"  Put the files there, or point to them with '{self.model}:lm=...,wavlm=...,codec=...' or a YAML 'config'.")
            raise MissingWeightsError("\n".join(lines))

    def identity(self) -> dict[str, Any]:
        """The card's config (part of the cache identity): sizes only, since the files enter by hash
        and moving them must not invalidate cached outputs."""
        return {"sizes": asdict(self.sizes)}

    def locations(self) -> dict[str, str]:
        return {f.role: str(f.path) for f in self.files()}


PUBLISHED = {
    (LLASE, "lm"): "https://huggingface.co/BeauKang01/LLaSE (file best.pt.tar; LLaSE ckpt/download.sh)",
    (LLASE_G1, "lm"): "https://huggingface.co/ASLP-lab/LLaSE-G1 (file ckpt/model.pt.tar)",
    "wavlm": (
        "WavLM-Large.pt in the unilm format (a dict with 'cfg' and 'model'; linked from "
        "https://github.com/microsoft/unilm/tree/master/wavlm and the LLaSE-G1 README); the HF "
        "microsoft/wavlm-large pytorch_model.bin is accepted too"
    ),
    "codec": "https://huggingface.co/HKUSTAudio/xcodec2 (file ckpt/epoch=4-step=1400000.ckpt)",
}

DEFAULT_NAMES = {
    (LLASE, "lm"): Path(LLASE) / "best.pt.tar",
    (LLASE_G1, "lm"): Path(LLASE_G1) / "model.pt.tar",
    "wavlm": Path("wavlm") / "WavLM-Large.pt",
    "codec": Path("xcodec2") / "epoch=4-step=1400000.ckpt",
}


def weights_dir() -> Path:
    """Default home of the official files: $SEBENCH_HOME/weights/{llase,llase-g1,wavlm,xcodec2}/."""
    return sebench_home() / "weights"


_TOP_KEYS = {"config", "lm", "wavlm", "codec", "device", "size"}


def _read_yaml(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise ConfigError(f"LLaSE config file {path} does not exist")
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"LLaSE config file {path} is not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"LLaSE config file {path} must hold a mapping, got {type(data).__name__}")
    base = path.parent
    for key in ("lm", "wavlm", "codec"):
        if key in data and not Path(str(data[key])).expanduser().is_absolute():
            data[key] = str(base / str(data[key]))
    return data


def _size_section(cls: type, given: Any, default: Any, where: str) -> Any:
    if given is None:
        return default
    if not isinstance(given, Mapping):
        raise ConfigError(f"LLaSE config: size.{where} must be a mapping, got {given!r}")
    known = {f.name for f in fields(cls)}
    unknown = set(given) - known
    if unknown:
        raise ConfigError(f"LLaSE config: unknown size.{where} keys {sorted(unknown)}; known: {sorted(known)}")
    values = dict(given)
    if "levels" in values:
        values["levels"] = tuple(int(v) for v in values["levels"])
    return replace(default, **values)


def parse_config(model: str, raw: Mapping[str, Any]) -> LLaSEConfig:
    """Build the config from the adapter's keyword config (and the YAML file it may name)."""
    raw = dict(raw)
    raw.pop("label", None)
    data: dict[str, Any] = {}
    if "config" in raw:
        data.update(_read_yaml(Path(str(raw["config"])).expanduser()))
    data.update({k: v for k, v in raw.items() if k != "config"})
    unknown = set(data) - _TOP_KEYS
    if unknown:
        raise ConfigError(f"{model}: unknown config keys {sorted(unknown)}; known: {sorted(_TOP_KEYS)}")

    official = official_sizes(model)
    size = data.get("size") or {}
    if not isinstance(size, Mapping):
        raise ConfigError(f"{model}: 'size' must be a mapping with lm/wavlm/codec sections")
    bad = set(size) - {"lm", "wavlm", "codec"}
    if bad:
        raise ConfigError(f"{model}: unknown size sections {sorted(bad)}; known: ['codec', 'lm', 'wavlm']")
    sizes = Sizes(
        lm=_size_section(LMSize, size.get("lm"), official.lm, "lm"),
        wavlm=_size_section(WavLMSize, size.get("wavlm"), official.wavlm, "wavlm"),
        codec=_size_section(CodecSize, size.get("codec"), official.codec, "codec"),
    )

    def weight(role: str) -> WeightFile:
        key = (model, role) if role == "lm" else role
        given = data.get(role)
        path = Path(str(given)).expanduser() if given else weights_dir() / DEFAULT_NAMES[key]
        return WeightFile(role=role, path=path, published=PUBLISHED[key])

    device = data.get("device")
    return LLaSEConfig(
        model=model,
        lm=weight("lm"),
        wavlm=weight("wavlm"),
        codec=weight("codec"),
        sizes=sizes,
        device=str(device) if device else None,
    )
