"""Self-supervised SAR pre-training: masked image modelling with SAR gradient-feature targets (SAR-JEPA/SARATR-X)."""
