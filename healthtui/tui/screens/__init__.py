"""The dashboard's screens: overview, metric, commit, findings, tests, first run, help."""
