"""Built-in scenarios of the emulator, as JSON files (``demo.json``); see :mod:`ssmux.emulator.scenario`."""
