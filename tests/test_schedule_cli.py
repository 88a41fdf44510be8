import subprocess
import sys


def test_schedule_cli_prints_both_tables_and_says_they_differ():
    p = subprocess.run([sys.executable, "-m", "runners.schedule"], capture_output=True, text=True)
    assert p.returncode == 0
    assert "143 configurations, 1581 units with checkpoint reuse, 1902" in p.stdout
    assert "128 configurations, 1404 units with checkpoint reuse, 1701" in p.stdout
    assert "The two differ" in p.stdout


def test_schedule_cli_bad_eta():
    p = subprocess.run([sys.executable, "-m", "runners.schedule", "--eta", "1"],
                       capture_output=True, text=True)
    assert p.returncode == 2 and "eta: must be an integer >= 2" in p.stderr
