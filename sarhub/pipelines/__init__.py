"""Task pipelines: one module per task, each with a typed config dataclass (the library defaults), a parser that
takes its defaults from it, and the functions a task's train.py/test.py call: parse -> config -> one call."""
