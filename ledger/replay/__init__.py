"""Replay support: the stored events a candidate model would reject, the shape
of a replay report, and a scratch SQLite copy of the events to rebuild in."""
