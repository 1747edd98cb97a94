"""Dataset readers for every task; each dataset item is a dict with at least "image" (float32 C×H×W tensor)."""
