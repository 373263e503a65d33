"""French and English text as customers write it: folding, elisions, stop words, stems and
language detection, in :mod:`parcours.text.language` (used by the FAQ bot's search)."""

__all__: list[str] = []
