"""Base models the pipeline starts from, materialised offline as plain Hugging Face folders (make model)."""
