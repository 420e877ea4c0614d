"""Countermeasures: flag synthetic or converted speech, and benchmark detectors on spoof datasets."""
