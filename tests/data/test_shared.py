"""Where the real sample data is found: $SARHUB_SHARED_DATA, else a shared/data folder above the working folder."""
from sarhub.data.shared import ENV, shared_data_root


def test_the_environment_variable_wins_and_a_missing_folder_is_none(tmp_path, monkeypatch):
    monkeypatch.setenv(ENV, str(tmp_path))
    assert shared_data_root() == tmp_path
    monkeypatch.setenv(ENV, str(tmp_path / "absent"))
    assert shared_data_root() is None


def test_a_shared_data_folder_above_the_working_folder_is_found(tmp_path, monkeypatch):
    (tmp_path / "shared" / "data").mkdir(parents=True)
    (tmp_path / "checkout" / "runs").mkdir(parents=True)
    monkeypatch.delenv(ENV, raising=False)
    monkeypatch.chdir(tmp_path / "checkout" / "runs")
    assert shared_data_root() == tmp_path / "shared" / "data"
