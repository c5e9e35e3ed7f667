"""Training: recipe checks, overrides, run folders and run cards around `axolotl train` (python -m train)."""
