"""Conditioning: prompt parsing, text encoders, timing/tempo/key embedders."""
