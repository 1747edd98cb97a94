"""Results tables: rows appended to <table>.csv, <table>.md regenerated below its hand-written header."""
from sarhub.config import TestOptions as Options  # not "Test…" in this module: pytest would collect it
from sarhub.results import append_result, report

COLUMNS = ("model", "init", "top1")


def test_rows_accumulate_in_the_csv_and_the_markdown_keeps_its_header(tmp_path):
    table = tmp_path / "results" / "table6"
    append_result(table, {"model": "resnet18", "init": "TSX", "top1": 97.123, "unused": 1}, COLUMNS)
    (table.with_suffix(".md")).write_text("# Table 6\n\nOur runs:\n" + table.with_suffix(".md").read_text())
    append_result(table, {"model": "resnet50", "top1": 98.0}, COLUMNS)
    assert table.with_suffix(".csv").read_text() == "model,init,top1\nresnet18,TSX,97.12\nresnet50,,98.00\n"
    assert table.with_suffix(".md").read_text() == ("# Table 6\n\nOur runs:\n<!-- results -->\n| model | init | top1 |\n"
                                                    "|---|---|---|\n| resnet18 | TSX | 97.12 |\n| resnet50 |  | 98.00 |\n")


def test_report_appends_unless_told_not_to(tmp_path, capsys):
    row = {"model": "resnet18", "init": "scratch", "top1": 50.0}
    report(Options(checkpoint="c.pth", results=str(tmp_path / "r"), append=False), row, COLUMNS)
    assert not (tmp_path / "r.csv").exists()
    report(Options(checkpoint="c.pth", results=str(tmp_path / "r")), row, COLUMNS)
    assert (tmp_path / "r.csv").read_text().splitlines()[1] == "resnet18,scratch,50.00"
    assert f"appended to {tmp_path / 'r.md'}" in capsys.readouterr().out
