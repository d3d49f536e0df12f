"""SEFlow training recipe: ``python -m systems.seflow.training.train --out PATH [--steps N] ...``.

One step (sandwich rule with in-place distillation):

1. the full network f-12-4 is trained on the clean target, and its output becomes the teacher;
2. the smallest width (H=1) and one random middle width each run all 12 blocks once; losses are
   taken at a few exits (always exit 1 for the smallest, one random exit each), against the clean
   target and the (detached) teacher, half and half.

Early exits share the output head, so one pass at a width yields every depth at that width.
Losses are per-frame (compressed magnitude and compressed complex spectra on 32 ms frames, plus
a plain SNR): no utterance-level normalisation that a streaming model could not see. Lost packets
count by magnitude alone (``spectral_loss``). Speech is eSpeak NG and, with ``--real-data``, real
read speech (``realdata.py``). Every save also writes the training state (``save_state``), so
``--resume`` continues a run exactly. CPU by default, ``--device cuda`` with bf16 autocast.
"""

from __future__ import annotations

import argparse
import math
import shlex
import sys
import time
from contextlib import nullcontext
from functools import partial
from pathlib import Path

import numpy as np
import torch

from systems.seflow import checkpoint, frontend
from systems.seflow.training import data, realdata
from systems.seflow.training.degrade import DENOISE_ONLY, Degrader, Recipe
from systems.seflow.model import SEFlowConfig, SEFlowNet, enhance_with_priors, grown_state
from testsets.synthetic.speech import NATIVE_RATE

RATES = (8000, 16000, 24000, 48000)
RATE_WEIGHTS = (0.05, 0.55, 0.1, 0.3)
"""8 kHz is rare (narrowband telephony); 16 kHz is where PESQ-wb and DNSMOS listen and where the
real speech lives; 48 kHz is what full-band users (and the SEFlow demo) run."""


