"""Hostile inputs built in tmp_path: devices, bombs, scripts in reports (issue 13)."""
