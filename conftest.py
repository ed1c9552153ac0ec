"""Pytest set-up shared by tests/ and plugins/: signals as a terminal would deliver them."""

from __future__ import annotations

import signal


def _default_signal_dispositions() -> None:
    """Undo signals ignored by whoever started pytest (``nohup``, a background ``&`` job).

    Ignored signals stay ignored across ``exec``, so the subprocesses the Ctrl-C and shell
    tests start would never see SIGINT; handled or default ones reset to default.
    """
    if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    for name in ("SIGHUP", "SIGQUIT"):
        number = getattr(signal, name, None)
        if number is not None and signal.getsignal(number) == signal.SIG_IGN:
            signal.signal(number, signal.SIG_DFL)


_default_signal_dispositions()