def loss_frames(x: torch.Tensor, rate: int) -> torch.Tensor:
    """The loss's spectra: 32 ms Hann frames, 50 % overlap, no centre padding."""
    n = int(0.032 * rate)
    return torch.stft(x, n, n // 2, window=torch.hann_window(n, device=x.device), return_complex=True, center=False)


def lost_samples(noisy: torch.Tensor, rate: int) -> torch.Tensor | None:
    """(batch, samples) float, 1 on hops the input lost (``frontend.lost_hops``); None when the batch
    lost nothing, so the common case pays for no extra STFTs. Computed once per batch: every exit's
    loss shares it."""
    hops = frontend.lost_hops(noisy, rate)
    if not bool(hops.any()):
        return None
    hop = frontend.frame_sizes(rate)[1]
    return hops.repeat_interleave(hop, dim=-1)[..., : noisy.shape[-1]].to(noisy.dtype)


def _compressed(Y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(magnitude with a 1e-2 floor, that magnitude ** 0.3)."""
    m = (Y.real.square() + Y.imag.square() + 1e-4).sqrt()
    return m, m.pow(0.3)


def spectral_loss(y: torch.Tensor, s: torch.Tensor, rate: int, snr_weight: float = 0.05,
                  suppression_weight: float = 1.0, lost: torch.Tensor | None = None,
                  lost_weight: float = 0.0) -> torch.Tensor:
    """Compressed (power 0.3) magnitude + complex MSE on 32 ms Hann frames (50 % overlap), minus
    ``snr_weight`` x the plain SNR in dB (capped at 40 dB).

    ``suppression_weight`` > 1 weighs magnitude errors where the output falls *below* the target
    (speech removed) above those where it exceeds it (noise left): listeners, and DNSMOS SIG, punish
    missing speech more than a little residual noise, and a symmetric loss lets a mask trade one
    for the other freely.

    ``lost`` (``lost_samples``) marks samples the input lost. Nothing in the input tells their
    phase, so they count in the magnitude term only: the phase-sensitive terms (complex MSE, SNR)
    see them zeroed in both signals. Otherwise those terms score any fill that is not in phase
    (every real one) as worse than silence, and the concealment taps never open (they sat at 0.001
    after 133 CPU-minutes of training with them). ``lost_weight`` adds the lost samples' magnitude
    error that many times more, alone: without it a repeated packet and silence cost the same.

    Both parts are streaming-safe: the spectral part is a sum over local frames, and the SNR is not
    scale-invariant (no optimal rescaling of the output, which would need the whole utterance).
    Magnitudes get a floor of 1e-2 because the power law's slope is infinite at 0: without it the
    digital silence of eSpeak pauses dominates the gradient and the model learns to mute everything;
    the SNR term (which counts suppressed speech as error) is what keeps the speech level up.
    """
    Y, S = loss_frames(y, rate), loss_frames(s, rate)
    (ym, yc), (sm, sc) = _compressed(Y), _compressed(S)
    diff = yc - sc
    magnitude = (diff.square() * torch.where(diff < 0, suppression_weight, 1.0)).mean()
    if lost is not None:
        kept = 1.0 - lost
        if lost_weight > 0:
            _, gone_y = _compressed(loss_frames(y * lost, rate))
            _, gone_s = _compressed(loss_frames(s * lost, rate))
            magnitude = magnitude + lost_weight * (gone_y - gone_s).square().mean()
        y, s = y * kept, s * kept
        Y, S = loss_frames(y, rate), loss_frames(s, rate)
        (ym, yc), (sm, sc) = _compressed(Y), _compressed(S)
    spectral = magnitude + (Y / ym * yc - S / sm * sc).abs().square().mean()
    snr = 10 * torch.log10(s.square().sum(-1) / ((s - y).square().sum(-1) + 1e-9) + 1e-9)
    return spectral - snr_weight * snr.clamp(max=40.0).mean()


def distillation_loss(student: torch.Tensor, teacher: torch.Tensor, rate: int) -> torch.Tensor:
    """The spectral part only. An SNR term against the teacher is a trap: its gradient grows as
    1 / |teacher - student|, so once an exit nears the teacher it outweighs every other loss (under
    gradient clipping) and training settles where all exits equal an untrained full network. The
    first checkpoints did exactly that: every exit learnt the same near-identity mask."""
    return spectral_loss(student, teacher, rate, snr_weight=0.0)


def make_batch(deg: Degrader, rng: np.random.Generator, batch: int, n: int, device: torch.device):
    """Tensors for one batch; absent priors are zero rows (the prior projections have no bias)."""
    exs = [deg.example(rng, n) for _ in range(batch)]
    noisy = torch.from_numpy(np.stack([e.noisy for e in exs])).to(device)
    target = torch.from_numpy(np.stack([e.target for e in exs])).to(device)
    far = enroll = None
    if any(e.far_end is not None for e in exs):
        far = torch.from_numpy(np.stack([e.far_end if e.far_end is not None else np.zeros(n, np.float32) for e in exs])).to(device)
    enroll_list = [e.enrollment for e in exs]
    return noisy, target, far, enroll_list


def _priors(noisy, far, enroll_list, rate):
    far_feats = None
    if far is not None:
        has = torch.tensor([bool(f.abs().sum() > 0) for f in far], device=noisy.device)
        far_feats = frontend.features(frontend.stft(far, rate), rate) * has[:, None, None]
    enroll_vec = None
    if any(e is not None for e in enroll_list):
        rows = []
        for e in enroll_list:
            if e is None:
                rows.append(torch.zeros(frontend.N_FEATURES, device=noisy.device))
            else:
                t = torch.from_numpy(e).to(noisy.device)[None]
                rows.append(frontend.features(frontend.stft(t, rate), rate).mean(dim=1)[0])
        enroll_vec = torch.stack(rows)
    return far_feats, enroll_vec


def build_degraders(args: argparse.Namespace, recipe: Recipe) -> tuple[dict[int, Degrader], Degrader, dict]:
    """One degrader per training rate with its pools resampled to it, the 16 kHz degrader of the
    logged validation batch (held-out speakers when real data is given), and the data record for
    the sidecar."""
    espeak = data.speech_pool(args.utterances, args.seed) if args.utterances else []
    rirs16 = data.rir_pool(args.rooms, args.seed + 2)
    real = realdata.load(args.real_data) if args.real_data else None
    record: dict = {
        "speech": f"{args.utterances} eSpeak NG utterances of random sentences from systems.seflow.training.data.WORDS, "
                  f"voices testsets.synthetic.speech.VOICES, seed {args.seed}",
        "noise": "testsets.synthetic.noise generators (white, pink, brown, hum, bursts, modulated) + babble from the training speech",
        "rooms": f"{args.rooms} pyroomacoustics shoebox RIRs, RT60 0.2-0.9 s",
        "recipe": recipe.__dict__,
        "rates": dict(zip(map(str, RATES), args.rate_weights)),
    }
    if real is not None:
        record["real"] = {**real.provenance, "espeak_share": args.espeak_share if espeak else 0.0,
                          "measured_rirs": len(real.rirs), "noise_recordings": len(real.noises)}
    wrng = np.random.default_rng(args.seed + 3)
    degraders = {}
    for rate in RATES:
        sp = [(v, data.at_rate(x, NATIVE_RATE, rate)) for v, x in espeak]
        weights = None
        rr = [data.at_rate(h, 16000, rate) for h in rirs16]
        noises = None
        if real is not None:
            sp += [(v, realdata.widen(x, rate, wrng)) for v, x in real.speech]
            rr += [data.at_rate(h, realdata.RATE, rate) for h in real.rirs]
            noises = [data.at_rate(x, realdata.RATE, rate) for x in real.noises]
            if espeak:
                share = args.espeak_share
                weights = np.array([share / len(espeak)] * len(espeak) + [(1 - share) / len(real.speech)] * len(real.speech))
        babble = data.babble_pool(24, 6.0, args.seed + 1, sp, rate)
        degraders[rate] = Degrader(sp, babble, rr, rate, recipe, noises, weights)
    d16 = degraders[16000]
    if real is not None:
        held_out = [(v, x) for v, x in real.valid]
        val_deg = Degrader(held_out, d16.babble, d16.rirs, 16000, DENOISE_ONLY, d16.noises)
    else:
        val_deg = Degrader(d16.speech, d16.babble, d16.rirs, 16000, DENOISE_ONLY)
    return degraders, val_deg, record


def state_path(weights: Path) -> Path:
    """Where the resumable training state of a checkpoint lives: beside it, ``NAME.state.pt``."""
    return weights.with_suffix(".state.pt")


def save_state(path: Path, opt: torch.optim.Optimizer, step: int, rng: np.random.Generator, clock_seconds: float,
               lr_plan: dict) -> None:
    """Optimizer moments, the data stream's position (the generator every draw comes from) and the
    training clock, written atomically: with the weights this is all a run needs to go on exactly
    as if it had never stopped."""
    tmp = path.with_suffix(".tmp")
    torch.save({"optimizer": opt.state_dict(), "step": step, "rng": rng.bit_generator.state,
                "torch_rng": torch.get_rng_state(), "clock_seconds": clock_seconds, "lr_plan": lr_plan}, tmp)
    tmp.replace(path)


def run(args: argparse.Namespace) -> None:
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    device = torch.device(args.device or ("cuda" if torch.cuda.is_available() else "cpu"))
    if device.type == "cuda" and not torch.cuda.is_available():
        raise SystemExit("--device cuda: no CUDA device is available here")
    rng = np.random.default_rng(args.seed)
    log = open(args.log, "a") if args.log else sys.stdout
    t0 = time.time()
    recipe = Recipe(p_reverb=args.p_reverb, p_loss=args.p_loss, early_reflections_ms=args.early_ms, p_tse=args.p_tse)
    if args.denoise_only:
        recipe = DENOISE_ONLY
    degraders, val_deg, data_record = build_degraders(args, recipe)
    print(f"pools ready in {time.time() - t0:.1f}s: {len(degraders[16000].speech)} utterances", file=log, flush=True)
    cfg = SEFlowConfig(blocks=args.blocks, df_order=args.df_order)
    net = SEFlowNet(cfg).to(device)
    opt = torch.optim.AdamW(net.parameters(), lr=args.lr, weight_decay=0.01)
    start_step, clock_before, init = 0, 0.0, None
    lr_plan = {"lr": args.lr, "steps": args.steps, "minutes": args.minutes}
    if args.resume:
        loaded, info = checkpoint.load(Path(args.resume))
        net.load_state_dict(loaded.state_dict())
        state_file = state_path(Path(args.resume))
        if not state_file.is_file():
            raise SystemExit(f"--resume {args.resume}: no training state {state_file} beside it (only checkpoints "
                             "saved by this version of the recipe can be resumed; use --init to fine-tune instead)")
        state = torch.load(state_file, weights_only=False)
        opt.load_state_dict(state["optimizer"])
        rng.bit_generator.state = state["rng"]
        torch.set_rng_state(state["torch_rng"])
        start_step, clock_before = int(state["step"]), float(state["clock_seconds"])
        lr_plan = state["lr_plan"]  # the schedule of the run being continued, not this command's
        init = info.get("init")
    elif args.init:
        loaded, info = checkpoint.load(Path(args.init))
        net.load_state_dict(grown_state(loaded.state_dict(), net))
        # The starting point's own provenance, nested: a fine-tuned checkpoint traces back to scratch.
        init = {"path": args.init, **{k: v for k, v in info.items() if k not in ("config", "data", "bytes")}}
    net.to(device)
    for group in opt.param_groups:
        group.setdefault("initial_lr", lr_plan["lr"])
    budget = lr_plan["minutes"] * 60.0 if lr_plan["minutes"] else math.inf
    # The clock is this process's CPU time on a CPU (a run paused with SIGSTOP, or slowed by other
    # work on the machine, does not use up its budget) and wall time on a GPU.
    clock = time.process_time if device.type == "cpu" else time.perf_counter
    clock_start = clock()

    def clock_seconds() -> float:
        return clock_before + clock() - clock_start

    def lr_at(step: int) -> float:
        """Warm-up over 100 steps, then cosine to 0.1 x over the run: by steps, or by the clock when
        a time budget is given, whichever ends first."""
        progress = min(1.0, max(step / lr_plan["steps"], clock_seconds() / budget))
        warm = min(1.0, (step + 1) / 100)
        return lr_plan["lr"] * warm * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * progress)))

    command = "python -m systems.seflow.training.train " + " ".join(shlex.quote(a) for a in args.argv)
    # A fixed 16 kHz denoise-only batch: its SNR at the two ends of the grid is logged as training
    # goes, to catch over-suppression (SNR falling below the input's) early.
    val_noisy, val_target, _, _ = make_batch(val_deg, np.random.default_rng(12345), 16, 32000, device)
    amp = torch.autocast("cuda", dtype=torch.bfloat16) if device.type == "cuda" and args.amp else nullcontext()
    stop = lr_plan["steps"] if args.stop_after is None else min(lr_plan["steps"], start_step + args.stop_after)
    for step in range(start_step, stop):
        last = step + 1 == stop or clock_seconds() > budget
        rate = int(rng.choice(RATES, p=np.asarray(args.rate_weights) / sum(args.rate_weights)))
        n = int(args.seconds * rate)
        noisy, target, far, enroll_list = make_batch(degraders[rate], rng, args.batch, n, device)
        far_feats, enroll_vec = _priors(noisy, far, enroll_list, rate)
        target_loss = partial(spectral_loss, s=target, rate=rate, suppression_weight=args.suppression_weight,
                              lost=lost_samples(noisy, rate), lost_weight=args.lost_weight)
        for g in opt.param_groups:
            g["lr"] = lr_at(step)
        net.train()
        with amp:
            full = enhance_with_priors(net, noisy, rate, cfg.blocks, cfg.heads, far_feats, enroll_vec,
                                       (cfg.blocks, int(rng.integers(1, cfg.blocks))))
        full = {b: y.float() for b, y in full.items()}
        teacher = full[cfg.blocks].detach()
        loss_full = target_loss(full[cfg.blocks])
        loss = loss_full + 0.5 * target_loss(full[min(full)]) + 0.5 * distillation_loss(full[min(full)], teacher, rate)
        # Sandwich rule, spread over steps for CPU budget: even steps the smallest width (with the
        # smallest depth), odd steps a random middle width at a random depth.
        if args.no_sandwich:
            heads, exits = cfg.heads, ()
        elif step % 2 == 0:
            heads, exits = 1, (1, int(rng.integers(2, cfg.blocks + 1)))
        else:
            heads, exits = int(rng.integers(2, cfg.heads)), (int(rng.integers(1, cfg.blocks + 1)),)
        with amp:
            outs = enhance_with_priors(net, noisy, rate, max(exits), heads, far_feats, enroll_vec, exits) if exits else {}
        for y in outs.values():
            y = y.float()
            loss = loss + 0.5 * target_loss(y) + 0.5 * distillation_loss(y, teacher, rate)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
        opt.step()
        if step % args.log_every == 0:
            print(f"step {step} rate {rate} loss {loss.item():.6f} full {loss_full.item():.6f} "
                  f"lr {lr_at(step):.2e} clock {clock_seconds():.0f}s elapsed {time.time() - t0:.0f}s", file=log, flush=True)
        if step % args.val_every == 0:
            print(f"validation step {step} SNR in {_snr_db(val_target, val_noisy):.2f} dB, "
                  + ", ".join(f"f-{b}-{h} {_snr_db(val_target, _validate(net, val_noisy, b, h)):.2f} dB" for b, h in ((1, 1), (cfg.blocks, cfg.heads))),
                  file=log, flush=True)
        if (step + 1) % args.save_every == 0 or last:
            info = {
                "command": command,
                "steps": step + 1,
                "batch": args.batch,
                "seconds_per_example": args.seconds,
                "data": data_record,
                "tasks": ["denoise", "dereverb", "declip", "plc", "tse", "aec"],
                "suppression_weight": args.suppression_weight,
                "lost_weight": args.lost_weight,
                "init": init,
                "device": str(device),
                "clock_seconds": round(clock_seconds(), 1),
                "torch": torch.__version__,
            }
            out = Path(args.out)
            digest = checkpoint.save(net, out, info)
            save_state(state_path(out), opt, step + 1, rng, clock_seconds(), lr_plan)
            if args.keep_every and (step + 1) % args.keep_every == 0:
                kept = out.with_name(f"{out.stem}-{step + 1}{out.suffix}")
                checkpoint.save(net, kept, info)
            print(f"saved {args.out} at step {step + 1} sha256 {digest}", file=log, flush=True)
        if last:
            break


def _snr_db(s: torch.Tensor, y: torch.Tensor) -> float:
    return float((10 * torch.log10(s.square().sum(-1) / (s - y).square().sum(-1))).mean())


@torch.no_grad()
def _validate(net: SEFlowNet, noisy: torch.Tensor, blocks: int, heads: int) -> torch.Tensor:
    net.eval()
    out = enhance_with_priors(net, noisy, 16000, blocks, heads)[blocks]
    net.train()
    return out


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", default=str(checkpoint.DEFAULT_CHECKPOINT))
    p.add_argument("--steps", type=int, default=3000)
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--seconds", type=float, default=1.5)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--utterances", type=int, default=480, help="eSpeak NG utterances (0: none)")
    p.add_argument("--real-data", default=None, help="a folder laid out like ../shared/data/train-real (files.csv)")
    p.add_argument("--espeak-share", type=float, default=0.25, help="share of eSpeak examples when real speech is given")
    p.add_argument("--rooms", type=int, default=40)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--device", default=None, help="cpu or cuda (default: cuda when present)")
    p.add_argument("--no-amp", dest="amp", action="store_false", help="on CUDA, run the network in fp32 (default: bf16 autocast)")
    p.add_argument("--save-every", type=int, default=100)
    p.add_argument("--keep-every", type=int, default=0, help="also keep a numbered copy every N steps (for averaging)")
    p.add_argument("--minutes", type=float, default=None,
                   help="training budget: CPU minutes of this process on a CPU, wall minutes on a GPU; the LR schedule follows it")
    p.add_argument("--log", default=None)
    p.add_argument("--log-every", type=int, default=10)
    p.add_argument("--stop-after", type=int, default=None,
                   help="leave after this many steps (state saved; --resume goes on with the same schedule)")
    p.add_argument("--resume", default=None, metavar="CKPT",
                   help="continue the run that saved CKPT (its optimizer, schedule and data position, from CKPT.state.pt)")
    p.add_argument("--denoise-only", action="store_true", help="noise only: no reverb, clipping, loss, TSE, AEC")
    p.add_argument("--no-sandwich", action="store_true", help="train the full network alone")
    p.add_argument("--blocks", type=int, default=12)
    p.add_argument("--df-order", type=int, default=SEFlowConfig.df_order, help="complex filter taps on the low bins (0: gains only)")
    p.add_argument("--val-every", type=int, default=100)
    p.add_argument("--init", default=None, help="start from these weights (recorded in the sidecar), not from scratch")
    p.add_argument("--suppression-weight", type=float, default=1.0, help="weight of speech removed vs noise left (loss)")
    p.add_argument("--lost-weight", type=float, default=4.0, help="lost samples' magnitude error counted this many times more")
    p.add_argument("--p-loss", type=float, default=Recipe.p_loss)
    p.add_argument("--p-reverb", type=float, default=Recipe.p_reverb)
    p.add_argument("--p-tse", type=float, default=Recipe.p_tse)
    p.add_argument("--rate-weights", type=float, nargs=4, default=RATE_WEIGHTS, metavar=("W8K", "W16K", "W24K", "W48K"))
    p.add_argument("--early-ms", type=float, default=Recipe.early_reflections_ms,
                   help="reverberant examples' target keeps this much of the RIR (0: the dry source)")
    args = p.parse_args(argv)
    args.argv = sys.argv[1:] if argv is None else list(argv)
    run(args)


if __name__ == "__main__":
    main()
