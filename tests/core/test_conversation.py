import json

from desktop_app.core.conversation import Conversation, ConversationStore, TurnRecord


def test_messages_have_system_prompt_history_and_new_turn_with_image():
    conv = Conversation()
    conv.turns.append(TurnRecord("What is 2+2?", "Four."))
    conv.turns.append(TurnRecord("Tell me a story", "Once upon a", interrupted=True))
    conv.turns.append(TurnRecord("Lost words", "", error="cannot reach the chat endpoint"))
    messages = conv.to_messages("Be brief.", "What is this?", image_jpeg=b"\xff\xd8jpeg")
    assert messages[0] == {"role": "system", "content": "Be brief."}
    assert messages[1:3] == [{"role": "user", "content": "What is 2+2?"}, {"role": "assistant", "content": "Four."}]
    assert messages[4]["content"] == "Once upon a…"  # cut short: it trails off
    assert all(m.get("content") != "Lost words" for m in messages)  # failed turn: not sent again
    last = messages[-1]
    assert last["role"] == "user"
    assert last["content"][0] == {"type": "text", "text": "What is this?"}
    assert last["content"][1]["image_url"]["url"].startswith("data:image/jpeg;base64,")


def test_store_round_trip_list_and_atomic_files(tmp_path):
    store = ConversationStore(tmp_path / "conversations")
    first = Conversation(id="20260101-000000-aaaaaa", created="2026-01-01T00:00:00+00:00")
    first.turns.append(TurnRecord("Hello", "Hi!"))
    store.save(first)
    second = Conversation(id="20260102-000000-bbbbbb", created="2026-01-02T00:00:00+00:00")
    second.turns.append(TurnRecord("Second talk", "Sure", interrupted=True, metrics={"v2v_ms": 700.0}))
    second.turns[0].image_file = store.save_image(second, 0, b"\xff\xd8fake")
    store.save(second)
    (tmp_path / "conversations" / "broken.json").write_text("{not json")

    listed = store.list()
    assert [s.id for s in listed] == [second.id, first.id]
    assert listed[0].title == "Second talk" and listed[0].turns == 1
    loaded = store.load(second.id)
    assert loaded.turns[0].interrupted and loaded.turns[0].metrics == {"v2v_ms": 700.0}
    assert store.image_path(loaded.turns[0].image_file).read_bytes() == b"\xff\xd8fake"
    assert store.latest().id == second.id
    leftovers = [p.name for p in (tmp_path / "conversations").iterdir() if p.name.endswith(".tmp")]
    assert leftovers == []
    assert json.loads(store.path_of(first.id).read_text())["turns"][0]["reply_text"] == "Hi!"


def test_the_model_is_told_how_an_earlier_reply_was_cut():
    conversation = Conversation()
    conversation.turns.append(TurnRecord("First?", "Half of", interrupted=True))
    conversation.turns.append(TurnRecord("Second?", "Also half, ", interrupted=True, error="the chat endpoint closed the connection"))
    conversation.turns.append(TurnRecord("Fourth?", "Whole."))
    replies = [m["content"] for m in conversation.to_messages("", "Third?") if m["role"] == "assistant"]
    # No bracketed note the model could copy into a reply (and the voice read aloud).
    assert replies == ["Half of…", "Also half…", "Whole."]
