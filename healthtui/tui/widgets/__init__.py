"""Widgets of the healthtui dashboard."""
