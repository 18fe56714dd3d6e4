"""``aiwebcam history``: list saved conversations, or print one."""

from __future__ import annotations

import argparse
import json

from desktop_app.config import AppPaths
from desktop_app.core.engine import default_store
from desktop_app.errors import AppError


def run_history(args: argparse.Namespace, paths: AppPaths) -> int:
    store = default_store(paths.data_dir)
    if not args.id:
        summaries = store.list()
        if args.json:
            print(json.dumps([{"id": s.id, "title": s.title, "created": s.created, "turns": s.turns} for s in summaries]))
        else:
            for s in summaries:
                print(f"{s.id}  {s.created}  {s.turns:3d} turns  {s.title}")
        return 0
    if not store.path_of(args.id).exists():
        raise AppError(f"no saved conversation {args.id!r} (see 'aiwebcam history')")
    conversation = store.load(args.id)
    if args.json:
        print(json.dumps(conversation.to_dict(), ensure_ascii=False))
        return 0
    for turn in conversation.turns:
        print(f"You: {turn.user_text}")
        suffix = " [interrupted]" if turn.interrupted else ""
        print(f"AI: {turn.reply_text}{suffix}" if turn.reply_text else f"AI: (no reply: {turn.error})")
        print()
    return 0
