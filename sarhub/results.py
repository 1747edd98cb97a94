"""Results tables: one row per evaluation appended to `<table>.csv` (the source of truth), `<table>.md`
regenerated from it in the paper's layout, both written atomically."""
from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Sequence

from sarhub.checkpoints import write_text_atomic
from sarhub.config import TestOptions


def append_result(table: str | Path, row: dict, columns: Sequence[str]) -> None:
    """Append one row to `<table>.csv` and regenerate `<table>.md` below its hand-written header, if any."""
    table = Path(table)
    csv_path, md_path = table.with_suffix(".csv"), table.with_suffix(".md")
    rows = []
    if csv_path.is_file():
        with open(csv_path, newline="") as handle:
            rows = list(csv.DictReader(handle))
    rows.append({c: cell(row.get(c, "")) for c in columns})
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(columns), extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    write_text_atomic(csv_path, buffer.getvalue())
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(str(r.get(c, "")) for c in columns) + " |" for r in rows]
    header = md_path.read_text().split("<!-- results -->")[0] if md_path.is_file() else ""
    write_text_atomic(md_path, (header + "<!-- results -->\n" if header else "<!-- results -->\n") + "\n".join(lines)
                      + "\n")


def cell(value: object) -> str:
    return f"{value:.2f}" if isinstance(value, float) else str(value)


def report(test: TestOptions, row: dict, columns: Sequence[str]) -> None:
    """Append a test step's row to its results table unless `append` is off."""
    if test.append:
        append_result(test.results, row, columns)
        print(f"appended to {Path(test.results).with_suffix('.md')}")
