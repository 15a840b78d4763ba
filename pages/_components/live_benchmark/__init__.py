"""The Live benchmark page's sections: connect, run (settings, execute, results), compare, sweep, launch
commands, saved results. ``state`` holds the shared resources and the session keys (prefixed ``live_``)."""
