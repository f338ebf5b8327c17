"""A HiGHS solver that writes nothing on stdout, from its construction on.

HiGHS writes its banner ("Running HiGHS 1.16.0 (git hash ...): Copyright ...") before the
first call that is not an option's setting, unless `output_flag` is already false then
(the maintainers' rule, ERGO-Code/HiGHS on GitHub: "Shouldn't Highs header be logged only
when the output flags are set to true?", 2024). highspy's own
`Highs.__init__` (seen in 1.16) makes such a call itself: it registers its callback
dispatcher with `enableCallbacks()`, so a caller's `setOptionValue("output_flag", False)`
after `Highs()` comes too late, and each new solver printed the banner on `edge plan`'s
stdout and once a re-plan in the supervisor's journal. Here the flag is set inside that
first call, before it reaches HiGHS. With versions whose constructor calls nothing, the
flag is set again after it, which is what highspy documents (`Highs.silent()`).
"""

from __future__ import annotations

import highspy


class QuietHighs(highspy.Highs):
    """highspy.Highs with output_flag (and log_to_console) false before HiGHS can log."""

    def __init__(self) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        _quiet(self)

    def enableCallbacks(self) -> None:  # highspy's name
        _quiet(self)
        super().enableCallbacks()  # type: ignore[no-untyped-call]


def _quiet(h: highspy.Highs) -> None:
    h.setOptionValue("output_flag", False)
    h.setOptionValue("log_to_console", False)
