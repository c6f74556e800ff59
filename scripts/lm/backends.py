"""Two interchangeable backends that turn token lists into hidden states at a layer.

Both follow HF's hidden_states[ℓ] convention (see lm/llama.py). Interface:
  name, n_layers, dim, tokenize(texts) → list[list[int]] (no special tokens added),
  token_id(text) → id of a special token, decode_one(id) → str, hidden(docs, layer) → (Σ len, d) float32,
  info() → dict recorded in the meta JSON.
"""

from __future__ import annotations

import os

import numpy as np

from .gguf_model import GGUFModel
from .llama import NumpyLlama
from .tokenizer import tokenizer_from_gguf


class NumpyBackend:
    name = "numpy"

    def __init__(self, gguf_path: str):
        self.gguf = GGUFModel(gguf_path)
        self.net = NumpyLlama(self.gguf)
        self.tok = tokenizer_from_gguf(self.gguf.reader)
        self.n_layers = self.gguf.config.n_layers
        self.dim = self.gguf.config.dim

    def tokenize(self, texts):
        return [e.ids for e in self.tok.encode_batch(list(texts), add_special_tokens=False)]

    def token_id(self, text: str) -> int:
        i = self.tok.token_to_id(text)
        if i is None:
            raise KeyError(f"token '{text}' is not in the vocabulary of {self.gguf.path}")
        return i

    def decode_one(self, i: int) -> str:
        return self.tok.decode([i], skip_special_tokens=False)

    def prepare(self, layer: int) -> None:
        self.net.prepare(layer)

    def hidden(self, docs, layer: int) -> np.ndarray:
        return self.net.hidden(docs, layer)

    def logits(self, docs, splice_layer=None, splice=None) -> np.ndarray:
        return self.net.logits(docs, splice_layer, splice)

    def info(self) -> dict:
        return {
            "backend": self.name,
            "model_file": os.path.basename(self.gguf.path),
            "model_path": os.path.abspath(self.gguf.path),
            "model_sha256": self.gguf.sha256,
            "tensor_types": self.gguf.tensor_types(),
            "config": self.gguf.config.__dict__,
        }


class TransformersBackend:
    """Any HF causal LM (a hub id or a local directory), a GGUF included via gguf_file=."""

    name = "transformers"

    def __init__(self, model: str, gguf_file: str | None = None, threads: int | None = None):
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        if threads:
            torch.set_num_threads(threads)
        self.torch = torch
        kw = {"gguf_file": gguf_file} if gguf_file else {}
        self.tok = AutoTokenizer.from_pretrained(model, **kw)
        # Eager attention: with torch 2.15 on this CPU, SDPA became 3–4× slower per token for sequences
        # longer than ~256 tokens (measured), and Wikipedia lead sections run up to the 512-token context.
        self.model = AutoModelForCausalLM.from_pretrained(
            model, dtype=torch.float32, attn_implementation="eager", **kw
        ).eval()
        self.n_layers = self.model.config.num_hidden_layers
        self.dim = self.model.config.hidden_size
        self.model_ref, self.gguf_file = model, gguf_file

    def tokenize(self, texts):
        return [self.tok.encode(t, add_special_tokens=False) for t in texts]

    def token_id(self, text: str) -> int:
        i = self.tok.convert_tokens_to_ids(text)
        if i is None or i == self.tok.unk_token_id and text != self.tok.unk_token:
            raise KeyError(f"token '{text}' is not in the vocabulary of {self.model_ref}")
        return int(i)

    def decode_one(self, i: int) -> str:
        return self.tok.decode([i], skip_special_tokens=False, clean_up_tokenization_spaces=False)

    def prepare(self, layer: int) -> None:
        pass

    def _run(self, docs):
        torch = self.torch
        n = max(len(d) for d in docs)
        ids = torch.zeros((len(docs), n), dtype=torch.long)
        mask = torch.zeros((len(docs), n), dtype=torch.long)
        for r, d in enumerate(docs):
            ids[r, : len(d)] = torch.tensor(d)
            mask[r, : len(d)] = 1
        # Right padding: positions are 0.. for every row and padded keys are masked, so real rows are exact.
        with torch.no_grad():
            return self.model(input_ids=ids, attention_mask=mask, output_hidden_states=True)

    def hidden(self, docs, layer: int) -> np.ndarray:
        # One document per call: padding a batch of unequal documents cost 2–5× on CPU here.
        return np.concatenate([self._run([d]).hidden_states[layer][0].float().numpy() for d in docs])

    def logits(self, docs, splice_layer=None, splice=None) -> np.ndarray:
        if splice is not None:
            raise NotImplementedError("splicing is implemented for the numpy backend only")
        out = self._run(docs)
        return np.concatenate([out.logits[r, : len(d)].float().numpy() for r, d in enumerate(docs)])

    def info(self) -> dict:
        from .gguf_model import file_sha256

        info = {"backend": self.name, "model_ref": self.model_ref, "model_file": self.gguf_file}
        path = os.path.join(self.model_ref, self.gguf_file) if self.gguf_file else None
        if path and os.path.isfile(path):
            info["model_sha256"] = file_sha256(path)
        info["config"] = {"n_layers": self.n_layers, "dim": self.dim}
        return info


def make_backend(kind: str, gguf_path: str, hf_model: str | None = None, threads: int | None = None):
    if kind == "numpy":
        return NumpyBackend(gguf_path)
    if kind == "transformers":
        if hf_model:
            return TransformersBackend(hf_model, None, threads)
        return TransformersBackend(os.path.dirname(os.path.abspath(gguf_path)), os.path.basename(gguf_path), threads)
    raise ValueError(f"unknown backend '{kind}' (numpy | transformers)")
