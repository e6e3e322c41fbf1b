"""The desktop front end (PySide6 + pyqtgraph): the only package that imports Qt. Widgets stay thin: every
action calls a job or a core function, long work runs in `workers.TaskRunner` threads."""
