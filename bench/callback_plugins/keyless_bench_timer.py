"""Per-task wall times of one playbook run, for bench/run.py.

An aggregate callback: it prints nothing. It notes the controller's monotonic clock when each
task starts and when the play ends, and writes the intervals between them (seconds, one per
task, in order) as a JSON list to the file named by ``KEYLESS_BENCH_TASK_TIMES``. An interval
covers all of a task: templating, the worker, the module process or the action plugin, and the
handling of its result. ansible-playbook's start-up and the play's set-up are outside them.
"""

from __future__ import annotations

import itertools
import json
import os
import time
from typing import Any

from ansible.plugins.callback import CallbackBase

DOCUMENTATION = """
name: keyless_bench_timer
type: aggregate
short_description: per-task wall times for the keyless.aws benchmark
description:
  - Writes the wall time of every task, in order, as a JSON list of seconds to the file named
    by the environment variable C(KEYLESS_BENCH_TASK_TIMES). Used by bench/run.py only.
requirements:
  - enable in the callbacks_enabled setting
"""

OUTPUT_ENV = "KEYLESS_BENCH_TASK_TIMES"


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "keyless_bench_timer"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._starts: list[float] = []

    def v2_playbook_on_task_start(self, task: Any, is_conditional: bool) -> None:
        self._starts.append(time.monotonic())

    def v2_playbook_on_stats(self, stats: Any) -> None:
        marks = [*self._starts, time.monotonic()]
        intervals = [later - earlier for earlier, later in itertools.pairwise(marks)]
        output = os.environ.get(OUTPUT_ENV)
        if output:
            with open(output, "w", encoding="utf-8") as stream:
                json.dump(intervals, stream)
