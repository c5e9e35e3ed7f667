"""A trained run exported for other runtimes: GGUF for llama.cpp (`make gguf`), checked by loading it."""
