"""The Emotion-LLaMAv2-style network: encoders, fusion, heads, presets, checkpoints."""
