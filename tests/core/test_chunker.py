from desktop_app.core.chunker import CODE_NOTE, SpeechChunker

REPLY = """Sure, here is how you **reverse** a list in [Python](https://python.org).

## Two ways
1. Use `reversed()` for an iterator.
2. Use slicing: `xs[::-1]`.

```python
xs = [1, 2, 3]
print(xs[::-1])
```

| Method | Cost |
|---|---|
| slicing | linear |

That is all. Dr. Smith agrees! A last paragraph without a full stop"""


def chunks_of(text: str, step: int) -> list[str]:
    chunker = SpeechChunker()
    out = []
    for i in range(0, len(text), step):
        out += [c.text for c in chunker.feed(text[i : i + step])]
    out += [c.text for c in chunker.flush()]
    return out


def test_every_paragraph_is_spoken_without_markdown_or_code():
    for step in (1, 2, 5, 17, len(REPLY)):
        chunks = chunks_of(REPLY, step)
        spoken = " ".join(chunks)
        assert "reverse a list in Python." in spoken
        assert "Two ways" in spoken
        assert "Use reversed() for an iterator." in spoken
        assert "slicing, linear." in spoken
        assert "That is all." in spoken and "Dr. Smith agrees!" in spoken
        assert spoken.endswith("A last paragraph without a full stop")
        for syntax in ("**", "##", "```", "https://", "](", "|", "print(", "xs = "):
            assert syntax not in spoken, (step, syntax, spoken)
        assert chunks.count(CODE_NOTE) == 1


def test_first_chunk_is_cut_early_at_a_clause_or_after_a_few_words():
    chunker = SpeechChunker()
    out = []
    for word in "Well, the quick brown fox jumps over the lazy dog and runs away.".split():
        out += [c.text for c in chunker.feed(word + " ")]
        if out:
            break
    assert out == ["Well, the quick brown"]  # "Well," alone is too short for a clause cut
    chunker = SpeechChunker()
    out = []
    for word in "The capital of France, as you know, is Paris.".split():
        out += [c.text for c in chunker.feed(word + " ")]
    assert out[0] == "The capital of France,"


def test_later_chunks_end_at_sentences():
    chunks = chunks_of("Hello there. This is one sentence, with a clause. And another one!", 3)
    assert chunks == ["Hello there.", "This is one sentence, with a clause.", "And another one!"]


def test_decimals_and_abbreviations_do_not_split():
    chunks = chunks_of("Pi is 3.14 today. Use e.g. a list here.", 4)
    assert chunks == ["Pi is 3.14 today.", "Use e.g. a list here."]


def test_links_split_across_deltas_never_speak_the_url():
    text = "See [the docs](https://example.com/a/b) for more."
    for step in range(1, 8):
        spoken = " ".join(chunks_of(text, step))
        assert "example.com" not in spoken
        assert "the docs" in spoken


def test_unclosed_fence_at_end_is_still_not_spoken():
    spoken = " ".join(chunks_of("Here you go:\n```\nrm -rf /tmp/x\n", 3))
    assert "rm" not in spoken and CODE_NOTE in spoken


def test_symbol_only_lines_are_skipped():
    assert chunks_of("Hi there.\n\n---\n\n***\n", 2) == ["Hi there."]
