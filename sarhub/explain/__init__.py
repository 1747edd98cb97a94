"""Explaining SAR models: CAM maps (`cam`), the knowledge-point explainer (`kp`), target/shadow/clutter regions
(`regions`) and the paper's figures (`plots`)."""
