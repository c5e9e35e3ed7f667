"""Backends turn frames into text: `realize(frames) -> Iterator[Realized]` (see synth.types.Backend).

grammar (synth.backends.grammar): offline templates plus surface noise, the default.
openai (synth.backends.openai_backend) and local (synth.backends.local): LLMs under a JSON schema.
Modules are imported where used, so the grammar path never loads model code.
"""
