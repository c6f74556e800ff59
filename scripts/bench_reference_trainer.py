"""Times the reference repository's own BAE trainer loop, imported from a checkout outside this repository.

Used by `bench_vs_pytorch.py --reference-dir PATH` (a checkout of github.com/hc495/Binary_Autoencoder, never
committed here). Nothing of the reference is copied: its `module.binarized_autoencoder` and `train.trainer`
are imported from PATH and run as its README's standard usage configures them (sign_s binarisation, decoder
bias, no output activation, Adam, λ_e = λ_c, entropy from the first epoch). The trainer logs every step to
wandb; a no-op `wandb` module is installed in `sys.modules` first, so no account or network is needed and
logging costs nothing. A step's time is the interval between two consecutive `optimizer.step()` returns:
one whole iteration of the reference's loop (batch collation, forward, losses, backward, Adam, the
`.item()` calls it logs).
"""

from __future__ import annotations

import contextlib
import io
import sys
import time
import types
from pathlib import Path

REQUIRED = ("module/binarized_autoencoder.py", "module/binarization.py", "train/trainer.py")


def check_reference_dir(path: Path) -> None:
    """Exits with a message naming the missing file when `path` is not a checkout of the reference."""
    missing = [f for f in REQUIRED if not (path / f).is_file()]
    if missing:
        sys.exit(
            f"bench_vs_pytorch: --reference-dir {path} lacks {', '.join(missing)}: pass a checkout of "
            "github.com/hc495/Binary_Autoencoder (outside this repository)"
        )


def load_reference(path: Path):
    """The reference's autoencoder class and trainer function, imported from `path` (wandb stubbed)."""
    check_reference_dir(path)
    stub = types.ModuleType("wandb")
    stub.log = lambda *args, **kwargs: None
    stub.init = lambda *args, **kwargs: None
    sys.modules["wandb"] = stub
    sys.path.insert(0, str(path.resolve()))
    try:
        from module.binarized_autoencoder import BinarizedAutoencoder
        from train.trainer import auto_encoder_trainer
    finally:
        sys.path.pop(0)
    return BinarizedAutoencoder, auto_encoder_trainer


def run_reference(torch, reference, d: int, dl: int, n: int, lam: float, threads: int, steps: int, on_step) -> None:
    """Runs one epoch of `steps` batches of the reference trainer on random rows; `on_step()` after each Adam step."""
    autoencoder, trainer = reference
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = autoencoder(d, dl, output_dim=d, bias=True, binarization_type="sign_s", output_activation="none")
    opt = torch.optim.Adam(model.parameters(), lr=5e-4, weight_decay=0)
    inner, count = opt.step, [0]

    def step_then_report(*args, **kwargs):
        out = inner(*args, **kwargs)
        count[0] += 1
        on_step()
        return out

    opt.step = step_then_report
    train = list(torch.randn(n * steps, d))  # a list of row tensors, like its feature files
    val = list(torch.randn(2, d))  # two rows: its validation pass must not be empty
    with contextlib.redirect_stdout(io.StringIO()):
        trainer(
            model, train, val, opt, batch_size=n, num_epochs=1, entropy_weight=lam, covarience_weight=lam,
            cuda=False, entropy_threshold=0, entropy_start_epoch=0,
        )  # fmt: skip
    if count[0] != steps:
        sys.exit(f"bench_vs_pytorch: the reference trainer ran {count[0]} steps, expected {steps}")


def time_reference(torch, reference, d: int, dl: int, n: int, lam: float, threads: int, repeats: int) -> list[float]:
    """Seconds per iteration of the reference trainer: `repeats` intervals after one warm-up step."""
    ends: list[float] = []
    run_reference(torch, reference, d, dl, n, lam, threads, repeats + 1, lambda: ends.append(time.perf_counter()))
    return [b - a for a, b in zip(ends, ends[1:])]
