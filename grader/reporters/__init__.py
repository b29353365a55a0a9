"""Reporters format a finished ``Report``; they never grade."""
