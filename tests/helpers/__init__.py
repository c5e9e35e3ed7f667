"""Test scaffolding that also runs as commands from the repo root: a small chat dataset in the
`make data` format (python -m tests.helpers.fixture) and a random-init tiny Llama trained on it
(python -m tests.helpers.tiny), for tests and smoke runs such as make gpu-check."""
