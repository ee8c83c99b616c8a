"""The progress helper: a bar on a terminal or when asked, silence otherwise."""

import io

from popaudit._inference import progress_bar


class _Terminal(io.StringIO):
    def isatty(self):
        return True


def _run(progress, stream):
    bar = progress_bar(range(5), desc="draws", progress=progress, file=stream, delay=0)
    assert list(bar) == [0, 1, 2, 3, 4]          # iterates like the wrapped iterable
    bar.close()
    return stream.getvalue()


def test_shown_when_asked():
    assert "draws" in _run(True, io.StringIO())


def test_quiet_when_disabled_even_on_a_terminal():
    assert _run(False, _Terminal()) == ""


def test_default_follows_the_terminal():
    assert _run(None, io.StringIO()) == ""        # not a terminal: logs and CI stay clean
    assert "draws" in _run(None, _Terminal())


def test_manual_updates():
    stream = io.StringIO()
    with progress_bar(total=10, desc="chunks", progress=True, file=stream, delay=0) as bar:
        bar.update(4)
        bar.update(6)
        assert bar.n == 10
    assert "chunks" in stream.getvalue()


def test_scoped_default_silences_or_forces_inner_bars():
    from popaudit._inference import progress_default

    with progress_default(False):
        assert _run(None, _Terminal()) == ""
        assert "draws" in _run(True, io.StringIO())   # an explicit argument still wins
    with progress_default(True):
        assert "draws" in _run(None, io.StringIO())
    assert _run(None, io.StringIO()) == ""            # restored on exit
