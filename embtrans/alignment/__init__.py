"""Alignment heads on frozen token sequences: data, model, training, ablation, report."""
