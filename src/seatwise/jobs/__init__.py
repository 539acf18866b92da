"""The jobs shell: procrastinate tasks and the worker process (DESIGN §10). Thin:
each task calls one service and counts what it did."""
