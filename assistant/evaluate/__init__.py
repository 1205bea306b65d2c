"""Evaluate: test sets (our JSONL and SQuAD), retrieval and answer metrics, evaluation runs with
intervals, the terminal and HTML reports, and chat feedback turned into test-set candidates."""

from assistant.evaluate.testset import load_testset

__all__ = ["load_testset"]
