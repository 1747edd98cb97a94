"""The paper's recipes as package data: one folder per task pipeline, one YAML per dataset (its settings from the
paper), `simulator.yaml` (short CPU runs on the built-in simulator) and named variants (`mstar_fast.yaml`). Keys
are option names; `sarhub.cli.parse_config` layers them (see there)."""
