"""How tlcore's words reach a page: escaped for markdown, so names show as written."""

from __future__ import annotations

from ui.calls import error_message, finding_text, plain
from tlcore import TLCoreError


def test_names_with_markdown_characters_show_as_written():
    assert plain("red_stripes/a*b $5.png") == r"red\_stripes/a\*b \$5.png"
    assert error_message(TLCoreError("Pattern '^(p\\d+)_' matches nothing.", "try again.")).count("\\_") == 1


def test_a_finding_reads_problem_then_fix():
    assert finding_text("Class 'a_b' is small", "add pictures.") == "Class 'a\\_b' is small.  \n**Fix:** Add pictures."
    assert finding_text("Nothing to fix") == "Nothing to fix"
