"""Reusable parts of the app's pages: the profile panel, dialogs, terminal tabs, sync and doctor views."""
