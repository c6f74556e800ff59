"""Load a `bae train` run or a `bae export --format saelens` folder as an SAE module.

    import sys; sys.path.insert(0, "scripts")
    from bae_sae import load
    sae = load("runs/topk")            # or load("runs/topk-saelens")
    codes = sae.encode(x)              # (n, d_sae)
    x_hat = sae.decode(codes)          # (n, d_in)
    x_hat = sae(x)                     # forward

The object carries W_enc (d_in, d_sae), b_enc, W_dec (d_sae, d_in), b_dec, dtype, device and cfg:
the attributes SAE evaluation suites (SAEBench's custom-SAE interface, SAELens) read. With torch
installed it is a torch.nn.Module; without torch the same class runs on numpy arrays.
"""

from .adapter import SAE, load  # noqa: F401
