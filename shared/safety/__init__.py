"""Safety layers applied to every analysis output, deterministic or model-written."""
