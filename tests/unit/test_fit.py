"""The long-note policy on its own (shared.inference.fit): what is kept, what the marker
says, and when the model step is skipped. Tokens are counted as words here; the model tests
count them with the real Gemma tokenizer."""

from __future__ import annotations

from shared.inference.fit import MARKER, POLICY, estimate_tokens, fit, shorten

NOTE = "Fell at home.\nHit head on the table, no loss of consciousness.\n\nNow alert and walking."
TOTAL = 16  # words


def build(note: str, repair: bool) -> list[dict[str, str]]:
    fixed = "Chief complaint: fall. Vital signs: heart rate 88. Rule engine: level 3."
    extra = " please repair" if repair else ""
    return [{"role": "user", "content": f"{fixed}{extra}\nNote: {note}"}]


def words(messages: list[dict[str, str]]) -> int:
    return len(messages[0]["content"].split())


def test_shorten_keeps_head_and_tail_with_the_count_between():
    short, omitted = shorten(NOTE, 5)
    assert omitted == TOTAL - 5 == 11
    assert short == "Fell at home. [... 11 words omitted ...] and walking."  # 3/5 head, 2/5 tail
    assert shorten(NOTE, TOTAL) == (NOTE, 0) and shorten(NOTE, 99) == (NOTE, 0)
    assert shorten(NOTE, 0) == (MARKER.format(n=TOTAL), TOTAL)


def test_a_prompt_that_fits_is_sent_whole():
    fitted = fit(NOTE, build, words, limit=100)
    assert fitted.messages == build(NOTE, False) and fitted.record() is None


def test_an_over_long_note_is_shortened_to_the_most_words_that_fit():
    fitted = fit(NOTE, build, words, limit=25)
    assert fitted.messages is not None and fitted.words_omitted > 0
    assert (
        words(build(fitted.note, True))
        <= 25
        < words(build(shorten(NOTE, TOTAL - fitted.words_omitted + 1)[0], True))
    )
    text = fitted.messages[0]["content"]
    assert text.startswith(
        "Chief complaint: fall. Vital signs: heart rate 88. Rule engine: level 3."
    )
    assert f"[... {fitted.words_omitted} words omitted ...]" in text and "Fell" in text
    assert fitted.record() == {"policy": POLICY, "prompt_tokens": words(build(NOTE, False)),
                               "limit": 25, "words_omitted": fitted.words_omitted,
                               "skipped": False}  # fmt: skip


def test_skip_mode_and_a_prompt_too_long_without_its_note_skip_the_model():
    skipped = fit(NOTE, build, words, limit=25, mode="skip")
    assert skipped.messages is None and skipped.record()["skipped"] is True
    assert "MEDTRIAGE_MODEL_LONG_NOTE=skip" in skipped.reason
    hopeless = fit(NOTE, build, words, limit=12)
    assert hopeless.messages is None
    assert hopeless.reason.endswith("(too long even with the note left out): model step skipped")


def test_estimate_errs_long_for_a_server_without_a_tokenizer():
    turn = [{"role": "user", "content": [{"type": "text", "text": "word " * 300}]}]
    assert estimate_tokens(turn) >= 300 + 16 // 2
