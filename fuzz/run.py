"""Coverage-guided fuzzing of nnet's readers with atheris (libFuzzer for Python).

    pip install atheris
    python fuzz/run.py model -max_total_time=600            # ten minutes on model files
    python fuzz/run.py --list                               # the targets (fuzz/targets.py)
    python fuzz/run.py idx fuzz/corpus/idx/crash-1234       # run one input again

The corpus of each target grows in ``fuzz/corpus/<target>/`` (seeded with valid inputs on the
first run). Any exception other than the target's documented error is a finding: libFuzzer
stops, prints the traceback and writes the input as ``fuzz/crash-<sha1>``; fix the bug, then keep the
input in ``fuzz/corpus/<target>/`` (named ``regression-<what>``): tests/test_fuzz_files.py
replays every file there, under a memory cap, in every test run. Memory is capped at 1 GB per
run (``-rss_limit_mb``, pass another to change it); an input that takes more is a finding too.
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main(argv: list[str]) -> int:
    import atheris

    # Only what is imported inside this block is instrumented (coverage guides the fuzzer there):
    # nnet, with the modules its targets import late, and Pillow's decoders, which are Python.
    with atheris.instrument_imports(include=["nnet", "PIL"]):
        sys.path.insert(0, str(HERE))
        import targets

        for late in targets.LATE_IMPORTS:
            __import__(late)
        from PIL import Image

        Image.init()  # every decoder plugin, now rather than on the first Image.open

    if not argv or argv[0] in ("--list", "-h", "--help"):
        print(__doc__)
        print("targets:", ", ".join(targets.TARGETS))
        return 0
    name, options = argv[0], argv[1:]
    if name not in targets.TARGETS:
        print(f"fuzz/run.py: no target {name!r}; the targets are {', '.join(targets.TARGETS)}", file=sys.stderr)
        return 2
    documented = targets.documented(name)
    inputs = [option for option in options if not option.startswith("-")]
    if not inputs:  # no corpus or input named: the target's own corpus, seeded if empty
        corpus = HERE / "corpus" / name
        corpus.mkdir(parents=True, exist_ok=True)
        if not any(corpus.iterdir()):
            for number, seed in enumerate(targets.seeds(name)):
                (corpus / f"seed-{number}").write_bytes(seed)
        options = [*options, str(corpus)]
    if not any(option.startswith("-rss_limit_mb") for option in options):
        options = ["-rss_limit_mb=1024", *options]
    if not any(option.startswith("-artifact_prefix") for option in options):
        options = [f"-artifact_prefix={HERE}/", *options]  # crash-<sha1> files land in fuzz/

    def test_one_input(data: bytes) -> None:
        try:
            targets.attack(name, data)
        except documented:
            pass

    atheris.Setup([sys.argv[0], *options], test_one_input)
    atheris.Fuzz()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
