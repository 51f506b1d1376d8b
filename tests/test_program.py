"""Importing nnet changes nothing and loads nothing; the nnet program sets its own BLAS
environment before NumPy loads (nnet._program), and a value the user set wins."""

from __future__ import annotations

import json
import os
import subprocess
import sys

PROBE = """
import json, os, sys
before = dict(os.environ)
import nnet
after_nnet = {"numpy": "numpy" in sys.modules, "changed": sorted(k for k in os.environ if os.environ.get(k) != before.get(k))}
net = nnet.Network([3, 2])  # first use loads what it needs
import nnet.cli
print(json.dumps({"nnet": after_nnet, "numpy_after_use": "numpy" in sys.modules,
                  "timeout": os.environ.get("OPENBLAS_THREAD_TIMEOUT")}))
"""

PROGRAM = """
import json, os, sys
import nnet.cli
print(json.dumps({"numpy": "numpy" in sys.modules, "timeout": os.environ.get("OPENBLAS_THREAD_TIMEOUT")}))
"""


def run(code: str, **environment) -> dict:
    env = {key: value for key, value in os.environ.items() if key != "OPENBLAS_THREAD_TIMEOUT"}
    env.update(environment)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_importing_nnet_loads_nothing_and_sets_nothing():
    result = run(PROBE)
    assert result["nnet"] == {"numpy": False, "changed": []}
    assert result["numpy_after_use"] is True
    # the library loaded NumPy first, so the program could no longer set OpenBLAS up
    assert result["timeout"] is None


def test_the_nnet_program_sets_up_openblas_before_numpy_loads():
    assert run(PROGRAM) == {"numpy": False, "timeout": "20"}


def test_a_value_the_user_set_wins():
    assert run(PROGRAM, OPENBLAS_THREAD_TIMEOUT="7") == {"numpy": False, "timeout": "7"}
