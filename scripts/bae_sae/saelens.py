"""SAELens support for a BAE exported with `bae export --format saelens` (architecture "binary").

SAELens has no binary SAE class, so its loader refuses such a folder. Importing this module registers one
with SAELens's class registry (once per process); afterwards `sae_lens.SAE.load_from_disk(folder)` returns a
`BinarySAE`, whose encode is h = 1[x·W_enc + b_enc > 0] (times `activation_scale` when the export rescaled the
decoder to unit norm) and whose decode is the usual h·W_dec + b_dec. Needs torch and sae-lens (≥ 6).

    import sys; sys.path.insert(0, "scripts")
    import bae_sae.saelens  # registers "binary"
    from sae_lens import SAE
    sae = SAE.load_from_disk("runs/main-saelens")
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from sae_lens import SAE, SAEConfig
from sae_lens.registry import SAE_CLASS_REGISTRY, register_sae_class
from torch import nn

ARCHITECTURE = "binary"


@dataclass
class BinarySAEConfig(SAEConfig):
    """The config of a flipped-bit BAE export; no fields beyond SAELens's common ones."""

    @classmethod
    def architecture(cls) -> str:
        return ARCHITECTURE


class BinarySAE(SAE[BinarySAEConfig]):
    """A BAE in SAE form: binary codes from the encoder's sign, a linear decoder."""

    b_enc: nn.Parameter
    activation_scale: nn.Parameter

    def initialize_weights(self) -> None:
        super().initialize_weights()
        shape = (self.cfg.d_sae,)
        self.b_enc = nn.Parameter(torch.zeros(shape, dtype=self.dtype, device=self.device))
        # 1 for a plain export; ‖w_j‖ when the export rescaled decoder columns to unit norm
        self.activation_scale = nn.Parameter(
            torch.ones(shape, dtype=self.dtype, device=self.device), requires_grad=False
        )

    def process_state_dict_for_loading(self, state_dict: dict) -> None:
        if "activation_scale" not in state_dict:
            w = state_dict["b_enc"]
            state_dict["activation_scale"] = torch.ones_like(w)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        sae_in = self.process_sae_in(x)
        hidden_pre = self.hook_sae_acts_pre(sae_in @ self.W_enc + self.b_enc)
        bits = (hidden_pre > 0).to(hidden_pre.dtype)
        return self.hook_sae_acts_post(bits * self.activation_scale)

    def decode(self, feature_acts: torch.Tensor) -> torch.Tensor:
        out = self.hook_sae_recons(feature_acts @ self.W_dec + self.b_dec)
        out = self.run_time_activation_norm_fn_out(out)
        return self.reshape_fn_out(out, self.d_head)


if ARCHITECTURE not in SAE_CLASS_REGISTRY:
    register_sae_class(ARCHITECTURE, BinarySAE, BinarySAEConfig)
