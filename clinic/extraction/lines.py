"""Recognised text as lines of words, each word with its confidence (0-100).

OCR gives Tesseract's own per-word confidence; a PDF's text layer is the text
itself, so its words carry 100.
"""

from __future__ import annotations

from dataclasses import dataclass

TEXT_LAYER_CONFIDENCE = 100.0


@dataclass(frozen=True)
class Word:
    text: str
    confidence: float


@dataclass(frozen=True)
class Line:
    words: tuple[Word, ...]

    @property
    def text(self) -> str:
        return " ".join(w.text for w in self.words)

    def confidence_of(self, start: int, end: int) -> float:
        """The lowest confidence among the words that the span [start, end) touches."""
        position = 0
        lowest: float | None = None
        for word in self.words:
            word_end = position + len(word.text)
            if word_end > start and position < end:
                lowest = (
                    word.confidence if lowest is None else min(lowest, word.confidence)
                )
            position = word_end + 1
        return lowest if lowest is not None else 0.0


def lines_from_text(text: str) -> list[Line]:
    """A text layer's lines, every word fully trusted."""
    lines = []
    for raw in text.splitlines():
        words = tuple(Word(w, TEXT_LAYER_CONFIDENCE) for w in raw.split())
        if words:
            lines.append(Line(words))
    return lines


def text_of(lines: list[Line]) -> str:
    return "\n".join(line.text for line in lines)


def mean_confidence(lines: list[Line]) -> float | None:
    confidences = [w.confidence for line in lines for w in line.words]
    if not confidences:
        return None
    return round(sum(confidences) / len(confidences), 1)
