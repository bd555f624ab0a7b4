"""Checkers for the GitHub Actions workflows."""
