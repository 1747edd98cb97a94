"""Task models built on the shared backbones: detectors (`detection`: FCOS + FPN for Table 7)."""
