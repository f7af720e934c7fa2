"""Races in tests: calls released together from their own threads (each closes its own database connection)."""

import threading

from django.db import connection


def at_once(call, arguments: list) -> list:
    """Run `call(argument)` for each argument in its own thread, all released together; their results."""
    barrier, results = threading.Barrier(len(arguments)), []

    def run(argument):
        barrier.wait()
        try:
            results.append(call(argument))
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(argument,)) for argument in arguments]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results
