"""The app's pages; each module has one ``create()`` that registers its page."""
