"""One part of the harness-overhead comparison, in a fresh interpreter that starts as ``python -m bench
run`` does: the workers' fork server first, then the imports (see ``test_harness_benchmark``).

``python -m tests.benchmarks.overhead_probe {quick,trivial} OUT`` prints the seconds as JSON.
"""

import json
import sys
from pathlib import Path

if __name__ == "__main__":
    from bench.executors import prestart_local_workers

    prestart_local_workers()
    from tests.benchmarks.test_harness_benchmark import measure

    print(json.dumps(measure(sys.argv[1], Path(sys.argv[2]))))
